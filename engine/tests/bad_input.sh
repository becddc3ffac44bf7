#!/bin/sh
# Bad input through the real `opml` binary: a truncated and a corrupt ONNX file, a model file that
# is not one, a raw input of the wrong size, an IDX index out of range, a malformed INPUT, an
# unknown backend, a model whose output is Q8_0 blocks (infer and eval divided by its element size 0). Each must end with a clear message on stderr and exit 1, never a crash (exit
# codes >= 128 are signals) or a sanitizer report.
set -u
opml=$1 models=$2 data=$3
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/expect.sh
. "$(dirname "$0")/../../tests/lib/expect.sh"
# shellcheck source-path=SCRIPTDIR source=kvappend_model.sh
. "$(dirname "$0")/kvappend_model.sh"
"$opml" convert "$models/fashion_cnn.onnx" -o "$t/cnn.opml" >/dev/null || { echo "convert failed"; exit 1; }
head -c 100000 "$models/fashion_cnn.onnx" >"$t/trunc.onnx"
expect 1 "not a valid ONNX" "$opml" convert "$t/trunc.onnx" -o "$t/x.opml"
head -c 5000 /dev/urandom >"$t/garbage.onnx"
expect 1 "garbage.onnx" "$opml" convert "$t/garbage.onnx" -o "$t/x.opml"
expect 1 "cannot read" "$opml" convert "$t/none.onnx" -o "$t/x.opml"
expect 1 "Is a directory" "$opml" convert "$t" -o "$t/x.opml"
expect 1 "Is a directory" "$opml" infer "$t" "idx:$data/t10k-images-idx3-ubyte.gz#0"
[ -e "$t/x.opml" ] && bad "an output file was left behind"
head -c 3000 "$t/cnn.opml" >"$t/trunc.opml"
expect 1 "truncated" "$opml" infer "$t/trunc.opml" "idx:$data/t10k-images-idx3-ubyte.gz#0"
expect 1 "magic" "$opml" infer "$models/fashion_cnn.onnx" "idx:$data/t10k-images-idx3-ubyte.gz#0"
head -c 3132 /dev/zero >"$t/short.f32"
expect 1 "multiple of the model input" "$opml" infer "$t/cnn.opml" "$t/short.f32"
expect 1 "out of range" "$opml" infer "$t/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#10000"
expect 1 "out of range" "$opml" infer "$t/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#9990-10005"
expect 1 "bad input" "$opml" infer "$t/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#x"
expect 1 "do not fill" "$opml" infer "$t/cnn.opml" "idx:$data/t10k-labels-idx1-ubyte.gz#0"
expect 1 "unknown backend" "$opml" infer "$t/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#0" --backend tpu
expect 1 "items of 1 values do not fill the model input of 784 values" "$opml" eval "$t/cnn.opml" "$data/t10k-labels-idx1-ubyte.gz" "$data/t10k-images-idx3-ubyte.gz"
expect 1 "labels of 784 bytes" "$opml" eval "$t/cnn.opml" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-images-idx3-ubyte.gz"
# a model whose output is Q8_0 blocks: refused, not a division by zero (SIGFPE); the same model
# with an f32 cache runs, so the file itself is well-formed
kvappend_model "$t/kv_q8.opml" 4 1
kvappend_model "$t/kv_f32.opml" 1 1
head -c 128 /dev/zero >"$t/row.f32"
printf '\000\000\000\000\000\000\000\000' >"$t/label.i64"
expect 1 "the output is Q8_0, which has no elements to print" "$opml" infer "$t/kv_q8.opml" "$t/row.f32"
expect 1 "the output is Q8_0, not rows of scores" "$opml" eval "$t/kv_q8.opml" "raw:$t/row.f32" "raw:$t/label.i64"
"$opml" infer "$t/kv_f32.opml" "$t/row.f32" >"$t/out" 2>&1 || bad "infer of the f32 KVAppend model: $(cat "$t/out")"
"$opml" eval "$t/kv_f32.opml" "raw:$t/row.f32" "raw:$t/label.i64" >"$t/out" 2>&1
grep -q "accuracy 1.0000 (1/1)" "$t/out" || bad "eval of the f32 KVAppend model: $(cat "$t/out")"
# and correct runs still work: one JSON object per image, the same roots from a range as from
# single images and on both backends, raw float32 input files of one or several inputs
"$opml" infer "$t/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#3-5" --json --backend blas >"$t/range.json"
n=$(grep -c '"state_root":"0x' "$t/range.json")
[ "$n" = 3 ] || bad "expected 3 JSON lines, got $n"
"$opml" infer "$t/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#4" --json --backend ref >"$t/one.json"
sed -n 2p "$t/range.json" | cmp -s - "$t/one.json" || bad "image 4 differs between a range on blas and alone on ref"
head -c 3136 /dev/zero >"$t/zeros.f32"
cat "$t/zeros.f32" "$t/zeros.f32" >"$t/two.f32"
"$opml" infer "$t/cnn.opml" "$t/zeros.f32" --json >"$t/z1.json" || bad "raw input"
n=$("$opml" infer "$t/cnn.opml" "$t/two.f32" --json | cut -d, -f2- | sort -u | wc -l)
[ "$n" = 1 ] || bad "two equal raw inputs gave different results"
[ "$fails" = 0 ] || exit 1
echo "ok   bad input refused; correct runs: ranges, backends and raw inputs agree"
