# dispute_lib.sh: what the dispute scripts (test_dispute.sh, test_gen_dispute.sh) share, sourced
# once the cluster is up (cluster.env read): the caller defines `fail`, and sets `opml` (the CLI),
# `launch` (compose/launch.sh) and `dir` (the cluster's directory).

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
