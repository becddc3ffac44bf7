#!/bin/sh
# input.sh: INPUT of `opml infer` and `opml vm-run` (cli/input.c, one reader for both): every form
# of bad INPUT ends with the same clear message from both commands and exit 1, never a crash
# (status >= 128, a sanitizer report); good INPUT of each form gives both commands the same values,
# for a float32 input (fashion_mlp) and an int64 one (fortunes_textcls: raw token ids, IDX items
# of int32 or unsigned bytes as integers).
#   input.sh OPML MODELS_DIR FASHION_MNIST_DIR
set -u
opml=$1 models=$2 data=$3
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/expect.sh
. "$(dirname "$0")/../../tests/lib/expect.sh"
# both MESSAGE INPUT: infer and vm-run refuse INPUT with exit 1 (not 0, not a usage error, not a
# signal) and the same MESSAGE after their names
both() {
  expect 1 "opml infer: $1" "$opml" infer "$t/mlp.opml" "$2"
  expect 1 "opml vm-run: $1" "$opml" vm-run "$t/mlp.opml" "$2" --node 0
}
images="$data/t10k-images-idx3-ubyte.gz"
"$opml" convert "$models/fashion_mlp.onnx" -o "$t/mlp.opml" >/dev/null || { echo "cannot convert the model"; exit 1; }

# malformed specs
for spec in "idx:" "idx:$images#" "idx:$images#x" "idx:$images#-1" "idx:$images#5-3" "idx:$images#3-" \
            "idx:$images#3x" "idx:$images#1-2-3" "idx:$images#99999999999999999999" "idx:$images#0-99999999999999999999"; do
  both "bad input '$spec' (want a raw file, idx:PATH, idx:PATH#N or idx:PATH#A-B)" "$spec"
done
# IDX items out of range, an IDX file missing or not one, items that are not the model's input
both "$images has 10000 items; index 10000 is out of range" "idx:$images#10000"
both "$images has 10000 items; index 10005 is out of range" "idx:$images#9990-10005"
both "$t/missing.gz: cannot open" "idx:$t/missing.gz#0"
printf 'not idx' >"$t/junk.idx"
both "$t/junk.idx: not an IDX file of unsigned bytes or int32" "idx:$t/junk.idx#0"
both "$data/t10k-labels-idx1-ubyte.gz: items of 1 values do not fill the model input of 784 values" "idx:$data/t10k-labels-idx1-ubyte.gz#0"
# raw files: the wrong size, empty, missing, not a regular file
head -c 3132 /dev/zero >"$t/short.f32"
: >"$t/empty.f32"
both "$t/short.f32: 3132 bytes is not a multiple of the model input (3136 bytes = 784 float32)" "$t/short.f32"
both "$t/empty.f32: 0 bytes is not a multiple of the model input" "$t/empty.f32"
both "$t/missing.f32: No such file or directory" "$t/missing.f32"
both "$t: not a regular file" "$t"
both "/dev/zero: not a regular file" /dev/zero
# vm-run runs one model input: two in a file or an IDX range of two are refused, one is not
head -c 3136 /dev/zero >"$t/zero.f32"
cat "$t/zero.f32" "$t/zero.f32" >"$t/two.f32"
expect 1 "opml vm-run: $t/two.f32: file too large (6272 bytes, at most 3136)" "$opml" vm-run "$t/mlp.opml" "$t/two.f32" --node 0
expect 1 "opml vm-run: 'idx:$images#3-4' is 2 model inputs; this command takes at most 1" \
  "$opml" vm-run "$t/mlp.opml" "idx:$images#3-4" --node 0

# good input: each form gives infer and vm-run the same values (node 0's output root), and infer
# labels each result with what it read
root() { sed -n 's/.*"node_output_roots":\["\(0x[0-9a-f]*\)".*/\1/p'; }
for spec in "idx:$images#7" "idx:$images#7-7" "$t/zero.f32"; do
  want=$("$opml" infer "$t/mlp.opml" "$spec" --json | root)
  got=$("$opml" vm-run "$t/mlp.opml" "$spec" --node 0 --json | sed -n 's/.*"output_root":"\(0x[0-9a-f]*\)".*/\1/p')
  if [ -z "$want" ] || [ "$want" != "$got" ]; then bad "$spec: infer gives node 0 root '$want', vm-run '$got'"; fi
done
"$opml" infer "$t/mlp.opml" "idx:$images#3-5" --json >"$t/range.json" || bad "infer of a range"
if [ "$(grep -c '"input":"idx:' "$t/range.json")" != 3 ] || ! grep -q "\"input\":\"idx:$images#5\"" "$t/range.json"; then
  bad "range labels: $(cut -c1-120 "$t/range.json")"
fi
"$opml" infer "$t/mlp.opml" "$t/two.f32" --json >"$t/two.json" || bad "infer of two raw inputs"
grep -q "\"input\":\"$t/two.f32@1\"" "$t/two.json" || bad "raw labels: $(cut -c1-120 "$t/two.json")"
[ "$("$opml" infer "$t/mlp.opml" "idx:$images#6" --json | root)" != "$(root <"$t/range.json" | head -n 1)" ] ||
  bad "items 6 and 3 give the same root"
# an int64 input: raw token ids (the shipped file: 200 inputs of 64), the wrong size, IDX items
"$opml" convert "$models/fortunes_textcls.onnx" -o "$t/txt.opml" >/dev/null || { echo "cannot convert the text model"; exit 1; }
ids="$models/fortunes_textcls_test_inputs.i64"
txt() { # MESSAGE INPUT
  expect 1 "opml infer: $1" "$opml" infer "$t/txt.opml" "$2"
  expect 1 "opml vm-run: $1" "$opml" vm-run "$t/txt.opml" "$2" --node 0
}
[ "$("$opml" infer "$t/txt.opml" "$ids" --json | grep -c '"output":\[')" = 200 ] || bad "200 raw int64 inputs"
head -c 500 "$ids" >"$t/short.i64"
txt "$t/short.i64: 500 bytes is not a multiple of the model input (512 bytes = 64 int64)" "$t/short.i64"
txt "$images: items of 784 values do not fill the model input of 64 values" "idx:$images#0"
# an int32 IDX file [2, 64] of token 7 and the same ids as raw int64: the same values
{ printf '\000\000\014\002\000\000\000\002\000\000\000\100'; i=0; while [ $i -lt 128 ]; do printf '\000\000\000\007'; i=$((i + 1)); done; } >"$t/ids.idx"
{ i=0; while [ $i -lt 64 ]; do printf '\007\000\000\000\000\000\000\000'; i=$((i + 1)); done; } >"$t/sevens.i64"
want=$("$opml" infer "$t/txt.opml" "raw:$t/sevens.i64" --json | root)
for spec in "idx:$t/ids.idx#1" "$t/sevens.i64"; do
  got=$("$opml" vm-run "$t/txt.opml" "$spec" --node 0 --json | sed -n 's/.*"output_root":"\(0x[0-9a-f]*\)".*/\1/p')
  if [ -z "$want" ] || [ "$want" != "$got" ]; then bad "$spec: node 0 root '$got', raw int64 gives '$want'"; fi
done
{ printf '\000\000\014\002\000\000\000\001\000\000\003\020'; head -c 3136 /dev/zero; } >"$t/image.idx"
# every item of an IDX file: one result each (a batch-1 model)
[ "$("$opml" infer "$t/txt.opml" "idx:$t/ids.idx" --json | grep -c '"input":"idx:')" = 2 ] || bad "idx:PATH is not every item"
both "$t/image.idx: int32 items do not feed the model's float32 input (unsigned bytes do)" "idx:$t/image.idx#0"
[ "$fails" = 0 ] || exit 1
echo "input: all checks passed"
