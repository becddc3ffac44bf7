#!/bin/sh
# test_compose_cluster.sh: the compose deployment, for real (issue 17). On a real Docker engine
# (compose/engine.sh installs Debian's and starts it where none runs): the base image from
# Debian's archive where none is present (compose/base-image.sh), the project image built (one for
# every service), `up` with three executors, each on its own key slot; fashion_cnn converted and
# registered through the `cli` container; one honest task finalizes (the validator checked it);
# a second one, where the submitter lies at node 4 (OPML_SUBMITTER_FAULT=node=4@2), is challenged,
# one executor is killed (`docker kill`) during the game, and the game still ends on-chain for the
# validator (GameResolved: challenger won, by the one-step proof) and the honest resubmission
# finalizes; `down -v` leaves no container, network or volume of the project behind.
# Prints how long each part took (the figures of docs/operators.md). Exit 77 (ctest: skipped)
# where no engine can run, with the reason; exit 1 before the engine or any container is touched
# where the shared fashion_cnn.onnx is missing.
#
#   test_compose_cluster.sh              (as root: it may install and start the engine)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
compose=$top/compose
images=/usr/share/datasets/fashion-mnist
onnx=$top/../shared/models
FEE=1000
SKIP=77
say() { echo "test_compose_cluster: $*"; }
now() { date +%s; }
t0=$(now)

# ---- the shared model, before anything starts: Docker would make a missing bind-mount source an
# empty root-owned directory (in ../shared, outside this checkout), so a missing one fails here, as
# the other system tests fail without their shared model ----
[ -f "$onnx/fashion_cnn.onnx" ] || { say "no $onnx/fashion_cnn.onnx (the shared models): nothing started" >&2; exit 1; }

# ---- the engine ----
rc=0
started=$(sh "$compose/engine.sh" 2>/tmp/opml-engine.err) || rc=$?
if [ "$rc" = 3 ]; then
    say "SKIPPED: $(cat /tmp/opml-engine.err)"
    exit $SKIP
fi
[ "$rc" = 0 ] || { cat /tmp/opml-engine.err >&2; say "engine.sh failed ($rc)"; exit 1; }
[ -n "$started" ] && say "engine: $started (compose/engine.sh)"
command -v docker-compose >/dev/null || { say "SKIPPED: no docker-compose (bash scripts/deps.sh)"; exit $SKIP; }

work=$(mktemp -d /tmp/opml-compose.XXXXXX)
project=opmltest$$
# The engine's own client: a newer CLI in front of it on PATH may need the buildx plugin for the
# BuildKit build that compose hands it (docker-compose builds with the `docker` command).
if [ -x /usr/bin/docker ] && [ "$(command -v docker)" != /usr/bin/docker ]; then
    mkdir -p "$work/bin"
    ln -s /usr/bin/docker "$work/bin/docker"
    PATH=$work/bin:$PATH
fi
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
export OPML_IMAGE=opml:test OPML_MODELS=$work/models OPML_SUBMITTER_FAULT=node=4@2
OPML_RPC_PORT=$(sh "$top/tests/system/free_ports.sh")
export OPML_RPC_PORT
dc() { docker-compose -p "$project" -f "$compose/docker-compose.yml" "$@"; }
cli() { dc run --rm -T -v "$images:/datasets:ro" cli "$@"; }
cname() { echo "${project}_$1_1"; } # the container of service $1 (replica 1)
ours() { docker "$1" ls -q --filter "label=com.docker.compose.project=$project" 2>/dev/null || true; }
mkdir -p "$OPML_MODELS"
dump() {
    for s in bisector-validator bisector-submitter chainwatch-validator deploy; do
        echo "--- $s" >&2
        docker logs --tail 25 "$(cname "$s")" >&2 2>&1 || true
    done
}
fail() {
    say "$*" >&2
    dump
    exit 1
}
cleanup() {
    dc --profile cli down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- the images ----
sh "$compose/base-image.sh" debian:12 || fail "no base image"
t_base=$(($(now) - t0))
# an engine that answers but cannot run a container (no cgroups, no namespaces) is no engine
if ! docker run --rm --network none debian:12 true 2>"$work/probe.err"; then
    say "SKIPPED: the engine cannot run a container here: $(cat "$work/probe.err")"
    exit $SKIP
fi
# a TLS-intercepting proxy's certificates, for apt and npm inside the build (compose/Dockerfile)
for c in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$c" ] && ! cmp -s "$c" "$compose/ca-certificates/$(basename "$c")" && cp "$c" "$compose/ca-certificates/"
done
t=$(now)
dc build keys >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "the image did not build"; }
t_build=$(($(now) - t))
say "image built in $t_build s ($(docker image inspect -f '{{.Size}}' "$OPML_IMAGE") bytes)"

# ---- the model, before the bisectors start (they read the models directory then) ----
dc run --rm -T -v "$onnx:/onnx:ro" cli convert /onnx/fashion_cnn.onnx -o /models/fashion_cnn.opml >/dev/null ||
    fail "convert in the cli container failed"

# ---- up, three executors, everything healthy ----
t=$(now)
dc up -d --scale executor=3 >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "up failed"; }
long="anvil bus storage executor_1 executor_2 executor_3 vmjudge chainwatch-validator chainwatch-submitter
      bisector-validator bisector-submitter"
i=0
while :; do
    unhealthy=""
    for s in $long; do
        case $s in executor_*) c=${project}_$s ;; *) c=$(cname "$s") ;; esac
        h=$(docker inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null || echo missing)
        [ "$h" = healthy ] || unhealthy="$unhealthy $s:$h"
    done
    [ -z "$unhealthy" ] && break
    i=$((i + 1))
    [ "$i" -lt 240 ] || fail "not healthy after 120 s:$unhealthy"
    sleep 0.5
done
t_up=$(($(now) - t))
say "up and healthy in $t_up s"
for s in keys deploy; do
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$(cname "$s")")" = 0 ] || fail "the $s one-shot did not exit 0"
done
slots=$(for i in 1 2 3; do docker exec "${project}_executor_$i" cat /tmp/opml-self; done | cut -d= -f1 | sort -u | wc -l)
[ "$slots" = 3 ] || fail "the three executors do not have three key slots"

# ---- register, the honest task ----
cli register /models/fashion_cnn.opml --k 4 --window 8 --clock 60 >"$work/register.json" ||
    fail "register failed: $(cat "$work/register.json")"
t=$(now)
cli request --model-id 1 --model /models/fashion_cnn.opml --idx /datasets/t10k-images-idx3-ubyte.gz#7 \
    --fee "$FEE" --wait --timeout 150 >"$work/honest.json" || fail "the honest task did not finalize: $(cat "$work/honest.json")"
t_honest=$(($(now) - t))
grep -q '"status":"finalized","submission":1' "$work/honest.json" || fail "task 1: $(cat "$work/honest.json")"
docker logs "$(cname bisector-validator)" 2>&1 | grep -q "task 1: submission 1 checked: the output agrees" ||
    fail "the validator did not check task 1"
say "honest task finalized in $t_honest s"

# ---- the dispute, with an executor killed during the game ----
t=$(now)
cli request --model-id 1 --model /models/fashion_cnn.opml --idx /datasets/t10k-images-idx3-ubyte.gz#8 \
    --fee "$FEE" --wait --timeout 300 >"$work/dispute.json" 2>&1 &
request=$!
i=0
until docker logs "$(cname bisector-validator)" 2>&1 | grep -q "select sent (phase 1"; do
    i=$((i + 1))
    [ "$i" -lt 240 ] || fail "no game started within 120 s"
    kill -0 "$request" 2>/dev/null || fail "the request ended before the game: $(cat "$work/dispute.json")"
    sleep 0.5
done
docker kill "${project}_executor_1" >/dev/null || fail "docker kill failed"
t_kill=$(($(now) - t))
wait "$request" || fail "the lie was not rejected and the task not finalized: $(cat "$work/dispute.json")"
t_dispute=$(($(now) - t))
grep -q '"status":"finalized","submission":2' "$work/dispute.json" || fail "task 2: $(cat "$work/dispute.json")"
[ "$(docker inspect -f '{{.State.Running}}' "${project}_executor_1")" = false ] || fail "the killed executor runs again"
vlog=$(docker logs "$(cname bisector-validator)" 2>&1)
echo "$vlog" | grep -q "task 2: submission 1 is WRONG" || fail "the validator did not find the lie"
echo "$vlog" | grep -q "step sent (phase 2" || fail "no one-step proof was sent"
echo "$vlog" | grep -q "resolved, we WON" || fail "the validator did not win"
docker logs "$(cname bisector-submitter)" 2>&1 | grep -q "LYING (fault injection) at node 4" || fail "the submitter did not lie"
# the verdict, from the chain itself: GameResolved(game 1, winner = the validator, challengerWon)
eval "$(docker exec "$(cname bisector-validator)" cat /keys/contracts.env)"
validator=$(docker exec "$(cname bisector-validator)" /opt/opml/bin/opml-health --identity --key_file /keys/chainwatch-validator.key |
    sed -n 's/^address //p')
topic=$("$top/tools/eth/node_modules/.bin/cast" keccak "GameResolved(uint256,address,bool,uint256)")
logs=$(curl -sf -X POST -H 'Content-Type: application/json' --data \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getLogs\",\"params\":[{\"fromBlock\":\"0x0\",\"address\":\"$OPML_GAME\",\"topics\":[\"$topic\"]}]}" \
    "http://127.0.0.1:$OPML_RPC_PORT") || fail "the chain does not answer on port $OPML_RPC_PORT"
[ "$(echo "$logs" | jq '.result | length')" = 1 ] || fail "expected one GameResolved: $logs"
winner=$(echo "$logs" | jq -r '.result[0].topics[2]')
won=$(echo "$logs" | jq -r '.result[0].data' | cut -c3-66)
[ "$winner" = "0x000000000000000000000000$(echo "${validator#0x}" | tr 'A-F' 'a-f')" ] || fail "GameResolved names $winner, not the validator $validator"
[ "$won" = "$(printf '%064d' 1)" ] || fail "GameResolved: the challenger did not win"
say "dispute: the lie rejected on-chain and the resubmission finalized in $t_dispute s (executor_1 killed at $t_kill s)"

# ---- down: nothing of the project is left ----
# every volume any of its containers mounts, named or anonymous (an anonymous one has no label)
mounted=$(docker ps -aq --filter "label=com.docker.compose.project=$project" |
    xargs docker inspect -f '{{range .Mounts}}{{if .Name}}{{.Name}} {{end}}{{end}}')
t=$(now)
dc --profile cli down -v --remove-orphans >"$work/down.log" 2>&1 || { cat "$work/down.log" >&2; fail "down failed"; }
t_down=$(($(now) - t))
left="$(docker ps -aq --filter "label=com.docker.compose.project=$project")$(ours network)$(ours volume)"
for v in $mounted; do docker volume inspect "$v" >/dev/null 2>&1 && left="$left $v"; done
[ -z "$left" ] || fail "down -v left: $left"
say "ok: base image $t_base s, build $t_build s, up-to-healthy $t_up s, honest task $t_honest s, dispute $t_dispute s, down $t_down s, total $(($(now) - t0)) s"
