#!/bin/sh
# test_dispute.sh: whole disputes on real processes (compose/launch.sh: anvil mining a block a
# second, the contracts, bus, storage, two executors, vmjudge, a chainwatch and a bisector per
# identity), the real fashion_cnn model and real Fashion-MNIST images.
#
#   test_dispute.sh BUILD_DIR SCENARIO
#
#   honest          an honest submission, requested through a requester contract (sol/Receiver.sol),
#                   finalizes after its window; the submitter is paid bond + fee; the contract's
#                   callback receives the output that was submitted
#   lie-first, lie-middle, lie-last, lie-output, lie-vm
#                   the submitter lies at node 0, 4, 9 (the output node), in the posted output, or
#                   at node 3 and inside its VM run from step 1000 (fault node=N@1, output@1,
#                   vm=3:1000@1): the validator challenges, phase 1 narrows the game to exactly the
#                   lied node, the liar opens it, phase 2 narrows it to one VM step (step 999 to 1000
#                   for the in-VM lie), the one-step proof decides on-chain and the validator's
#                   resolve pays it out (the liar sends none): the liar's submission is rejected
#                   (half its bond burned, the other half credited to the validator at the oracle,
#                   where its own bond comes back too); after the quiet time (the window) the liar
#                   resubmits honestly and that result finalizes. lie-vm also checks from the
#                   receipts that the one-step proof and the resolve each used under 100,000 gas
#   dishonest-challenger
#                   a validator that challenges an honest submission (and selects against it)
#                   loses at the one-step proof: the submitter resolves, the challenger's bond is
#                   credited to it at the oracle, the task finalizes
#   kill-validator  lie-middle, with the validator's bisector killed (SIGKILL) in phase 1 and again
#                   in phase 2, restarted each time: it still wins, and it does not challenge the
#                   same submission twice (its bond comes back once)
#   kill-at-step    lie-middle, with the validator's bisector killed (SIGKILL) just after it sent the
#                   one-step proof, so that the game is decided while it is down, and restarted: it
#                   finds the decision in the replayed history and sends resolve then, once
#   kill-submitter  dishonest-challenger, with the honest submitter's bisector killed (SIGKILL) in
#                   phase 1 and again in phase 2 (each time just after it sent a dissection),
#                   restarted each time: it resumes as the game's submitter and still wins (the
#                   challenger's bond to it, bond + fee from the oracle, the task finalized)
#   kill-executor   one of the two executors is killed (SIGKILL) while the task's runs are being
#                   dispatched (the submitter's, then the validator's): the bus hands any job it
#                   held to the other one, the task finalizes, and a second task does too
#   liar-gone       lie-middle with clocks of 15 s, and the liar's bisector killed for good after
#                   its first dissection: the validator calls timeout when the liar's clock has
#                   run out, then resolve, and wins (half the liar's bond and its own are credited
#                   to it at the oracle)
#   two-validators  two validators challenge the same lie: the submission is rejected, each
#                   validator gets its own bond back and a quarter of the liar's (half of it shared
#                   by the two games open at the rejection, the other half burned)
#   foreign-stream  lie-middle with a third chainwatch on the bus (another identity's key) that
#                   follows a contract the identities' chainwatches do not (sol/Chatter.sol, made to
#                   emit three events first) and not DisputeGame: its stream runs ahead of theirs and
#                   lacks the game's events. Each bisector drops it (health stat foreign_dropped)
#                   and plays the dispute as if it were not there (folded, it would skip its own
#                   chainwatch's events as repeats and never see the game start)
#   vit-attention, textcls-attention
#                   lie-first's game on the transformer models: fashion_vit (an image) and
#                   fortunes_textcls (int64 token ids posted as raw bytes, registered with a VM
#                   budget of 2^26 steps), the submitter lying at the first attention Softmax
#                   (found in the converted model's node list); the liar loses at the one-step
#                   proof inside that node's VM run
#   withdraw        lie-middle with the bisectors' auto_withdraw on (the other scenarios turn it off
#                   to read the credits the contracts leave): with no manual withdraw, the validator
#                   withdraws its credit at the oracle, the one bank (its half of the liar's bond
#                   and its own bond, credited by the same resolve) and the submitter its bond and
#                   fee, each with one withdraw: every credit ends at 0 and
#                   each balance moved by the credits less what it paid (bonds, gas); a validator
#                   killed and restarted afterwards sends no withdraw again
set -eu
build=$1
scenario=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
launch=$top/compose/launch.sh
opml=$build/cli/opml
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
dir=$(mktemp -d /tmp/opml-dispute.XXXXXX)
model=fashion_cnn steps=23 input="--idx $images#7"
case $scenario in
vit-attention) model=fashion_vit ;;
textcls-attention)
    model=fortunes_textcls steps=26 input="--input $dir/ids.i64"
    head -c 512 "$top/../shared/models/fortunes_textcls_test_inputs.i64" >"$dir/ids.i64"
    ;;
esac
export OPML_BUILD=$build OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
export OPML_MODEL=$dir/$model.opml OPML_ROLE_submitter=submit OPML_ROLE_validator=validate
BOND=1000000000000000000
SHARE=500000000000000000 # what one game open at a rejection gets: half the bond (the other half is burned)
FEE=1000
fail() {
    echo "test_dispute $scenario: $*" >&2
    for f in "$dir"/logs/bisector-*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }; done
    exit 1
}
stranger=""
trap '[ -z "$stranger" ] || kill "$stranger" 2>/dev/null; "$launch" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

lied=""
k=16
clock=60
case $scenario in
honest | kill-executor) ;;
dishonest-challenger | kill-submitter) export OPML_FAULT_validator=node=0 ;;
lie-vm) export OPML_FAULT_submitter=vm=3:1000@1 lied=3 ;;
lie-first) export OPML_FAULT_submitter=node=0@1 lied=0 ;;
lie-middle | kill-validator | kill-at-step | withdraw | foreign-stream) export OPML_FAULT_submitter=node=4@1 lied=4 k=4 ;;
liar-gone) export OPML_FAULT_submitter=node=4@1 lied=4 clock=15 ;;
lie-last) export OPML_FAULT_submitter=node=9@1 lied=9 ;;
lie-output) export OPML_FAULT_submitter=output@1 lied=9 ;;
vit-attention | textcls-attention) ;; # the node is known once the model is converted
two-validators)
    export OPML_FAULT_submitter=node=6@1 lied=6 OPML_IDENTITIES="validator submitter validator2"
    export OPML_ROLE_validator2=validate
    ;;
*) fail "unknown scenario" ;;
esac
[ "$scenario" = withdraw ] || export OPML_BISECTOR_AUTO_WITHDRAW=0

"$opml" convert "$top/../shared/models/$model.onnx" -o "$OPML_MODEL" >"$dir/convert.txt" || fail "convert failed"
case $scenario in *-attention)
    lied=$(awk '$1 == "node" && $3 == "Softmax" { print $2; exit }' "$dir/convert.txt")
    [ -n "$lied" ] || fail "no Softmax node in $model"
    export OPML_FAULT_submitter=node=$lied@1
    ;;
esac
"$launch" up "$dir" >/dev/null || fail "the cluster did not come up"
. "$dir/cluster.env"
"$opml" register "$OPML_MODEL" --cluster "$dir" --k "$k" --steps-log2 "$steps" --window 8 --clock "$clock" >"$dir/register.json" ||
    fail "register failed"

balance() { # WHO -> wei
    "$top/tools/eth/node_modules/.bin/cast" balance --rpc-url "$OPML_RPC_URL" "$1"
}
. "$top/tests/system/dispute_lib.sh"

if [ "$scenario" = kill-executor ]; then
    (
        sleep 0.5
        "$launch" stop "$dir" executor-1 KILL
    ) &
    killer=$!
fi
[ "$scenario" != kill-validator ] || kill_bisector_in validator select 60 1 2
[ "$scenario" != kill-at-step ] || kill_bisector_in validator step 90 2
[ "$scenario" != kill-submitter ] || kill_bisector_in submitter dissect 60 1 2

health() { # PEER -> the actor's health reply (JSON)
    "$dir/bin/opml-health" --key_file "$OPML_KEYS/health.key" --peer "$1"
}
stat() { # PEER NAME -> the value of one health stat (0 when the actor does not answer)
    v=$(health "$1" 2>/dev/null | jq -r --arg n "$2" '.stats[] | select(.name == $n) | .value' 2>/dev/null) || v=""
    echo "${v:-0}"
}

via=""
if [ "$scenario" = honest ] || [ "$scenario" = foreign-stream ]; then
    eth=$top/tools/eth/node_modules/.bin
    "$eth/forge" build --root "$top/tests/system/sol" --use "$top/tools/eth/solc" --out "$dir/sol-out" \
        --cache-path "$dir/sol-cache" --offline >/dev/null 2>&1 || fail "forge build of tests/system/sol failed"
fi
if [ "$scenario" = foreign-stream ]; then
    # a chainwatch of another identity (the deployer's key), following Chatter and not DisputeGame:
    # three Chatted events before the task put its seqs three ahead of the identities' chainwatches
    cart=$dir/sol-out/Chatter.sol/Chatter.json
    chatter=$("$opml" chain deploy --rpc "$OPML_RPC_URL" --key "$OPML_KEYS/client.key" \
        --journal "$dir/data/client.journal.json" --artifact "$cart" | jq -r .contract)
    sport=$((OPML_PORT_BASE + 69))
    "$dir/bin/opml-chainwatch" --key_file "$OPML_KEYS/deployer.key" --allow_file "$OPML_KEYS/allow" \
        --listen "tcp://127.0.0.1:$sport" --bus_pub "${OPML_BUS_EVENTS%%@*}@tcp://127.0.0.1:$((OPML_PORT_BASE + 1))" \
        --storage "$OPML_STORAGE" --rpc_url "$OPML_RPC_URL" --chain_id "$OPML_CHAIN_ID" --artifacts "$OPML_ARTIFACTS" \
        --journal "$dir/data/chainwatch-stranger.journal.json" --confirmations 0 --poll_ms 100 --start_delay_ms 300 \
        --watch "$cart@$chatter,ModelRegistry@$OPML_REGISTRY,InferenceOracle@$OPML_ORACLE" \
        >"$dir/logs/chainwatch-stranger.log" 2>&1 &
    stranger=$!
    skey=$("$dir/bin/opml-health" --identity --key_file "$OPML_KEYS/deployer.key" | sed -n 's/^curve_key //p')
    speer=$skey@tcp://127.0.0.1:$sport
    for _ in 1 2 3; do
        "$opml" chain send --rpc "$OPML_RPC_URL" --key "$OPML_KEYS/client.key" --journal "$dir/data/client.journal.json" \
            --artifact "$cart" --to "$chatter" --fn chat --args '[]' >/dev/null || fail "Chatter.chat failed"
    done
    i=0
    while [ "$(stat "$speer" last_seq)" -lt 4 ]; do # ModelRegistered and three Chatted
        i=$((i + 1))
        [ "$i" -lt 300 ] || fail "the third chainwatch did not publish within 30 s"
        sleep 0.1
    done
    [ "$(stat "$OPML_CHAINWATCH_validator" last_seq)" -lt 4 ] || fail "the third stream is not ahead of the validator's"
fi
if [ "$scenario" = honest ]; then
    art=$dir/sol-out/Receiver.sol/Receiver.json
    receiver=$("$opml" chain deploy --rpc "$OPML_RPC_URL" --key "$OPML_KEYS/client.key" \
        --journal "$dir/data/client.journal.json" --artifact "$art" --args "[\"$OPML_ORACLE\"]" | jq -r .contract)
    via="--via $art@$receiver"
fi

if [ "$scenario" = liar-gone ]; then
    "$opml" request --cluster "$dir" --model-id 1 --model "$OPML_MODEL" --idx "$images#7" --fee "$FEE" >/dev/null ||
        fail "request failed"
    wait_log "$dir/logs/bisector-submitter.log" "dissect sent (phase 1" 60
    "$launch" stop "$dir" bisector-submitter KILL
    wait_log "$dir/logs/bisector-validator.log" "resolved, we WON" 60
    grep -q "timeout sent" "$dir/logs/bisector-validator.log" || fail "the validator did not call timeout"
    grep -q "TimedOut: decided for the challenger, we won" "$dir/logs/bisector-validator.log" || fail "the timeout did not decide the game"
    grep -q "resolve sent" "$dir/logs/bisector-validator.log" || fail "the validator did not resolve"
    [ "$(oracle_credit "$OPML_ADDRESS_validator")" = $((SHARE + BOND)) ] ||
        fail "the validator's oracle credit is $(oracle_credit "$OPML_ADDRESS_validator"), not half the liar's bond and its own back"
    "$opml" status --cluster "$dir" --task 1 | grep -q '"status":"open"' || fail "the task did not reopen"
    echo "test_dispute $scenario: ok (the absent liar timed out)"
    exit 0
fi

val0=$(balance "$OPML_ADDRESS_validator") sub0=$(balance "$OPML_ADDRESS_submitter")
start=$(date +%s)
# shellcheck disable=SC2086
"$opml" request --cluster "$dir" --model-id 1 --model "$OPML_MODEL" $input --fee "$FEE" --wait \
    --timeout 150 $via >"$dir/request.json" || fail "the task did not finalize: $(cat "$dir/request.json")"
took=$(($(date +%s) - start))
if [ "$scenario" = kill-executor ]; then
    wait "$killer" || fail "the kill failed"
    [ ! -f "$dir/pids/executor-1" ] || fail "executor-1 was not killed"
    "$opml" request --cluster "$dir" --model-id 1 --model "$OPML_MODEL" --idx "$images#8" --fee "$FEE" --wait \
        --timeout 60 >"$dir/request2.json" || fail "a second task did not finalize on one executor"
fi
if [ "$scenario" = kill-validator ] || [ "$scenario" = kill-submitter ]; then
    wait "$killer" || fail "kill and restart failed"
    [ "$(wc -l <"$dir/killed")" = 2 ] || fail "not killed in both phases"
fi
if [ "$scenario" = kill-at-step ]; then
    wait "$killer" || fail "kill and restart failed"
    vlog=$dir/logs/bisector-validator.log
    played_after_restarts "$vlog" 1 # the move after the restart: the resolve
    [ "$(grep -c "resolve sent" "$vlog")" = 1 ] || fail "expected one resolve, the validator sent $(grep -c "resolve sent" "$vlog")"
    # the decision is said once: folded from the history the restarted bisector replayed (had it
    # been seen before the kill, the replay would say it a second time)
    [ "$(grep -c "OneStep: decided for the challenger, we won" "$vlog")" = 1 ] ||
        fail "the decision was not seen once, on the restart: $(grep -c "OneStep: decided" "$vlog") times"
fi

sub=$OPML_ADDRESS_submitter
if [ "$scenario" = withdraw ]; then
    vlog=$dir/logs/bisector-validator.log slog=$dir/logs/bisector-submitter.log
    # the share and the bond are credited by one resolve transaction: one withdraw takes both
    wait_log "$vlog" "InferenceOracle: withdrew $((SHARE + BOND)) wei" 30
    wait_log "$slog" "InferenceOracle: withdrew $((BOND + FEE)) wei" 30
    for who in "$OPML_ADDRESS_validator" "$sub"; do
        [ "$(oracle_credit "$who")" = 0 ] || fail "credit left after the withdrawals: $who: $(oracle_credit "$who")"
    done
    # the validator paid a bond and gas and got its bond and half the liar's back; the liar lost a
    # bond, got its second one back with the fee, and paid gas: each within 0.05 ETH of gas of that
    moved() { # BEFORE AFTER EXPECTED: EXPECTED - 0.05 ETH < AFTER - BEFORE <= EXPECTED
        awk -v b="$1" -v a="$2" -v e="$3" 'BEGIN { d = a - b; exit !(d > e - 5e16 && d <= e) }'
    }
    val1=$(balance "$OPML_ADDRESS_validator") sub1=$(balance "$sub")
    moved "$val0" "$val1" "$SHARE" || fail "the validator's balance went from $val0 to $val1, expected about +$SHARE"
    moved "$sub0" "$sub1" "-$((BOND - FEE))" || fail "the submitter's balance went from $sub0 to $sub1, expected about -$((BOND - FEE))"
    if [ "$(grep -c "withdraw sent" "$vlog")" != 1 ] || [ "$(grep -c "withdraw sent" "$slog")" != 1 ]; then
        fail "expected one withdraw per credit: $(grep -c "withdraw sent" "$vlog") by the validator, $(grep -c "withdraw sent" "$slog") by the submitter"
    fi
    # a restart replays the history: the withdrawals are there, nothing is sent again
    "$launch" stop "$dir" bisector-validator KILL
    "$launch" start "$dir" bisector-validator
    i=0
    while [ "$(grep -c "resumed at event" "$vlog")" -lt 2 ]; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || fail "the restarted validator did not resume within 30 s"
        sleep 0.1
    done
    sleep 3
    [ "$(grep -c "withdraw sent" "$vlog")" = 1 ] || fail "the restarted validator withdrew again"
    [ "$(balance "$OPML_ADDRESS_validator")" = "$val1" ] || fail "the restarted validator sent a transaction"
    echo "test_dispute $scenario: ok (credits withdrawn once each, $took s)"
    exit 0
fi
if [ -z "$lied" ]; then
    grep -q '"submission":1,.*"finalized"\|"finalized".*"submission":1' "$dir/request.json" || fail "not finalized as submission 1"
    paid=$((BOND + FEE))
    [ "$scenario" = kill-executor ] && paid=$((2 * (BOND + FEE))) # two tasks
    # the honest submitter that won a game: the challenger's bond too, at the oracle (one bank)
    case $scenario in dishonest-challenger | kill-submitter) paid=$((2 * BOND + FEE)) ;; esac
    [ "$(credit InferenceOracle "$OPML_ORACLE" "$sub")" = "$paid" ] ||
        fail "submitter credit $(credit InferenceOracle "$OPML_ORACLE" "$sub"), expected $paid (bond + fee per task, a won bond)"
    if [ "$scenario" = honest ] || [ "$scenario" = kill-executor ]; then
        grep -q "checked: the output agrees" "$dir/logs/bisector-validator.log" || fail "the validator did not check it"
    fi
    if [ "$scenario" = honest ]; then
        rcall() { "$opml" chain call --rpc "$OPML_RPC_URL" --artifact "$art" --to "$receiver" --fn "$1" | jq -r '.[0]'; }
        [ "$(rcall calls)" = 1 ] && [ "$(rcall lastTask)" = 1 ] || fail "the requester's callback was not called once"
        out=$(rcall lastOutput)
        [ ${#out} = $((2 + 2 * 40)) ] || fail "the callback got $out, not 10 float32"
        want=$("$opml" status --cluster "$dir" --task 1 | jq -r .outputHash)
        [ "$("$top/tools/eth/node_modules/.bin/cast" keccak "$out")" = "$want" ] || fail "the callback's output is not the submitted one"
    fi
    if [ "$scenario" = dishonest-challenger ] || [ "$scenario" = kill-submitter ]; then
        grep -q "is right, but this validator lies" "$dir/logs/bisector-validator.log" || fail "the validator did not challenge"
        grep -q "resolved, we WON" "$dir/logs/bisector-submitter.log" || fail "the honest submitter did not win"
        grep -q "resolved, we lost" "$dir/logs/bisector-validator.log" || fail "the dishonest challenger did not lose"
        grep -q "step sent (phase 2" "$dir/logs/bisector-validator.log" || fail "no one-step proof"
        resolved_by_winner "$dir/logs/bisector-validator.log" "$dir/logs/bisector-submitter.log"
        [ "$(oracle_credit "$OPML_ADDRESS_validator")" = 0 ] || fail "the dishonest challenger got credit"
        [ "$scenario" != kill-submitter ] || played_after_restarts "$dir/logs/bisector-submitter.log" 2
    fi
    echo "test_dispute $scenario: ok (finalized in $took s)"
    exit 0
fi

# the lie was rejected and an honest resubmission finalized (a verdict by the one-step proof)
grep -q '"status":"finalized","submission":2' "$dir/request.json" || fail "expected submission 2 to finalize: $(cat "$dir/request.json")"
grep -q "LYING (fault injection) at node $lied" "$dir/logs/bisector-submitter.log" || fail "the submitter did not lie at node $lied"
nval=0
for v in validator validator2; do [ -f "$dir/logs/bisector-$v.log" ] && nval=$((nval + 1)); done
share=$((SHARE / nval)) # every game open at the rejection gets the same share
for v in validator validator2; do
    log=$dir/logs/bisector-$v.log
    [ -f "$log" ] || continue
    grep -q "submission 1 is WRONG" "$log" || fail "$v did not find the lie"
    # phase 1 narrowed the game to exactly the lied node: graph step lied + 1
    grep -q "Selected (phase 1, \[$lied, $((lied + 1))\]" "$log" || fail "$v's game did not end at node $lied"
    grep -q "NodeOpened (phase 2" "$log" || fail "$v's game did not reach phase 2"
    addr=$(eval "echo \$OPML_ADDRESS_$v")
    oc=$(oracle_credit "$addr")
    [ "$oc" = $((BOND + share)) ] || fail "$v: oracle credit $oc, expected its bond back and its share $share of the liar's bond"
done
grep -q "step sent (phase 2" "$dir"/logs/bisector-validator*.log || fail "no one-step proof was sent"
grep -q "resolved, we lost" "$dir/logs/bisector-submitter.log" || fail "the liar did not lose"
resolved_by_winner "$dir/logs/bisector-submitter.log" "$dir"/logs/bisector-validator*.log
# the game as opml status shows it: paid out (done), decided for the challenger (with two
# validators, the second game may have been abandoned before its decision)
[ "$nval" = 2 ] || "$opml" status --cluster "$dir" --game 1 | jq -e '.turn == "done" and .challengerWon == true' >/dev/null ||
    fail "opml status --game 1: $("$opml" status --cluster "$dir" --game 1)"
gas=""
[ "$scenario" != lie-vm ] || gas=", gas: $(light_step_and_resolve)"
[ "$scenario" = lie-vm ] && { grep -q "Selected (phase 2, \[999, 1000\]" "$dir/logs/bisector-validator.log" || fail "phase 2 did not end at VM step 1000"; }
if [ "$scenario" = foreign-stream ]; then
    # each bisector dropped the third stream (and the other identity's chainwatch's)
    for v in validator submitter; do
        [ "$(stat "$(eval "echo \$OPML_BISECTOR_$v")" foreign_dropped)" -gt 0 ] || fail "bisector-$v dropped no foreign envelope"
    done
fi
echo "test_dispute $scenario: ok (lie at node $lied rejected, resubmission finalized, $took s$gas)"
