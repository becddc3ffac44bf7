#!/bin/sh
# entrypoint.sh: how every opml container starts (compose/docker-compose.yml). One argument names
# the service; the rest of the configuration is the environment (compose/opml.env): the actors read
# OPML_<OPTION> themselves (docs/runtime.md), this script only adds what exists at run time, the
# peers' CURVE keys (KEYHEX@endpoint), read from the shared `keys` volume, and the model files of
# the `models` mount.
#
#   keys                 make every identity's key (once; kept on later runs) and the allow-list
#   deploy               deploy the contracts (once per chain), fund the identities and the client
#                        on a development chain, write $OPML_KEYS/contracts.env
#   anvil                the local chain (its state in /data, kept across restarts)
#   bus | storage | vmjudge | executor
#   chainwatch ID | bisector ID        the actors of identity ID (validator, submitter, ...)
#   cli ARGS...          `opml ARGS...` on this cluster (its cluster.env, the `client` key);
#                        `cli sh -c SCRIPT` runs a shell with the same environment
#   health               ask this container's actor for its health (the healthcheck)
#   health-rpc           ask the chain node for its chain id (anvil's healthcheck)
set -eu

KEYS=${OPML_KEYS:-/keys}
BIN=${OPML_BIN:-/opt/opml/bin}
SHARE=${OPML_SHARE:-/opt/opml/share}
SLOTS=${OPML_EXECUTOR_SLOTS:-8}
IDENTITIES=${OPML_IDENTITIES:-validator submitter}
MODELS=${OPML_MODELS_DIR:-/models}
BUS_HOST=${OPML_BUS_HOST:-bus}
STORAGE_HOST=${OPML_STORAGE_HOST:-storage}
VMJUDGE_HOST=${OPML_VMJUDGE_HOST:-vmjudge}
RPC_URL=${OPML_RPC_URL:-http://anvil:8545}

. "${OPML_LIB:-/opt/opml/lib.sh}"

# Common flags: identity, allow-list, the bus's event input.
common() {
    echo "--key_file $KEYS/$1.key --allow_file $KEYS/allow --bus_pub $(peer bus "tcp://$BUS_HOST:7101")"
}
# The actor in this container records who it is (key name = its listen endpoint) for `health`.
self() { echo "$1=tcp://127.0.0.1:$2" >/tmp/opml-self; }
contracts() {
    [ -f "$KEYS/contracts.env" ] || die "no $KEYS/contracts.env: has the deploy service run?"
    . "$KEYS/contracts.env"
}
rpc() { # METHOD PARAMS_JSON: the node's reply
    curl -sf -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC_URL"
}
# The .opml files of the models mount, comma-separated (the bisector's --model).
models() { find "$MODELS" -maxdepth 1 -name '*.opml' 2>/dev/null | sort | paste -sd, -; }

service=${1:-}
[ -n "$service" ] || die "usage: entrypoint.sh SERVICE [ARGS]"
shift
case "$service" in
keys)
    make_keys "$SLOTS" "$IDENTITIES"
    echo "keys: $(wc -l <"$KEYS/allow") identities allow-listed in $KEYS/allow"
    for id in $IDENTITIES; do echo "keys: identity $id pays from $(address "chainwatch-$id")"; done
    ;;
deploy)
    if [ -f "$KEYS/contracts.env" ]; then
        . "$KEYS/contracts.env"
        # the chain must still be the one deployed to (anvil keeps its state in its volume)
        rpc eth_getCode "[\"$OPML_GAME\",\"latest\"]" | grep -q '"result":"0x[0-9a-f]' ||
            die "deploy: the chain has no DisputeGame at $OPML_GAME (a new chain with the old volumes: docker-compose down -v)"
        echo "deploy: already done"
        cat "$KEYS/contracts.env"
        exit 0
    fi
    funded="$(address client)"
    for id in $IDENTITIES; do funded="$funded $(address "chainwatch-$id")"; done
    # shellcheck disable=SC2086 # one argument per address
    "${OPML_DEPLOY:-/opt/opml/deploy.sh}" "$BIN" "$RPC_URL" "$SHARE/contracts" "$KEYS/deployer.key" "$KEYS/contracts.env.tmp" $funded
    mv "$KEYS/contracts.env.tmp" "$KEYS/contracts.env"
    cat "$KEYS/contracts.env"
    ;;
anvil)
    exec "$BIN/anvil" --host 0.0.0.0 --port 8545 --chain-id "${OPML_CHAIN_ID:-31337}" \
        --block-time "${OPML_BLOCK_TIME:-1}" --state /data/anvil-state.json --silent
    ;;
health-rpc)
    RPC_URL=http://127.0.0.1:8545 # this container's own node
    rpc eth_chainId "[]" >/dev/null
    ;;
health)
    [ -f /tmp/opml-self ] || die "the actor has not started"
    me=$(cat /tmp/opml-self)
    exec "$BIN/opml-health" --key_file "$KEYS/health.key" --peer "$(peer "${me%%=*}" "${me#*=}")" \
        --timeout_ms 3000 --retries 0 >/dev/null
    ;;
cli)
    # cluster.env as compose/launch.sh writes it, with the service names as hosts (once deployed:
    # `cli convert` and the like need no cluster)
    cluster=$KEYS/cli
    mkdir -p "$cluster/data"
    [ -f "$KEYS/contracts.env" ] && {
        cat "$KEYS/contracts.env"
        echo "OPML_RPC_URL=$RPC_URL"
        echo "OPML_CHAIN_ID=${OPML_CHAIN_ID:-31337}"
        echo "OPML_KEYS=$KEYS"
        echo "OPML_ARTIFACTS=$SHARE/contracts"
        echo "OPML_BUS_EVENTS=$(peer bus "tcp://$BUS_HOST:7102")"
        echo "OPML_BUS_WORK=$(peer bus "tcp://$BUS_HOST:7103")"
        echo "OPML_STORAGE=$(peer storage "tcp://$STORAGE_HOST:7200")"
        echo "OPML_VMJUDGE=$(peer vmjudge "tcp://$VMJUDGE_HOST:7400")"
        for id in $IDENTITIES; do
            echo "OPML_CHAINWATCH_$id=$(peer "chainwatch-$id" "tcp://chainwatch-$id:7300")"
            echo "OPML_ADDRESS_$id=$(address "chainwatch-$id")"
            echo "OPML_BISECTOR_$id=$(peer "bisector-$id" "tcp://bisector-$id:7500")"
        done
    } >"$cluster/cluster.env"
    export OPML_CLUSTER="$cluster"
    if [ "${1:-}" = sh ]; then shift; exec sh "$@"; fi
    exec "$BIN/opml" "$@"
    ;;
bus)
    self bus 7103
    exec "$BIN/opml-bus" --key_file "$KEYS/bus.key" --allow_file "$KEYS/allow" \
        --events_in tcp://0.0.0.0:7101 --events_out tcp://0.0.0.0:7102 --work tcp://0.0.0.0:7103 \
        --workers tcp://0.0.0.0:7104
    ;;
storage)
    self storage 7200
    # shellcheck disable=SC2046 # common's flags are separate words
    exec "$BIN/opml-storage" $(common storage) --listen tcp://0.0.0.0:7200 --db /data/storage.db
    ;;
executor)
    # Take the first free key slot; the lock (fd 9) is held for the life of the process, and
    # released by the kernel when it dies, however it dies.
    i=1
    while [ "$i" -le "$SLOTS" ]; do
        exec 9>"$KEYS/executor-$i.lock"
        if flock -n 9; then break; fi
        exec 9>&-
        i=$((i + 1))
    done
    [ "$i" -le "$SLOTS" ] || die "all $SLOTS executor slots are taken: raise OPML_EXECUTOR_SLOTS and rerun keys"
    echo "executor: key slot executor-$i"
    self "executor-$i" 7600
    # shellcheck disable=SC2046
    exec "$BIN/opml-executor" $(common "executor-$i") --listen tcp://0.0.0.0:7600 \
        --bus_work "$(peer bus "tcp://$BUS_HOST:7104")" --storage "$(peer storage "tcp://$STORAGE_HOST:7200")"
    ;;
vmjudge)
    self vmjudge 7400
    # shellcheck disable=SC2046
    exec "$BIN/opml-vmjudge" $(common vmjudge) --listen tcp://0.0.0.0:7400 \
        --bus_work "$(peer bus "tcp://$BUS_HOST:7104")" --storage "$(peer storage "tcp://$STORAGE_HOST:7200")"
    ;;
chainwatch)
    id=${1:?chainwatch needs an identity}
    contracts
    self "chainwatch-$id" 7300
    # shellcheck disable=SC2046
    exec "$BIN/opml-chainwatch" $(common "chainwatch-$id") --listen tcp://0.0.0.0:7300 \
        --storage "$(peer storage "tcp://$STORAGE_HOST:7200")" --rpc_url "$RPC_URL" \
        --artifacts "$SHARE/contracts" --journal "/data/journal.json" \
        --watch "ModelRegistry@$OPML_REGISTRY,InferenceOracle@$OPML_ORACLE,DisputeGame@$OPML_GAME" \
        --allow_senders "$(address "bisector-$id")"
    ;;
bisector)
    id=${1:?bisector needs an identity}
    contracts
    served=$(models)
    [ -n "$served" ] || echo "bisector-$id: no .opml file in $MODELS: this identity serves no model" >&2
    self "bisector-$id" 7500
    # shellcheck disable=SC2046
    exec "$BIN/opml-bisector" $(common "bisector-$id") --listen tcp://0.0.0.0:7500 \
        --chainwatch "$(peer "chainwatch-$id" "tcp://chainwatch-$id:7300")" \
        --bus_events "$(peer bus "tcp://$BUS_HOST:7102")" --work "$(peer bus "tcp://$BUS_HOST:7103")" \
        --storage "$(peer storage "tcp://$STORAGE_HOST:7200")" --model "$served" \
        --address "$(address "chainwatch-$id")" --artifacts "$SHARE/contracts" \
        --registry "$OPML_REGISTRY" --oracle "$OPML_ORACLE" --game "$OPML_GAME"
    ;;
*)
    die "unknown service $service"
    ;;
esac
