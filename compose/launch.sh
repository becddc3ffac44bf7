#!/bin/sh
# launch.sh: the compose topology (docker-compose.yml) as local processes, for development, the
# demo and the system tests. Same actors, same keys and allow-list, same deployment; each process
# on its own loopback port, its log in DIR/logs, its pid in DIR/pids.
#
#   launch.sh up DIR        start anvil, deploy, bus, storage, executors, vmjudge, and per identity
#                           a chainwatch and a bisector; wait until every actor answers health
#   launch.sh down DIR      SIGTERM every process (reverse order), SIGKILL what is left after 10 s
#   launch.sh start DIR NAME   (re)start one process of a cluster that is up (after a kill)
#   launch.sh stop DIR NAME [SIGNAL]   stop one process (default SIGTERM; KILL for a crash)
#
# Settings (environment): OPML_BUILD (the build directory, default build), OPML_PORT_BASE (default
# 17100; the ports used are BASE .. BASE+99), OPML_EXECUTORS (2), OPML_IDENTITIES ("validator
# submitter"), OPML_FAULT_<ID> (the fault setting of identity ID's bisector, fault.h; default
# none), OPML_ROLE_<ID> (submit, validate or both, the default), OPML_BLOCK_TIME (anvil's seconds per block, default 1; 0: a block per transaction),
# OPML_BISECTORS (1; 0 starts the cluster without bisectors, for tests that drive the game
# themselves), OPML_MODEL (model files the bisectors serve, comma-separated; executors load and
# publish the first to storage), OPML_HEALTH_WAIT (seconds an actor may take to answer health at
# start, default 30: a 7B-shaped model takes longer to load and publish once). `up` writes DIR/cluster.env: the endpoints, keys and addresses, what the `opml`
# subcommands read (--cluster DIR). A second `up` on the same DIR keeps its keys and databases
# and starts a fresh chain.
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,20p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
KEYS=$dir/keys
BIN=$dir/bin
. "$here/lib.sh"

build=${OPML_BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
base=${OPML_PORT_BASE:-17100}
executors=${OPML_EXECUTORS:-2}
identities=${OPML_IDENTITIES:-validator submitter}
bisectors=${OPML_BISECTORS:-1}

# ports
rpc_port=$((base + 0))
bus_in=$((base + 1)) bus_out=$((base + 2)) bus_work=$((base + 3)) bus_workers=$((base + 4))
storage_port=$((base + 10))
vmjudge_port=$((base + 20))
executor_port() { echo $((base + 30 + $1)); }
# identity number j (1-based, in OPML_IDENTITIES order)
chainwatch_port() { echo $((base + 50 + $1)); }
bisector_port() { echo $((base + 70 + $1)); }
loop=tcp://127.0.0.1

# The binaries, found by name in the build tree (wherever their component's folder is).
link_binaries() {
    mkdir -p "$BIN"
    for b in opml opml-health opml-bus opml-storage opml-executor opml-vmjudge opml-chainwatch opml-bisector; do
        f=$(newest "$build" -name "$b" -perm -u+x)
        [ -n "$f" ] && ln -sf "$f" "$BIN/$b"
    done
    ln -sf "$top/tools/eth/node_modules/.bin/anvil" "$BIN/anvil"
    for b in opml opml-health opml-bus opml-storage opml-executor opml-vmjudge opml-chainwatch anvil; do
        [ -x "$BIN/$b" ] || die "$b is not built in $build"
    done
    if [ "$bisectors" != 0 ] && [ ! -x "$BIN/opml-bisector" ]; then die "opml-bisector is not built in $build"; fi
}

# NAME LOG CMD...: start a process in the background, remember its pid
spawn() {
    name=$1
    shift
    mkdir -p "$dir/pids" "$dir/logs"
    "$@" >>"$dir/logs/$name.log" 2>&1 &
    echo $! >"$dir/pids/$name"
    echo "$*" >"$dir/pids/$name.cmd"
}

alive() { [ -f "$dir/pids/$1" ] && kill -0 "$(cat "$dir/pids/$1")" 2>/dev/null; }

# NAME PORT: wait until the actor answers health (OPML_HEALTH_WAIT tries of at most a second each)
wait_health() {
    i=0
    while ! "$BIN/opml-health" --key_file "$KEYS/health.key" --peer "$(peer "$1" "$loop:$2")" \
        --timeout_ms 1000 --retries 0 >/dev/null 2>&1; do
        alive "$1" || die "$1 exited; see $dir/logs/$1.log"
        i=$((i + 1))
        [ "$i" -lt "${OPML_HEALTH_WAIT:-30}" ] || die "$1 does not answer health; see $dir/logs/$1.log"
    done
}

wait_rpc() {
    i=0
    until curl -sf -X POST -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$rpc_port" >/dev/null; do
        alive anvil || die "anvil exited; see $dir/logs/anvil.log"
        i=$((i + 1))
        [ "$i" -lt 100 ] || die "anvil does not answer on port $rpc_port"
        sleep 0.1
    done
}

common() { echo "--key_file $KEYS/$1.key --allow_file $KEYS/allow --bus_pub $(peer bus "$loop:$bus_in")"; }

# The command line of process NAME (its pid file records it for `start`).
start_one() {
    name=$1
    case $name in
    anvil)
        bt=${OPML_BLOCK_TIME:-1}
        if [ "$bt" = 0 ]; then bt_flag=""; else bt_flag="--block-time $bt"; fi
        # shellcheck disable=SC2086
        spawn anvil "$BIN/anvil" --port "$rpc_port" --chain-id 31337 $bt_flag --silent
        ;;
    bus)
        spawn bus "$BIN/opml-bus" --key_file "$KEYS/bus.key" --allow_file "$KEYS/allow" \
            --events_in "$loop:$bus_in" --events_out "$loop:$bus_out" --work "$loop:$bus_work" \
            --workers "$loop:$bus_workers"
        ;;
    storage)
        # shellcheck disable=SC2046
        spawn storage "$BIN/opml-storage" $(common storage) --listen "$loop:$storage_port" --db "$dir/data/storage.db"
        ;;
    vmjudge)
        # shellcheck disable=SC2046
        spawn vmjudge "$BIN/opml-vmjudge" $(common vmjudge) --listen "$loop:$vmjudge_port" \
            --bus_work "$(peer bus "$loop:$bus_workers")" --storage "$(peer storage "$loop:$storage_port")"
        ;;
    executor-*)
        i=${name#executor-}
        # shellcheck disable=SC2046
        spawn "$name" "$BIN/opml-executor" $(common "$name") --listen "$loop:$(executor_port "$i")" \
            ${OPML_MODEL:+--model "${OPML_MODEL%%,*}"} --bus_work "$(peer bus "$loop:$bus_workers")" --storage "$(peer storage "$loop:$storage_port")"
        ;;
    chainwatch-*)
        id=${name#chainwatch-}
        j=$(identity_number "$id")
        . "$dir/contracts.env"
        # shellcheck disable=SC2046
        spawn "$name" "$BIN/opml-chainwatch" $(common "$name") --listen "$loop:$(chainwatch_port "$j")" \
            --storage "$(peer storage "$loop:$storage_port")" --rpc_url "http://127.0.0.1:$rpc_port" \
            --chain_id 31337 --artifacts "$artifacts" --journal "$dir/data/$name.journal.json" \
            --watch "ModelRegistry@$OPML_REGISTRY,InferenceOracle@$OPML_ORACLE,DisputeGame@$OPML_GAME" \
            --allow_senders "$(address "bisector-$id")" --confirmations "${OPML_CONFIRMATIONS:-0}" \
            --poll_ms 100 --start_delay_ms 300
        ;;
    bisector-*)
        id=${name#bisector-}
        j=$(identity_number "$id")
        . "$dir/contracts.env"
        fault=$(eval "echo \${OPML_FAULT_$id:-none}")
        role=$(eval "echo \${OPML_ROLE_$id:-both}")
        case $role in
        submit) roles="--submit 1 --validate 0" ;;
        validate) roles="--submit 0 --validate 1" ;;
        both) roles="--submit 1 --validate 1" ;;
        *) die "OPML_ROLE_$id must be submit, validate or both" ;;
        esac
        # shellcheck disable=SC2046
        spawn "$name" "$BIN/opml-bisector" $(common "$name") --listen "$loop:$(bisector_port "$j")" \
            --chainwatch "$(peer "chainwatch-$id" "$loop:$(chainwatch_port "$j")")" \
            --bus_events "$(peer bus "$loop:$bus_out")" --work "$(peer bus "$loop:$bus_work")" \
            --storage "$(peer storage "$loop:$storage_port")" \
            --address "$(address "chainwatch-$id")" --artifacts "$artifacts" --model "${OPML_MODEL:-}" \
            --registry "$OPML_REGISTRY" --oracle "$OPML_ORACLE" --game "$OPML_GAME" --fault "$fault" $roles
        ;;
    *) die "no process $name" ;;
    esac
}

port_of() {
    case $1 in
    bus) echo "$bus_work" ;;
    storage) echo "$storage_port" ;;
    vmjudge) echo "$vmjudge_port" ;;
    executor-*) executor_port "${1#executor-}" ;;
    chainwatch-*) chainwatch_port "$(identity_number "${1#chainwatch-}")" ;;
    bisector-*) bisector_port "$(identity_number "${1#bisector-}")" ;;
    esac
}

identity_number() {
    j=0
    for x in $identities; do
        j=$((j + 1))
        [ "$x" = "$1" ] && { echo "$j"; return 0; }
    done
    die "unknown identity $1 (OPML_IDENTITIES is \"$identities\")"
}

# Every process in start order.
processes() {
    echo anvil bus storage
    i=1
    while [ "$i" -le "$executors" ]; do echo "executor-$i"; i=$((i + 1)); done
    echo vmjudge
    for id in $identities; do echo "chainwatch-$id"; done
    if [ "$bisectors" != 0 ]; then for id in $identities; do echo "bisector-$id"; done; fi
}

signal_one() { # NAME SIGNAL
    [ -f "$dir/pids/$1" ] && kill "-$2" "$(cat "$dir/pids/$1")" 2>/dev/null || true
}
wait_one() { # NAME: wait for it to end, SIGKILL after 10 s
    [ -f "$dir/pids/$1" ] || return 0
    pid=$(cat "$dir/pids/$1")
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -eq 100 ]; then
            echo "launch: $1 did not stop in 10 s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
    done
    rm -f "$dir/pids/$1"
}
stop_one() { signal_one "$1" "$2"; wait_one "$1"; }

# forge's output (contracts-out/<Name>.sol/<Name>.json), wherever its component builds it
game_json=$(newest "$build" -path '*/contracts-out/DisputeGame.sol/DisputeGame.json')
artifacts=${OPML_ARTIFACTS:-${game_json:+$(dirname "$(dirname "$game_json")")}}

case $cmd in
up)
    [ -n "$artifacts" ] && [ -d "$artifacts" ] || die "no contract artifacts (contracts-out) in $build (build the chain_contract_artifacts target)"
    for p in $(processes); do alive "$p" && die "$p is already running in $dir (launch.sh down first)"; done
    link_binaries
    mkdir -p "$dir/data" "$dir/logs"
    make_keys "$executors" "$identities"
    # a fresh chain: chainwatch's cursors and journals, and the bisectors' games, were about the old one
    rm -rf "$dir/data/storage.db" "$dir/data/"*.journal.json "$dir/contracts.env"
    start_one anvil
    wait_rpc
    funded=""
    for id in $identities; do funded="$funded $(address "chainwatch-$id")"; done
    # shellcheck disable=SC2086
    OPML_DEV_CHAIN=1 "$here/deploy.sh" "$BIN" "http://127.0.0.1:$rpc_port" "$artifacts" "$KEYS/deployer.key" \
        "$dir/contracts.env" $funded "$(address client)" >"$dir/logs/deploy.log" 2>&1 ||
        die "deployment failed; see $dir/logs/deploy.log"
    for p in $(processes); do
        [ "$p" = anvil ] && continue
        start_one "$p"
        wait_health "$p" "$(port_of "$p")"
    done
    {
        cat "$dir/contracts.env"
        echo "OPML_RPC_URL=http://127.0.0.1:$rpc_port"
        echo "OPML_CHAIN_ID=31337"
        echo "OPML_KEYS=$KEYS"
        echo "OPML_ARTIFACTS=$artifacts"
        echo "OPML_BUS_EVENTS=$(peer bus "$loop:$bus_out")"
        echo "OPML_BUS_WORK=$(peer bus "$loop:$bus_work")"
        echo "OPML_STORAGE=$(peer storage "$loop:$storage_port")"
        echo "OPML_VMJUDGE=$(peer vmjudge "$loop:$vmjudge_port")"
        for id in $identities; do
            j=$(identity_number "$id")
            echo "OPML_CHAINWATCH_$id=$(peer "chainwatch-$id" "$loop:$(chainwatch_port "$j")")"
            echo "OPML_ADDRESS_$id=$(address "chainwatch-$id")"
            [ "$bisectors" != 0 ] && echo "OPML_BISECTOR_$id=$(peer "bisector-$id" "$loop:$(bisector_port "$j")")"
        done
        echo "OPML_PROCESSES=\"$(processes | tr '\n' ' ')\""
    } >"$dir/cluster.env"
    echo "launch: up in $dir ($(processes | wc -w) processes)"
    ;;
down)
    [ -f "$dir/cluster.env" ] && . "$dir/cluster.env"
    list=${OPML_PROCESSES:-$(ls "$dir/pids" 2>/dev/null | grep -v '\.cmd$' || true)}
    # SIGTERM to all (newest first), then wait for each: actors stop in about a second each
    rev=""
    for p in $list $(ls "$dir/pids" 2>/dev/null | grep -v '\.cmd$' || true); do rev="$p $rev"; done
    for p in $rev; do signal_one "$p" TERM; done
    for p in $rev; do wait_one "$p"; done
    echo "launch: down in $dir"
    ;;
start)
    name=${3:?start needs a process name}
    alive "$name" && die "$name is running"
    start_one "$name"
    [ "$name" = anvil ] && wait_rpc || wait_health "$name" "$(port_of "$name")"
    ;;
stop)
    name=${3:?stop needs a process name}
    stop_one "$name" "${4:-TERM}"
    ;;
*)
    die "unknown command $cmd (up, down, start, stop)"
    ;;
esac
