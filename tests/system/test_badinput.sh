#!/bin/sh
# test_badinput.sh: the system's commands and the bisector refuse bad input with a clear message
# and an ordinary exit status (never a crash: no status above 128, no sanitizer report).
#   test_badinput.sh BUILD_DIR
set -u
build=$1
opml=$build/cli/opml
bis=$build/bisector/opml-bisector
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/expect.sh
. "$(dirname "$0")/../../tests/lib/expect.sh"
printf 'not a model' >"$t/bad.opml"
mkdir -p "$t/cluster"
expect 1 "cannot read" "$opml" register "$t/missing.opml" --cluster "$t/cluster"
expect 1 "" "$opml" register "$t/bad.opml" --cluster "$t/cluster"
expect 2 "out of range" "$opml" register "$t/bad.opml" --k 1
expect 2 "usage" "$opml" register
expect 2 "usage" "$opml" request --model-id 1
expect 2 "usage" "$opml" request --model-id 0 --model x --idx y
expect 1 "cluster.env has no" "$opml" status --cluster "$t/cluster"
expect 2 "positive number" "$opml" status --task x
expect 2 "usage" "$opml" demo --bogus
expect 2 "usage" "$opml" demo --window -1          # a negative number is not a huge one
expect 2 "usage" "$opml" demo --steps-log2 63     # VM steps are uint64 in the game
expect 2 "usage" "$opml" demo --new 4294967296     # more than 32 bits
printf 'OPML_RPC_URL=http://127.0.0.1:1\nOPML_KEYS=%s\nOPML_ARTIFACTS=%s\nOPML_CHAIN_ID=31337\nOPML_REGISTRY=0xzz\n' "$t" "$t" >"$t/cluster/cluster.env"
expect 1 "not an address" "$opml" status --cluster "$t/cluster"
# the bisector: each bad setting is named
k="--key_file $t/b.key"
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
    expect 2 "model $t/bad.opml" "$bis" $k --address 0x0000000000000000000000000000000000000001 \
        --oracle 0x0000000000000000000000000000000000000002 --game 0x0000000000000000000000000000000000000003 \
        --chainwatch x --bus_events x --work x --storage x --artifacts "$build/chainwatch/contracts-out" --model "$t/bad.opml"
fi
[ "$fails" = 0 ] || exit 1
echo "test_badinput: ok"
