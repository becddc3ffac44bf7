#!/bin/sh
# test_gen_dispute.sh: disputes of whole text generations on real processes (compose/launch.sh:
# anvil mining a block a second, the contracts, bus, storage, two executors, vmjudge, a chainwatch
# and a bisector per identity) with the shared fortunes LLaMA (tinyllama_fortunes-q8_0.gguf,
# converted by `opml convert`: its one decoding step is the registered step graph) and a prompt
# tokenized by the model's own tokenizer (`opml request --prompt`). docs/generation.md.
#
#   test_gen_dispute.sh BUILD_DIR SCENARIO
#
#   honest        an honest generation of 24 new tokens finalizes after its window: nobody challenges
#                 it, the submitter is paid bond + fee, the ids posted are the model's own greedy ids
#                 (`opml generate` on the same file) and `opml status --text` prints their text
#   lie-middle    the submitter lies at the 12th new token (fault token=12@1: a wrong sampled
#                 token): the validator challenges; phase 0 narrows the game to exactly the token
#                 step that sampled it (P + 11), the liar opens it (openStep), phase 1 narrows it to
#                 the step graph's Sample node, phase 2 to one VM step, the one-step proof decides
#                 on-chain and the validator's resolve pays it out; the liar's submission is
#                 rejected (half its bond to the validator, whose own comes back: both credited at
#                 the oracle) and its honest resubmission finalizes
#   lie-first, lie-last
#                 the same at the first and the last new token (token=0@1, token=23@1)
#   lie-kv        a cache row: step P + 4's first updated cache (K_0 row P + 4) is wrong (kv=P+4@1;
#                 the last id is lied too, so that validators see it): decided at that step's
#                 first KVAppend node
#   lie-vm        node 10 of the middle step, and inside its VM run (vm=10/P+11@1)
#   lie-sampler   a sampled generation (temperature 0.7, top-k 40, top-p 0.95, seed 7: the sampler
#                 is part of the disputed computation) whose 12th sampled choice is lied: decided at
#                 the Sample node of its step, in the VM (the finalized ids are `opml generate`'s
#                 with the same sampler)
#   stop-early    a request with a stop token (the newline id 13, the 5th greedy new id): the
#                 generation ends there, 5 ids the last of them the stop token; the submitter lies
#                 at the 3rd (token=2@1), is caught in phase 0 over the T = P + 4 steps, and the
#                 honest resubmission of the 5 ids finalizes
#   dishonest-challenger
#                 a validator that challenges an honest generation (and selects against it) loses
#                 at the one-step proof: the submitter resolves, the challenger's bond is credited
#                 to it at the oracle, the task finalizes
#   kill-validator
#                 lie-middle with the validator's bisector killed (SIGKILL) in phase 0 and again in
#                 phase 2, restarted each time: it still wins
#   kill-submitter
#                 dishonest-challenger with the honest submitter's bisector killed (SIGKILL) in
#                 phase 0 and again in phase 2 (each time just after it sent a dissection),
#                 restarted each time: it resumes as the game's submitter and still wins
#   liar-gone     lie-middle with clocks of 20 s, and the liar's bisector killed for good after its
#                 first dissection of the token steps: the validator calls timeout when the liar's
#                 clock has run out, resolves, and wins (half the liar's bond, its own bond back)
#   bad-requests  requests the oracle refuses before any fee is taken, each with its custom error:
#                 an id outside the vocabulary, a prompt longer than the context, no new tokens
set -eu
build=$1
scenario=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
launch=$top/compose/launch.sh
opml=$build/cli/opml
gguf=$top/../shared/models/tinyllama_fortunes-q8_0.gguf
dir=$(mktemp -d /tmp/opml-gendispute.XXXXXX)
export OPML_BUILD=$build OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
export OPML_MODEL=$dir/fortunes.opml OPML_ROLE_submitter=submit OPML_ROLE_validator=validate OPML_BISECTOR_AUTO_WITHDRAW=0
BOND=1000000000000000000
SHARE=500000000000000000
FEE=1000
PROMPT="Computers are"
NEW=24
fail() {
    echo "test_gen_dispute $scenario: $*" >&2
    for f in "$dir"/logs/bisector-*.log "$dir"/logs/executor-*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
    exit 1
}
trap '"$launch" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

[ -f "$gguf" ] || fail "no $gguf"
"$opml" convert "$gguf" -o "$OPML_MODEL" >"$dir/convert.txt" || fail "convert failed"
# the prompt's ids, as the oracle will get them (BOS first)
P=$("$opml" generate "$OPML_MODEL" "$PROMPT" -n 1 --json 2>/dev/null | jq '.prompt_ids | length') || P=""
[ -n "$P" ] && [ "$P" -ge 1 ] || fail "the prompt did not tokenize"

lied=""
case $scenario in
honest | bad-requests) ;;
dishonest-challenger | kill-submitter) export OPML_FAULT_validator=token=0 ;;
lie-middle | kill-validator | lie-sampler | liar-gone) export OPML_FAULT_submitter=token=12@1 lied=12 ;;
lie-first) export OPML_FAULT_submitter=token=0@1 lied=0 ;;
stop-early) export OPML_FAULT_submitter=token=2@1 lied=2 ;;
lie-last) export OPML_FAULT_submitter=token=$((NEW - 1))@1 lied=$((NEW - 1)) ;;
lie-kv) export OPML_FAULT_submitter=kv=$((P + 4))@1 lied=kv ;;
lie-vm) export OPML_FAULT_submitter=vm=10/$((P + 11))@1 lied=vm ;;
*) fail "unknown scenario" ;;
esac

"$launch" up "$dir" >/dev/null || fail "the cluster did not come up"
. "$dir/cluster.env"
clock=120
[ "$scenario" != liar-gone ] || clock=20
"$opml" register "$OPML_MODEL" --cluster "$dir" --k 16 --steps-log2 26 --window 10 --clock "$clock" >"$dir/register.json" ||
    fail "register failed"
jq -e .generation "$dir/register.json" >/dev/null || fail "not registered as a generation model: $(cat "$dir/register.json")"

. "$top/tests/system/dispute_lib.sh"
request() { # extra arguments -> the request's output
    "$opml" request --cluster "$dir" --model-id 1 --model "$OPML_MODEL" --fee "$FEE" "$@"
}

if [ "$scenario" = bad-requests ]; then
    for bad in "--tokens 1,1000 --max-new 4:BadTokenId" "--tokens 1,2 --max-new 0:NoNewTokens" \
        "--tokens 1,2,3 --max-new 254:TooLong" "--prompt x --max-new 4 --temperature -1:BadSampler"; do
        args=${bad%%:*} want=${bad##*:}
        # shellcheck disable=SC2086
        if request $args >"$dir/bad.out" 2>&1; then fail "request $args was accepted"; fi
        grep -q "$want" "$dir/bad.out" || fail "request $args: no $want in: $(cat "$dir/bad.out")"
    done
    count=$("$opml" chain call --rpc "$OPML_RPC_URL" --artifact "$OPML_ARTIFACTS/InferenceOracle.sol/InferenceOracle.json" \
        --to "$OPML_ORACLE" --fn taskCount | tr -d '[]"')
    [ "$count" = 0 ] || fail "a refused request made a task ($count)"
    echo "test_gen_dispute $scenario: ok (each refused with its error, no task made)"
    exit 0
fi

[ "$scenario" != kill-validator ] || kill_bisector_in validator select 120 0 2
[ "$scenario" != kill-submitter ] || kill_bisector_in submitter dissect 120 0 2

if [ "$scenario" = liar-gone ]; then
    request --prompt "$PROMPT" --max-new "$NEW" >/dev/null || fail "request failed"
    wait_log "$dir/logs/bisector-submitter.log" "dissect sent (phase 0" 60
    "$launch" stop "$dir" bisector-submitter KILL
    wait_log "$dir/logs/bisector-validator.log" "resolved, we WON" 90
    grep -q "timeout sent (phase 0" "$dir/logs/bisector-validator.log" || fail "the validator did not call timeout in phase 0"
    grep -q "resolve sent" "$dir/logs/bisector-validator.log" || fail "the validator did not resolve"
    [ "$(oracle_credit "$OPML_ADDRESS_validator")" = $((SHARE + BOND)) ] ||
        fail "the validator's oracle credit is $(oracle_credit "$OPML_ADDRESS_validator"), not half the liar's bond and its own back"
    echo "test_gen_dispute $scenario: ok (the absent liar timed out in the token phase)"
    exit 0
fi

sampler="" gsampler="" want_n=$NEW
if [ "$scenario" = stop-early ]; then
    sampler="--stop 13" want_n=5
fi
if [ "$scenario" = lie-sampler ]; then
    sampler="--temperature 0.7 --top-k 40 --top-p 0.95 --seed 7" gsampler="--temp 0.7 --top-k 40 --top-p 0.95 --seed 7"
fi
sub=$OPML_ADDRESS_submitter
start=$(date +%s)
# shellcheck disable=SC2086
request --prompt "$PROMPT" --max-new "$NEW" $sampler --wait --timeout 400 >"$dir/request.json" ||
    fail "the task did not finalize: $(cat "$dir/request.json")"
took=$(($(date +%s) - start))
case $scenario in kill-*)
    wait "$killer" || fail "kill and restart failed"
    [ "$(wc -l <"$dir/killed")" = 2 ] || fail "not killed in both phases"
    ;;
esac

# the ids finalized are the model's own greedy continuation of the prompt
# shellcheck disable=SC2086
"$opml" generate "$OPML_MODEL" "$PROMPT" -n "$NEW" --ignore-eos $gsampler --json >"$dir/generate.json" 2>/dev/null ||
    fail "opml generate failed"
want=$(jq -r --argjson n "$want_n" '.ids[:$n] | map(tostring) | join(",")' "$dir/generate.json")
got=$("$opml" status --cluster "$dir" --task 1 --model "$OPML_MODEL" | jq -r '.ids | map(tostring) | join(",")')
[ "$got" = "$want" ] || fail "finalized ids $got, the model's $want"
[ "$scenario" != stop-early ] || [ "${got##*,}" = 13 ] || fail "the generation did not end at the stop token: $got"
"$opml" status --cluster "$dir" --task 1 --model "$OPML_MODEL" | jq -e '.text | length > 0' >/dev/null || fail "no text in opml status"

if [ -z "$lied" ]; then
    grep -q '"status":"finalized","submission":1' "$dir/request.json" || fail "not finalized as submission 1"
    paid=$((BOND + FEE))
    # the honest submitter that won a game: the challenger's bond too, at the oracle (one bank)
    case $scenario in dishonest-challenger | kill-submitter) paid=$((2 * BOND + FEE)) ;; esac
    [ "$(oracle_credit "$sub")" = "$paid" ] || fail "the submitter's oracle credit is $(oracle_credit "$sub"), not $paid"
    if [ "$scenario" = dishonest-challenger ] || [ "$scenario" = kill-submitter ]; then
        grep -q "resolved, we WON" "$dir/logs/bisector-submitter.log" || fail "the honest submitter did not win"
        grep -q "resolved, we lost" "$dir/logs/bisector-validator.log" || fail "the dishonest challenger did not lose"
        grep -q "step sent (phase 2" "$dir/logs/bisector-validator.log" || fail "no one-step proof"
        resolved_by_winner "$dir/logs/bisector-validator.log" "$dir/logs/bisector-submitter.log"
        [ "$(oracle_credit "$OPML_ADDRESS_validator")" = 0 ] || fail "the dishonest challenger got credit"
        [ "$scenario" != kill-submitter ] || played_after_restarts "$dir/logs/bisector-submitter.log" 2
    else
        grep -q "checked: the output agrees" "$dir/logs/bisector-validator.log" || fail "the validator did not check it"
    fi
    echo "test_gen_dispute $scenario: ok (finalized in $took s)"
    exit 0
fi

slog=$dir/logs/bisector-submitter.log vlog=$dir/logs/bisector-validator.log
grep -q '"status":"finalized","submission":2' "$dir/request.json" || fail "expected submission 2 to finalize: $(cat "$dir/request.json")"
line=$(grep -m1 "LYING (fault injection) at token step" "$slog") || fail "the submitter did not lie"
step=$(echo "$line" | sed 's/.*at token step \([0-9]*\), node \([0-9]*\).*/\1/')
node=$(echo "$line" | sed 's/.*at token step \([0-9]*\), node \([0-9]*\).*/\2/')
case $scenario in
lie-middle | kill-validator | lie-first | lie-last | lie-sampler | stop-early) [ "$step" = $((P + lied - 1)) ] || fail "lied at step $step, not $((P + lied - 1))" ;;
esac
grep -q "submission 1 is WRONG" "$vlog" || fail "the validator did not find the lie"
grep -q "Selected (phase 0, \[$step, $((step + 1))\]" "$vlog" || fail "phase 0 did not end at token step $step"
grep -q "StepOpened (phase 1" "$vlog" || fail "the token step was not opened"
grep -q "Selected (phase 1, \[$node, $((node + 1))\]" "$vlog" || fail "phase 1 did not end at node $node"
grep -q "NodeOpened (phase 2" "$vlog" || fail "the game did not reach phase 2"
grep -q "step sent (phase 2" "$vlog" || fail "no one-step proof was sent"
grep -q "resolved, we lost" "$slog" || fail "the liar did not lose"
resolved_by_winner "$slog" "$vlog"
[ "$(oracle_credit "$OPML_ADDRESS_validator")" = $((SHARE + BOND)) ] ||
    fail "the validator's oracle credit is $(oracle_credit "$OPML_ADDRESS_validator"), not half the liar's bond and its own back"
echo "test_gen_dispute $scenario: ok (lie at token step $step, node $node rejected, resubmission finalized, $took s)"
