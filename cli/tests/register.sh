#!/bin/sh
# register.sh: `opml register` publishes the model file to the cluster's storage actor before it
# sends anything on-chain. On a launcher cluster (compose/launch.sh) whose executor was started
# without a model:
#   - with storage down, register fails with a message naming storage and registers nothing
#     (modelCount unchanged); so does a cluster.env without OPML_STORAGE
#   - with storage up, register says "published":true, and a request for the model finalizes: the
#     executor loads the model from storage by its root (a submitting bisector, started with the
#     file as a bisector must be, drives the runs)
#   - the step bound: without --steps-log2 the least covering the longest node run measured in the
#     VM with its margin; a smaller --steps-log2 is refused with the figures, nothing published or
#     registered (storage is down then: the measure comes before publishing); --no-steps-check
#     registers it unmeasured
#   - --no-publish registers without publishing ("published":false)
#   register.sh BUILD_DIR MODELS_DIR FASHION_MNIST_DIR
set -u
build=$1 models=$2 data=$3
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/expect.sh
. "$(dirname "$0")/../../tests/lib/expect.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
launch=$top/compose/launch.sh
opml=$build/cli/opml
dir=$t/cluster
images=$data/t10k-images-idx3-ubyte.gz
trap '"$launch" down "$dir" >/dev/null 2>&1; rm -rf "$t"' EXIT
base=$(sh "$top/tests/system/free_ports.sh") || exit 1
export OPML_BUILD="$build" OPML_PORT_BASE="$base"
export OPML_EXECUTORS=1 OPML_IDENTITIES=submitter OPML_ROLE_submitter=submit OPML_BISECTORS=0
unset OPML_MODEL
stop() { # a check that the rest cannot do without
    bad "$*"
    for f in "$dir"/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 8 "$f"; }; done
    exit 1
}

model=$t/fashion_mlp.opml
"$opml" convert "$models/fashion_mlp.onnx" -o "$model" >/dev/null || stop "convert failed"
"$launch" up "$dir" >/dev/null || stop "the cluster did not come up"
# shellcheck disable=SC1091
. "$dir/cluster.env"
count() {
    "$opml" chain call --rpc "$OPML_RPC_URL" --artifact "$OPML_ARTIFACTS/ModelRegistry.sol/ModelRegistry.json" \
        --to "$OPML_REGISTRY" --fn modelCount | tr -d '[]"'
}
[ "$(count)" = 0 ] || stop "a fresh chain has models"

# no storage to publish to: nothing on-chain
mkdir -p "$t/nostorage/data"
grep -v '^OPML_STORAGE=' "$dir/cluster.env" >"$t/nostorage/cluster.env"
expect 1 "has no OPML_STORAGE (--no-publish if the model is stored otherwise)" "$opml" register "$model" --cluster "$t/nostorage"
"$launch" stop "$dir" storage
expect 1 "did not take the model file, so it was not registered" "$opml" register "$model" --cluster "$dir"
grep -qF "storage $OPML_STORAGE" "$t/err" || bad "the message does not name the storage actor: $(cat "$t/err")"
[ "$(count)" = 0 ] || bad "a model was registered though storage was down"
"$launch" start "$dir" storage || stop "storage did not come back"

# published, then served by an executor that never saw the file
OPML_MODEL=$model "$launch" start "$dir" bisector-submitter || stop "the bisector did not start"
"$opml" register "$model" --cluster "$dir" --window 2 >"$t/register.json" 2>"$t/register.err" ||
    stop "register failed: $(cat "$t/register.err")"
[ "$(jq -r .published "$t/register.json")" = true ] || bad "register did not say it published: $(cat "$t/register.json")"
[ "$(jq -r .model_id "$t/register.json")" = 1 ] || bad "not model 1: $(cat "$t/register.json")"
# the step bound, measured (cli/vm_steps.h): the least L with 2^L >= S + S/8 for the longest run S
longest=$(jq -r .longest_run_steps "$t/register.json") log2=$(jq -r .steps_log2 "$t/register.json")
grep -qF "the longest node run is node $(jq -r .longest_run_node "$t/register.json") (" "$t/register.err" ||
    bad "register did not say what it measured: $(cat "$t/register.err")"
[ "$(jq -r .steps_checked "$t/register.json")" = true ] && [ "$longest" -gt 1000000 ] ||
    bad "no measured longest run: $(cat "$t/register.json")"
want=1
while [ $((1 << want)) -lt $((longest + longest / 8)) ]; do want=$((want + 1)); done
[ "$log2" = "$want" ] || bad "steps_log2 $log2 for a longest run of $longest steps, want $want"
root=$(jq -r .model_root "$t/register.json")
"$opml" request --cluster "$dir" --model-id 1 --model "$model" --idx "$images#0" --wait --timeout 40 >"$t/request.out" ||
    bad "the request did not finalize: $(cat "$t/request.out")"
grep -qF "model $root loaded from storage" "$dir/logs/executor-1.log" ||
    bad "the executor did not load model $root from storage: $(tail -n 5 "$dir/logs/executor-1.log")"
if grep -q "loaded from /" "$dir/logs/executor-1.log"; then bad "the executor loaded a model file"; fi

# a bound below the measured need: refused, named, nothing published or registered
"$launch" stop "$dir" storage
short=1
while [ $((1 << (short + 1))) -lt "$longest" ]; do short=$((short + 1)); done # the most L with 2^L < S
expect 1 "--steps-log2 $short is below what the model needs" "$opml" register "$model" --cluster "$dir" --steps-log2 "$short"
grep -qF "takes $longest VM steps, more than 2^$short" "$t/err" || bad "the refusal lacks the figures: $(cat "$t/err")"
[ "$(count)" = 1 ] || bad "modelCount is $(count) after a refused bound, want 1"
"$launch" start "$dir" storage || stop "storage did not come back"
# --no-steps-check registers the given bound unmeasured
"$opml" register "$model" --cluster "$dir" --no-publish --steps-log2 "$short" --no-steps-check >"$t/unchecked.json" ||
    bad "register --no-steps-check failed"
[ "$(jq -r '"\(.steps_log2) \(.steps_checked) \(.longest_run_steps)"' "$t/unchecked.json")" = "$short false null" ] ||
    bad "--no-steps-check: $(cat "$t/unchecked.json")"

"$opml" register "$model" --cluster "$dir" --no-publish >"$t/register2.json" || bad "register --no-publish failed"
[ "$(jq -r .published "$t/register2.json")" = false ] || bad "--no-publish published: $(cat "$t/register2.json")"
[ "$(count)" = 3 ] || bad "modelCount is $(count), want 3"
[ "$fails" = 0 ] || exit 1
echo "register: ok (model $root published, served from storage)"
