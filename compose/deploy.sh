#!/bin/sh
# deploy.sh: puts the opml contracts on a chain and writes their addresses as an environment file
# (what chainwatch's --watch and the bisector's options are built from). Used by the compose
# `deploy` service and by the local launcher (launch.sh).
#
#   deploy.sh BIN RPC_URL ARTIFACTS KEY_FILE OUT [ADDRESS...]
#
# BIN is the directory of the opml binaries (`opml chain` signs with KEY_FILE, `opml-health
# --identity` tells its address); ARTIFACTS is forge's
# output directory (<Name>.sol/<Name>.json). Order: ModelRegistry(bounds), InferenceOracle(registry),
# RiscvStep, DisputeGame(registry, oracle, riscv), then oracle.bindGame(game). On a development
# chain (anvil: OPML_DEV_CHAIN=1, the default) the deployer and every ADDRESS are given
# OPML_FUND_WEI (a hex quantity, default 10^22 wei) with anvil_setBalance first; on any other
# chain fund them yourself. OUT gets OPML_REGISTRY, OPML_ORACLE, OPML_RISCV, OPML_GAME (0x addresses).
#
# The registry's bounds (ModelRegistry.Bounds, docs/game.md "Model parameters": minWindow,
# maxWindow, minMoveTime, maxClock in seconds, minSubmitterBond, minChallengerBond in wei,
# maxInputBytes, maxOutputBytes) are OPML_REGISTRY_BOUNDS, a JSON array in that order; by default
# the production values on a real chain, and on a development chain the test values, which admit
# the seconds-long windows and clocks the system tests use.
set -eu
[ $# -ge 5 ] || { echo "usage: deploy.sh BIN RPC_URL ARTIFACTS KEY_FILE OUT [ADDRESS...]" >&2; exit 2; }
opml=$1/opml health=$1/opml-health rpc=$2 art=$3 key=$4 out=$5
shift 5

rpc_call() { # METHOD PARAMS_JSON -> the reply (fails on a JSON-RPC error)
    reply=$(curl -sf -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$rpc") ||
        { echo "deploy: $rpc does not answer $1" >&2; return 1; }
    case $reply in *'"error"'*) echo "deploy: $1: $reply" >&2; return 1 ;; esac
    echo "$reply"
}
fund() {
    [ "${OPML_DEV_CHAIN:-1}" = 1 ] || return 0
    wei=${OPML_FUND_WEI:-0x21e19e0c9bab2400000} # hex quantity; default 10^22 wei
    rpc_call anvil_setBalance "[\"$1\",\"$wei\"]" >/dev/null
}
# The nonce journal belongs to this deployment (a key reused on a fresh chain starts at nonce 0).
journal=$out.journal.json
rm -f "$journal"
deploy() { # NAME [ARGS_JSON] -> address
    r=$("$opml" chain deploy --rpc "$rpc" --key "$key" --journal "$journal" --artifact "$art/$1.sol/$1.json" --args "${2:-[]}") ||
        { echo "deploy: $1 failed" >&2; return 1; }
    a=$(echo "$r" | jq -r '.contract // empty')
    [ -n "$a" ] || { echo "deploy: $1: no contract address in $r" >&2; return 1; }
    echo "$a"
}

me=$("$health" --identity --key_file "$key" | sed -n 's/^address //p')
[ -n "$me" ] || { echo "deploy: cannot read the key $key" >&2; exit 1; }
fund "$me"
for a in "$@"; do fund "$a"; done

# production: 1 h windows (at most 30 days), 5 min per move, clocks of at most 30 days, bonds of at
# least 0.2 ETH (submitter) and 0.1 ETH (challenger), 128 KiB of inputs, 64 KiB of output
prod_bounds='[3600, 2592000, 300, 2592000, "200000000000000000", "100000000000000000", 131072, 65536]'
# development: any window and move time from 1 s, any nonzero bond, 1 MiB of inputs, 128 KiB of output
dev_bounds='[1, 2592000, 1, 2592000, 1, 1, 1048576, 131072]'
if [ "${OPML_DEV_CHAIN:-1}" = 1 ]; then bounds=${OPML_REGISTRY_BOUNDS:-$dev_bounds}; else bounds=${OPML_REGISTRY_BOUNDS:-$prod_bounds}; fi
registry=$(deploy ModelRegistry "[$bounds]")
oracle=$(deploy InferenceOracle "[\"$registry\"]")
riscv=$(deploy RiscvStep)
game=$(deploy DisputeGame "[\"$registry\",\"$oracle\",\"$riscv\"]")
"$opml" chain send --rpc "$rpc" --key "$key" --journal "$journal" --artifact "$art/InferenceOracle.sol/InferenceOracle.json" \
    --to "$oracle" --fn bindGame --args "[\"$game\"]" >/dev/null ||
    { echo "deploy: bindGame failed" >&2; exit 1; }
{
    echo "OPML_REGISTRY=$registry"
    echo "OPML_ORACLE=$oracle"
    echo "OPML_RISCV=$riscv"
    echo "OPML_GAME=$game"
} >"$out"
rm -f "$journal"
