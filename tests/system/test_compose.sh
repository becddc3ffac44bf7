#!/bin/sh
# test_compose.sh: compose/docker-compose.yml is a valid compose file (Debian's docker-compose
# `config`, which needs no engine) with the cluster's shape: one service per actor and per
# identity, and the `cli` one; the image built by one service only (one build for every service);
# executors scalable (no fixed name or host port); a health check on every long-running service;
# RocksDB, journals and the chain's state on volumes; the bisectors reading the models directory;
# the identities' roles and the submitter's fault setting in their environment. And a broken file
# is refused, so the check can fail. The whole deployment, run for real: test_compose_cluster.sh.
set -eu
dc=$1
file=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
fail() { echo "test_compose: $*" >&2; exit 1; }
cd "$(dirname "$file")"
"$dc" -f "$file" config -q || fail "docker-compose config refused $file"
services=$("$dc" -f "$file" config --services | sort | tr '\n' ' ')
want="anvil bisector-submitter bisector-validator bus chainwatch-submitter chainwatch-validator cli deploy executor keys storage vmjudge "
[ "$services" = "$want" ] || fail "services are '$services', expected '$want'"
full=$("$dc" -f "$file" config)
# per service: its block of the normalized output
block() { echo "$full" | awk -v s="  $1:" '$0 == s {on = 1; next} /^  [a-z]/ {on = 0} on'; }
for s in anvil bus storage executor vmjudge chainwatch-validator chainwatch-submitter bisector-validator bisector-submitter; do
    block "$s" | grep -q 'healthcheck:' || fail "$s has no health check"
    block "$s" | grep -q '^    build:' && fail "$s builds the image too: one build (keys) serves every service"
done
block keys | grep -q '^    build:' || fail "no service builds the image"
block executor | grep -q 'container_name:' && fail "executor has a fixed name: it cannot be scaled"
block executor | grep -q 'published:' && fail "executor publishes a host port: it cannot be scaled"
block storage | grep -q 'storage-db:/data' || fail "storage's RocksDB is not on a volume"
block chainwatch-validator | grep -q 'chainwatch-validator:/data' || fail "chainwatch's journal is not on a volume"
block anvil | grep -q 'anvil:/data' || fail "the chain's state is not on a volume"
for id in validator submitter; do
    block "bisector-$id" | grep -q ':/models:ro' || fail "bisector-$id does not read the models directory"
done
block bisector-submitter | grep -q 'OPML_FAULT' || fail "the submitter's fault setting is not in its environment"
block bisector-submitter | grep -q "OPML_BISECTOR_VALIDATE: '0'" || fail "the submitter also validates"
block bisector-validator | grep -q "OPML_BISECTOR_SUBMIT: '0'" || fail "the validator also submits"
block cli | grep -q 'profiles:' || fail "cli starts with the cluster (it is run on demand)"
# a broken copy is refused
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp opml.env "$tmp/"
sed 's/^services:/servics:/' "$file" >"$tmp/broken.yml"
if "$dc" -f "$tmp/broken.yml" config -q 2>/dev/null; then fail "a broken file was accepted"; fi
echo "test_compose: ok ($(echo "$services" | wc -w) services)"
