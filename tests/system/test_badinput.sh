#!/bin/sh
# test_badinput.sh: the system's commands and the bisector refuse bad input with a clear message
# and an ordinary exit status (never a crash: no status above 128, no sanitizer report).
#   test_badinput.sh BUILD_DIR
set -u
build=$1
opml=$build/cli/opml
bis=$build/bisector/opml-bisector
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
# expect STATUS TEXT CMD...: the command exits with STATUS and its stderr contains TEXT
expect() {
    want=$1 text=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ] || ! grep -qF "$text" "$tmp/err" || grep -q "Sanitizer" "$tmp/err"; then
        echo "test_badinput: '$*' exited $got (want $want), stderr: $(head -c 400 "$tmp/err")" >&2
        fails=$((fails + 1))
    fi
}
printf 'not a model' >"$tmp/bad.opml"
mkdir -p "$tmp/cluster"
expect 1 "cannot read" "$opml" register "$tmp/missing.opml" --cluster "$tmp/cluster"
expect 1 "" "$opml" register "$tmp/bad.opml" --cluster "$tmp/cluster"
expect 2 "out of range" "$opml" register "$tmp/bad.opml" --k 1
expect 2 "usage" "$opml" register
expect 2 "usage" "$opml" request --model-id 1
expect 2 "usage" "$opml" request --model-id 0 --model x --idx y
expect 1 "cluster.env has no" "$opml" status --cluster "$tmp/cluster"
expect 2 "positive number" "$opml" status --task x
expect 2 "usage" "$opml" demo --bogus
printf 'OPML_RPC_URL=http://127.0.0.1:1\nOPML_KEYS=%s\nOPML_ARTIFACTS=%s\nOPML_CHAIN_ID=31337\nOPML_REGISTRY=0xzz\n' "$tmp" "$tmp" >"$tmp/cluster/cluster.env"
expect 1 "not an address" "$opml" status --cluster "$tmp/cluster"
# the bisector: each bad setting is named
k="--key_file $tmp/b.key"
# shellcheck disable=SC2086
expect 2 "fault setting" "$bis" $k --fault lie --address 0x0000000000000000000000000000000000000001
# shellcheck disable=SC2086
expect 2 "option address" "$bis" $k --address nope
# shellcheck disable=SC2086
expect 2 "option oracle" "$bis" $k --address 0x0000000000000000000000000000000000000001
# shellcheck disable=SC2086
expect 2 "option chainwatch is required" "$bis" $k --address 0x0000000000000000000000000000000000000001 \
    --oracle 0x0000000000000000000000000000000000000002 --game 0x0000000000000000000000000000000000000003
# shellcheck disable=SC2086
expect 2 "submit" "$bis" $k --submit 7
if [ -d "$build/chainwatch/contracts-out" ]; then
    # shellcheck disable=SC2086
    expect 2 "model $tmp/bad.opml" "$bis" $k --address 0x0000000000000000000000000000000000000001 \
        --oracle 0x0000000000000000000000000000000000000002 --game 0x0000000000000000000000000000000000000003 \
        --chainwatch x --bus_events x --work x --storage x --artifacts "$build/chainwatch/contracts-out" --model "$tmp/bad.opml"
fi
[ "$fails" = 0 ] || exit 1
echo "test_badinput: ok"
