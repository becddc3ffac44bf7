#!/bin/sh
# bench_compose.sh: the compose deployment against the local launcher, side by side in the same run
# on the same machine (the figures of docs/operators.md). The same scenario on both: three
# executors, fashion_cnn registered (k 4, window 8 s, clocks 60 s), an honest task, then a task
# whose first submission lies at node 4, played to the on-chain verdict and the honest
# resubmission's finalization. Printed: build (the services' targets from an empty build tree
# here; the image with its layers cached but the source changed, and cold where no image was
# built before), up-to-healthy, honest task, dispute.
#   bench/bench_compose.sh [BUILD_DIR] [CONFIRMATIONS]     (default build; the launcher's
#                                       chainwatch confirmations, default 1 as compose/opml.env)
# As root, with a Docker engine or the means to start one (compose/engine.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
confirmations=${2:-1}
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
dir=$(mktemp -d /tmp/opml-bench-compose.XXXXXX)
launch=$top/compose/launch.sh
trap '"$launch" down "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
now() { date +%s; }
targets="opml opml-health opml-bus opml-storage opml-executor opml-vmjudge opml-chainwatch opml-bisector chain_contract_artifacts"

# ---- the launcher ----
t=$(now)
cmake -S "$top" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
# shellcheck disable=SC2086 # one target per word
cmake --build "$dir/build" -j"$(nproc)" --target $targets >/dev/null
l_build=$(($(now) - t))
opml=$build/cli/opml
OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
export OPML_BUILD=$build OPML_PORT_BASE OPML_EXECUTORS=3
export OPML_MODEL=$dir/fashion_cnn.opml OPML_ROLE_submitter=submit OPML_ROLE_validator=validate
export OPML_FAULT_submitter=node=4@2 OPML_CONFIRMATIONS=$confirmations
"$opml" convert "$top/../shared/models/fashion_cnn.onnx" -o "$OPML_MODEL" >/dev/null
t=$(now)
"$launch" up "$dir/cluster" >/dev/null
l_up=$(($(now) - t))
"$opml" register "$OPML_MODEL" --cluster "$dir/cluster" --k 4 --window 8 --clock 60 >/dev/null
t=$(now)
"$opml" request --cluster "$dir/cluster" --model-id 1 --model "$OPML_MODEL" --idx "$images#7" --fee 1000 --wait \
    --timeout 150 | grep -q '"submission":1' || { echo "bench_compose: the honest task failed" >&2; exit 1; }
l_honest=$(($(now) - t))
t=$(now)
"$opml" request --cluster "$dir/cluster" --model-id 1 --model "$OPML_MODEL" --idx "$images#8" --fee 1000 --wait \
    --timeout 300 | grep -q '"submission":2' || { echo "bench_compose: the dispute failed" >&2; exit 1; }
l_dispute=$(($(now) - t))
"$launch" down "$dir/cluster" >/dev/null

# ---- the containers: the system test prints its figures ----
echo "/* bench_compose $(date +%s%N) */" >"$top/compose/.bench-stamp"
sh "$top/tests/system/test_compose_cluster.sh" >"$dir/compose.out" 2>&1 || { cat "$dir/compose.out"; rm -f "$top/compose/.bench-stamp"; exit 1; }
rm -f "$top/compose/.bench-stamp"
line=$(grep "test_compose_cluster: ok:" "$dir/compose.out")
fig() { echo "$line" | sed -n "s/.*$1 \([0-9]*\) s.*/\1/p"; }

echo "bench_compose: seconds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %10s %10s\n' "" launcher containers
printf '%-44s %10s %10s\n' "build (launcher: empty tree; image: a change)" "$l_build" "$(fig build)"
printf '%-44s %10s %10s\n' "up to healthy (3 executors)" "$l_up" "$(fig up-to-healthy)"
printf '%-44s %10s %10s\n' "honest task (request to finalized)" "$l_honest" "$(fig 'honest task')"
printf '%-44s %10s %10s\n' "dispute (request to resubmission finalized)" "$l_dispute" "$(fig dispute)"
echo "launcher chainwatch: confirmations $confirmations, poll 100 ms; containers: opml.env (confirmations 1, poll 250 ms)"
