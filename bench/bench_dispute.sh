#!/bin/sh
# bench_dispute.sh: the dispute benchmark of issue 7. From the lying submission to the on-chain
# verdict for fashion_cnn, with anvil mining a block a second: wall time split by phase, number of
# transactions, total gas. It runs `opml demo` (the whole local cluster, real processes) and prints
# its summary; the goal is under 30 s from the lie to the verdict.
#   bench/bench_dispute.sh [BUILD_DIR] [FAULT]      (default build, node=4@2)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
fault=${2:-node=4@2}
dir=$(mktemp -d /tmp/opml-bench-dispute.XXXXXX)
trap '"$top/compose/launch.sh" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
cd "$top"
"$build/cli/opml" demo --fashion --dir "$dir" --fault "$fault" >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
sed -n '/^summary/,$p' "$dir/out"
