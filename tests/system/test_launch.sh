#!/bin/sh
# test_launch.sh: the local launcher (compose/launch.sh) brings the whole topology up on real
# processes (anvil, the contracts deployed, bus, storage, two executors, vmjudge, a chainwatch per
# identity, and the bisectors when built), every actor answering health; an actor killed with
# SIGKILL is restarted alone; `down` stops every process with SIGTERM and each logs a clean stop;
# a second `up` in the same directory works (fresh chain, same keys).
#   test_launch.sh BUILD_DIR
set -eu
build=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
launch=$top/compose/launch.sh
dir=$(mktemp -d /tmp/opml-launch.XXXXXX)
export OPML_BUILD=$build OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
[ -x "$build/bisector/opml-bisector" ] || export OPML_BISECTORS=0
fail() {
    echo "test_launch: $*" >&2
    for f in "$dir"/logs/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }; done
    exit 1
}
trap '"$launch" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

"$launch" up "$dir" || fail "up failed"
. "$dir/cluster.env"
for p in $OPML_PROCESSES; do kill -0 "$(cat "$dir/pids/$p")" || fail "$p is not running"; done
code() {
    curl -sf -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getCode\",\"params\":[\"$1\",\"latest\"]}" "$OPML_RPC_URL"
}
for a in "$OPML_REGISTRY" "$OPML_ORACLE" "$OPML_RISCV" "$OPML_GAME"; do
    code "$a" | grep -q '"result":"0x[0-9a-f]' || fail "no contract at $a"
done
# a crash and a restart of one executor
"$launch" stop "$dir" executor-2 KILL
"$launch" start "$dir" executor-2 || fail "executor-2 did not come back"
"$launch" down "$dir" || fail "down failed"
for p in $OPML_PROCESSES; do [ ! -f "$dir/pids/$p" ] || fail "$p still has a pid file"; done
for p in $OPML_PROCESSES; do
    case $p in anvil) continue ;; esac
    grep -q "stopping (SIGTERM)" "$dir/logs/$p.log" || fail "$p did not log a clean stop"
done
first=$OPML_GAME
"$launch" up "$dir" >/dev/null || fail "second up failed"
. "$dir/cluster.env"
code "$OPML_GAME" | grep -q '"result":"0x[0-9a-f]' || fail "second deployment missing"
"$launch" down "$dir" >/dev/null || fail "second down failed"
echo "test_launch: ok ($(echo "$OPML_PROCESSES" | wc -w) processes, game at $first then $OPML_GAME)"
