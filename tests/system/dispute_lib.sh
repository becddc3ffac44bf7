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

# In the background: the validator's bisector killed (SIGKILL) and restarted at its first selection
# of each phase given, a line per kill in $dir/killed; $killer is the background job.
kill_validator_in() { # SECONDS PHASE...
    wait_s=$1
    shift
    (
        for phase in "$@"; do
            wait_log "$dir/logs/bisector-validator.log" "select sent (phase $phase" "$wait_s"
            "$launch" stop "$dir" bisector-validator KILL
            echo "killed in phase $phase" >>"$dir/killed"
            "$launch" start "$dir" bisector-validator
        done
    ) &
    killer=$!
}
