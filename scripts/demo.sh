#!/usr/bin/env bash
# The README's main job: install what is missing, build the release, and run `opml demo`: a local
# anvil chain with the contracts deployed, the bus, storage, two executors, vmjudge, and two
# identities (an honest validator and a submitter told to lie on its second submission); fashion_cnn
# registered; two requests on real Fashion-MNIST images; the honest one finalizes, the lie is
# challenged through both phases down to one RISC-V step proved on-chain; a summary at the end.
# Everything is stopped cleanly; running it again works.
#   bash scripts/demo.sh            (work files in build/demo; OPML_PORT_BASE sets the first port)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec "$top/build/cli/opml" demo --dir "$top/build/demo" --repo "$top"
