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
expect 2 "--k '1' is not a whole number from 2 to 64" "$opml" register "$t/bad.opml" --k 1
expect 2 "usage" "$opml" register
expect 2 "usage" "$opml" register "$t/bad.opml" --no-steps-check   # unchecked needs a --steps-log2
# every number flag (cli/cli_num.h): a sign, trailing characters, nothing, past the range or past
# 64 bits is refused with the flag named, exit 2, before any file is read or anything sent (the
# cluster here has no cluster.env: reaching it would fail otherwise)
for v in -1 12x "" " 7" +7 0x10 63 99999999999999999999999; do
    expect 2 "register: --steps-log2 '$v' is not a whole number from 1 to 62" \
        "$opml" register "$t/bad.opml" --cluster "$t/cluster" --steps-log2 "$v"
done
for v in -1 12x "" 4294967296 18446744073709551616; do
    expect 2 "register: --window '$v' is not a whole number from 1 to 4294967295" \
        "$opml" register "$t/bad.opml" --cluster "$t/cluster" --window "$v"
    expect 2 "register: --clock '$v' is not a whole number" "$opml" register "$t/bad.opml" --clock "$v"
done
for v in -1 0 12x "" 9223372036854775808 99999999999999999999; do
    expect 2 "request: --model-id '$v' is not a whole number from 1 to 9223372036854775807" \
        "$opml" request --cluster "$t/cluster" --model-id "$v" --model "$t/bad.opml" --idx y#0
done
for v in -1 0 12x "" 4294967296 18446744073709551616; do
    expect 2 "request: --timeout '$v' is not a whole number from 1 to 4294967295" \
        "$opml" request --cluster "$t/cluster" --model-id 1 --model "$t/bad.opml" --idx y#0 --wait --timeout "$v"
done
expect 2 "usage" "$opml" request --model-id 1
expect 1 "cluster.env has no" "$opml" status --cluster "$t/cluster"
expect 2 "status: --task 'x' is not a whole number" "$opml" status --task x
expect 2 "status: --game '' is not a whole number" "$opml" status --game ""
expect 2 "usage" "$opml" demo --bogus
expect 2 "demo: --window '-1' is not a whole number" "$opml" demo --window -1   # a negative number is not a huge one
expect 2 "demo: --steps-log2 '63' is not a whole number from 1 to 62" "$opml" demo --steps-log2 63 # uint64 steps
expect 2 "demo: --new '4294967296' is not a whole number" "$opml" demo --new 4294967296 # more than 32 bits
expect 2 "vm-run: --node '1x' is not a whole number" "$opml" vm-run "$t/bad.opml" x --node 1x
expect 2 "eval: --limit '-3' is not a whole number" "$opml" eval "$t/bad.opml" a b --limit -3
expect 2 "convert: --batch '0' is not a whole number from 1 to 65536" "$opml" convert x.onnx -o y --batch 0
printf 'OPML_RPC_URL=http://127.0.0.1:1\nOPML_KEYS=%s\nOPML_ARTIFACTS=%s\nOPML_CHAIN_ID=31337\nOPML_REGISTRY=0xzz\n' "$t" "$t" >"$t/cluster/cluster.env"
expect 1 "not an address" "$opml" status --cluster "$t/cluster"
a=0x0000000000000000000000000000000000000001
printf 'OPML_RPC_URL=http://127.0.0.1:1\nOPML_KEYS=%s\nOPML_ARTIFACTS=%s\nOPML_CHAIN_ID=-1\nOPML_REGISTRY=%s\nOPML_ORACLE=%s\nOPML_GAME=%s\n' \
    "$t" "$t" "$a" "$a" "$a" >"$t/cluster/cluster.env"
expect 1 "cluster.env's OPML_CHAIN_ID '-1' is not a whole number" "$opml" status --cluster "$t/cluster"
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
