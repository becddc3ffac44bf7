#!/usr/bin/env bash
# Runs every benchmark of the project in the release build and prints its figures:
#   bash bench/run.sh            (builds build/ first; a benchmark that is not built is skipped)
#   bash bench/run.sh --7b       the same, then the 7B-shaped dispute (bench_gen_dispute_7b.sh:
#                                minutes and 2 GB of disk, so not in the default run)
# Each benchmark is also documented at the top of its source file in bench/.
set -uo pipefail
with_7b=0
[ "${1:-}" = --7b ] && with_7b=1
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=$top/build
shared=$top/../shared
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null || echo "bench: the build failed; running what was built"

status=0
run() { # NAME BINARY ARGS...
  local name=$1 bin=$2
  shift 2
  if [ ! -x "$bin" ]; then echo "== $name: not built, skipped"; return; fi
  echo "== $name"
  "$bin" "$@" || { echo "bench: $name failed"; status=1; }
}
run merkle "$B/bench/bench_merkle" 256
run bus "$B/bench/bench_bus" "$B/bus/opml-bus" "$B/runtime/opml-echo"
run storage "$B/storage/bench_storage" "$B/storage/opml-storage"
run engine "$(ls "$B"/engine/bench_engine 2>/dev/null)" "$shared/models"
run transformer "$(ls "$B"/engine/bench_transformer 2>/dev/null)"
run vm "$(ls "$B"/vm/bench_vm 2>/dev/null)" "$shared/models/fashion_cnn.onnx" \
  /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
run chain "$(ls "$B"/chainwatch/bench_chain 2>/dev/null)"
echo "== generation"
bash "$top/bench/generation.sh" || { echo "bench: generation failed"; status=1; }
# LLaMA beside llama.cpp (installs llama.cpp's prebuilt library the first time: scripts/bench-deps.sh)
echo "== llama"
bash "$top/bench/llama.sh" || { echo "bench: llama failed"; status=1; }
if [ "$with_7b" = 1 ]; then
  echo "== gen_dispute_7b"
  sh "$top/bench/bench_gen_dispute_7b.sh" "$B" || { echo "bench: gen_dispute_7b failed"; status=1; }
fi
exit $status
