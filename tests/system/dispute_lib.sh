# dispute_lib.sh: what the dispute scripts (test_dispute.sh, test_gen_dispute.sh) share, sourced
# once the cluster is up (cluster.env read): the caller defines `fail`, and sets `opml` (the CLI),
# `launch` (compose/launch.sh), `dir` (the cluster's directory) and `top` (the source tree).

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

# In the background: an identity's bisector killed (SIGKILL) and restarted at its first move of a
# kind (select or dissect) in each phase given, a line per kill in $dir/killed; $killer is the
# background job.
kill_bisector_in() { # IDENTITY MOVE SECONDS PHASE...
    who=$1 move=$2 wait_s=$3
    shift 3
    (
        for phase in "$@"; do
            wait_log "$dir/logs/bisector-$who.log" "$move sent (phase $phase" "$wait_s"
            "$launch" stop "$dir" "bisector-$who" KILL
            echo "$who killed in phase $phase" >>"$dir/killed"
            "$launch" start "$dir" "bisector-$who"
        done
    ) &
    killer=$!
}

# Fails unless bisector log LOG shows RESTARTS restarts (a "resumed at event" line each, after the
# first start's), each followed by a move sent before the next: every restarted bisector played on.
played_after_restarts() { # LOG RESTARTS
    awk -v want="$(($2 + 1))" '/resumed at event/ { n++; moved[n] = 0 } /sent \(phase/ { moved[n] = 1 }
        END { if (n != want) exit 1; for (i = 2; i <= n; i++) if (!moved[i]) exit 1 }' "$1" ||
        fail "$1: not $2 restarts each followed by a move"
}

# Every credit is the oracle's (one bank, docs/game.md "Money"): WHO's credit there, in wei.
oracle_credit() { # WHO
    credit InferenceOracle "$OPML_ORACLE" "$1"
}

# Fails unless a decided game was paid out by its winner's resolve: a "resolve sent" line in one of
# the winners' logs and none in the loser's (the one-step proof or timeout only decides; the
# loser has no reason to pay for the resolve).
resolved_by_winner() { # LOSER_LOG WINNER_LOG...
    loser=$1
    shift
    grep -q "resolve sent" "$@" || fail "the winner did not send resolve ($*)"
    ! grep -q "resolve sent" "$loser" || fail "$loser: the loser sent resolve"
}

# The gas used by each transaction that emitted event SIGNATURE at DisputeGame, from the
# receipts, one number a line.
game_event_gas() { # SIGNATURE
    cast=$top/tools/eth/node_modules/.bin/cast
    topic=$("$cast" keccak "$1")
    "$cast" rpc --rpc-url "$OPML_RPC_URL" eth_getLogs \
        "{\"fromBlock\":\"0x0\",\"address\":\"$OPML_GAME\",\"topics\":[\"$topic\"]}" |
        jq -r '.[].transactionHash' | while read -r h; do "$cast" receipt --rpc-url "$OPML_RPC_URL" "$h" gasUsed; done
}

# Fails unless every one-step proof (the transaction that emitted OneStep) and every resolve
# (GameResolved) used under 100,000 gas (issue 14: each move and the one-step proof); prints
# "step G resolve G" for the test's last line.
light_step_and_resolve() {
    said=""
    for ev in "step OneStep(uint256,uint64,bytes32,bytes32,bytes32)" "resolve GameResolved(uint256,address,bool,uint256)"; do
        gas=$(game_event_gas "${ev#* }")
        [ -n "$gas" ] || fail "no ${ev#* } on-chain"
        for g in $gas; do [ "$g" -lt 100000 ] || fail "the ${ev%% *} transaction used $g gas, not under 100,000"; done
        said="$said${said:+ }${ev%% *} $(echo "$gas" | paste -sd, -)"
    done
    echo "$said"
}
