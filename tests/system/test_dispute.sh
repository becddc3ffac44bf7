#!/bin/sh
# test_dispute.sh: whole disputes on real processes (compose/launch.sh: anvil mining a block a
# second, the contracts, bus, storage, two executors, vmjudge, a chainwatch and a bisector per
# identity), the real fashion_cnn model and real Fashion-MNIST images.
#
#   test_dispute.sh BUILD_DIR SCENARIO
#
#   honest          an honest submission finalizes after its window; the submitter is paid bond + fee
#   lie-first, lie-middle, lie-last, lie-output
#                   the submitter lies at node 0, 4, 9 (the output node) or in the posted output
#                   (fault node=N@1 / output@1): the validator challenges, the game narrows to
#                   exactly the lied node, the liar's submission is rejected on-chain and its bond
#                   credited to the validator, whose own bond comes back; the liar resubmits
#                   honestly and that result finalizes
#   kill-validator  lie-middle, with the validator's bisector killed (SIGKILL) in phase 1 after
#                   its first selection and restarted: it still wins
#   two-validators  two validators challenge the same lie: the submission is rejected, the liar's
#                   bond goes to one validator, and each validator gets its own bond back
#
# The game is played through phase 1; phase 2 (the VM bisection and the one-step proof) is not
# played by the bisector yet (bisector/main.c), so the liar, unable to open the node, loses by its
# clock (timeout), which the validator calls.
set -eu
build=$1
scenario=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
launch=$top/compose/launch.sh
opml=$build/cli/opml
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
dir=$(mktemp -d /tmp/opml-dispute.XXXXXX)
export OPML_BUILD=$build OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
export OPML_MODEL=$dir/fashion_cnn.opml OPML_ROLE_submitter=submit OPML_ROLE_validator=validate
BOND=1000000000000000000
FEE=1000
fail() {
    echo "test_dispute $scenario: $*" >&2
    for f in "$dir"/logs/bisector-*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }; done
    exit 1
}
trap '"$launch" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

lied=""
case $scenario in
honest) ;;
lie-first) export OPML_FAULT_submitter=node=0@1 lied=0 ;;
lie-middle | kill-validator) export OPML_FAULT_submitter=node=4@1 lied=4 ;;
lie-last) export OPML_FAULT_submitter=node=9@1 lied=9 ;;
lie-output) export OPML_FAULT_submitter=output@1 lied=9 ;;
two-validators)
    export OPML_FAULT_submitter=node=6@1 lied=6 OPML_IDENTITIES="validator submitter validator2"
    export OPML_ROLE_validator2=validate
    ;;
*) fail "unknown scenario" ;;
esac

"$opml" convert "$top/../shared/models/fashion_cnn.onnx" -o "$OPML_MODEL" >/dev/null || fail "convert failed"
"$launch" up "$dir" >/dev/null || fail "the cluster did not come up"
. "$dir/cluster.env"
"$opml" register "$OPML_MODEL" --cluster "$dir" --k 4 --window 4 --clock 10 >"$dir/register.json" || fail "register failed"

credit() { # CONTRACT ADDRESS WHO -> wei
    "$opml" chain call --rpc "$OPML_RPC_URL" --artifact "$OPML_ARTIFACTS/$1.sol/$1.json" --to "$2" --fn credit \
        --args "[\"$3\"]" | tr -d '[]"'
}
wait_log() { # FILE TEXT SECONDS
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt $(($3 * 10)) ] || fail "no \"$2\" in $1 within $3 s"
        sleep 0.1
    done
}

if [ "$scenario" = kill-validator ]; then
    (
        wait_log "$dir/logs/bisector-validator.log" "select sent" 60
        "$launch" stop "$dir" bisector-validator KILL
        echo "killed" >"$dir/killed"
        "$launch" start "$dir" bisector-validator
    ) &
    killer=$!
fi

start=$(date +%s)
"$opml" request --cluster "$dir" --model-id 1 --model "$OPML_MODEL" --idx "$images#7" --fee "$FEE" --wait \
    --timeout 150 >"$dir/request.json" || fail "the task did not finalize: $(cat "$dir/request.json")"
took=$(($(date +%s) - start))
[ "$scenario" = kill-validator ] && { wait "$killer" || fail "kill and restart failed"; [ -f "$dir/killed" ] || fail "not killed"; }

sub=$OPML_ADDRESS_submitter
if [ -z "$lied" ]; then
    grep -q '"submission":1,.*"finalized"\|"finalized".*"submission":1' "$dir/request.json" || fail "not finalized as submission 1"
    [ "$(credit InferenceOracle "$OPML_ORACLE" "$sub")" = "$((BOND / 1000000000))000001000" ] ||
        fail "submitter credit $(credit InferenceOracle "$OPML_ORACLE" "$sub"), expected bond + fee"
    grep -q "checked: State_n agrees" "$dir/logs/bisector-validator.log" || fail "the validator did not check it"
    echo "test_dispute $scenario: ok (finalized in $took s)"
    exit 0
fi

# the lie was rejected and an honest resubmission finalized
grep -q '"status":"finalized","submission":2' "$dir/request.json" || fail "expected submission 2 to finalize: $(cat "$dir/request.json")"
grep -q "LYING (fault injection) at node $lied" "$dir/logs/bisector-submitter.log" || fail "the submitter did not lie at node $lied"
winners=0
for v in validator validator2; do
    log=$dir/logs/bisector-$v.log
    [ -f "$log" ] || continue
    grep -q "submission 1 is WRONG" "$log" || fail "$v did not find the lie"
    # phase 1 narrowed the game to exactly the lied node: graph step lied + 1
    grep -q "Selected (phase 1, \[$lied, $((lied + 1))\]" "$log" || fail "$v's game did not end at node $lied"
    addr=$(eval "echo \$OPML_ADDRESS_$v")
    gc=$(credit DisputeGame "$OPML_GAME" "$addr")
    [ "$gc" = "$BOND" ] || fail "$v: its challenger bond did not come back (game credit $gc)"
    oc=$(credit InferenceOracle "$OPML_ORACLE" "$addr")
    case $oc in
    "$BOND") winners=$((winners + 1)) ;;
    0) ;;
    *) fail "$v: oracle credit $oc" ;;
    esac
done
[ "$winners" = 1 ] || fail "the liar's bond went to $winners validators, expected exactly one"
echo "test_dispute $scenario: ok (lie at node $lied rejected, resubmission finalized, $took s)"
