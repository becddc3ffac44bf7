#!/bin/sh
# test_demo.sh: `opml demo` runs the whole story (the honest request finalizes; the lie is
# challenged, rejected and the honest resubmission finalizes), stops every process, and a second
# run in the same directory works.
#   test_demo.sh BUILD_DIR [fashion|gen]
# gen (the default demo): the fortunes LLaMA, the honest continuation's text printed, the lie at
# the 40th new token decided through the token phase, the step's graph and the VM, with each
# phase's time, transactions and gas, and the winner's resolve after the one-step proof's decision
# (run once: it is the longest system test); fashion: --fashion.
set -eu
build=$1
mode=${2:-fashion}
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/opml-demo.XXXXXX)
trap '"$top/compose/launch.sh" down "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
export OPML_PORT_BASE=$(sh "$top/tests/system/free_ports.sh")
cd "$top"
if [ "$mode" = gen ]; then
    runs=1 flag="" wants='task 1 FINALIZED (submission 1)|"A fool and his money" ->|LYING (fault injection) at token step|is WRONG|StepOpened (phase 1|NodeOpened (phase 2|step sent (phase 2|OneStep: decided for the challenger, we won|resolve sent (phase 2|resolved, we WON|task 2 FINALIZED (submission 2)|phase 0 (token steps|phase 2 (VM steps|resolve (the winner|stopped (SIGTERM'
else
    runs="1 2" flag=--fashion wants='task 1 FINALIZED (submission 1)|LYING (fault injection) at node 4|is WRONG|Selected (phase 1, [4, 5]|NodeOpened (phase 2|step sent (phase 2|OneStep: decided for the challenger, we won|resolve sent (phase 2|resolved, we WON|resolve (the winner|task 2 FINALIZED (submission 2)|stopped (SIGTERM'
fi
for run in $runs; do
    # shellcheck disable=SC2086
    "$build/cli/opml" demo $flag --dir "$dir" >"$dir/demo$run.out" 2>&1 || { cat "$dir/demo$run.out" >&2; exit 1; }
    IFS='|'
    for want in $wants; do
        unset IFS
        grep -qF "$want" "$dir/demo$run.out" || { cat "$dir/demo$run.out" >&2; echo "test_demo: run $run lacks '$want'" >&2; exit 1; }
        IFS='|'
    done
    unset IFS
    for p in "$dir"/pids/*; do
        case $p in *.cmd | *'*') continue ;; esac
        echo "test_demo: $p left behind" >&2
        exit 1
    done
done
grep -A12 '^summary' "$dir/demo${run}.out"
