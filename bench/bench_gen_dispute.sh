#!/bin/sh
# bench_gen_dispute.sh: the generation dispute benchmark of issue 14. The fortunes LLaMA
# (tinyllama_fortunes-q8_0.gguf), 64 new tokens, the submitter lying at the 40th (fault
# token=40@2: a wrong sampled token), anvil mining a block a second: from the lying submission to
# the on-chain verdict, wall time, transactions and gas of each phase (token steps, the disputed
# step's graph nodes, the disputed node's VM steps) and in all. It runs `opml demo` (the whole
# local cluster, real processes) and prints its summary; the goals are under 45 s and under 3M gas.
#   bench/bench_gen_dispute.sh [BUILD_DIR] [FAULT] [NEW]      (default build, token=40@2, 64)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
fault=${2:-token=40@2}
new=${3:-64}
dir=$(mktemp -d /tmp/opml-bench-gendispute.XXXXXX)
trap '"$top/compose/launch.sh" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
cd "$top"
"$build/cli/opml" demo --dir "$dir" --fault "$fault" --new "$new" >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
sed -n '/^summary/,$p' "$dir/out"
