#!/bin/sh
# test_demo.sh: `opml demo` runs the whole story (the honest request finalizes; the lie is
# challenged, rejected and the honest resubmission finalizes), stops every process, and a second
# run in the same directory works.
#   test_demo.sh BUILD_DIR
set -eu
build=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/opml-demo.XXXXXX)
trap '"$top/compose/launch.sh" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
export OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
cd "$top"
for run in 1 2; do
    "$build/cli/opml" demo --dir "$dir" >"$dir/demo$run.out" 2>&1 || { cat "$dir/demo$run.out" >&2; exit 1; }
    for want in "task 1 FINALIZED (submission 1)" "LYING (fault injection) at node 4" "is WRONG" \
        "Selected (phase 1, [4, 5]" "NodeOpened (phase 2" "step sent (phase 2" "resolved, we WON" "task 2 FINALIZED (submission 2)" "stopped (SIGTERM"; do
        grep -qF "$want" "$dir/demo$run.out" || { cat "$dir/demo$run.out" >&2; echo "test_demo: run $run lacks '$want'" >&2; exit 1; }
    done
    for p in "$dir"/pids/*; do
        case $p in *.cmd | *'*') continue ;; esac
        echo "test_demo: $p left behind" >&2
        exit 1
    done
done
grep -A8 '^summary' "$dir/demo2.out"
