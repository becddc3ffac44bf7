#!/bin/sh
# Bad input through the real `opml` binary: a truncated and a corrupt ONNX file, a model file that
# is not one, a raw input of the wrong size, an IDX index out of range, a malformed INPUT, an
# unknown backend. Each must end with a clear message on stderr and a non-zero exit, never a
# crash (exit codes >= 128 are signals; the ASan build aborts on any memory error).
set -u
opml=$1 models=$2 data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
expect_error() { # expect_error WHAT PATTERN CMD...
  what=$1 pattern=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
    echo "FAIL $what: exit $rc"; cat "$tmp/err"; status=1
  elif ! grep -q -- "$pattern" "$tmp/err"; then
    echo "FAIL $what: message lacks '$pattern':"; cat "$tmp/err"; status=1
  else
    echo "ok   $what: $(head -c 160 "$tmp/err" | head -n 1)"
  fi
}
"$opml" convert "$models/fashion_cnn.onnx" -o "$tmp/cnn.opml" >/dev/null || { echo "convert failed"; exit 1; }
head -c 100000 "$models/fashion_cnn.onnx" >"$tmp/trunc.onnx"
expect_error "truncated ONNX" "not a valid ONNX" "$opml" convert "$tmp/trunc.onnx" -o "$tmp/x.opml"
head -c 5000 /dev/urandom >"$tmp/garbage.onnx"
expect_error "random bytes as ONNX" "garbage.onnx" "$opml" convert "$tmp/garbage.onnx" -o "$tmp/x.opml"
expect_error "missing ONNX" "cannot read" "$opml" convert "$tmp/none.onnx" -o "$tmp/x.opml"
[ -e "$tmp/x.opml" ] && { echo "FAIL: an output file was left behind"; status=1; }
head -c 3000 "$tmp/cnn.opml" >"$tmp/trunc.opml"
expect_error "truncated model" "truncated" "$opml" infer "$tmp/trunc.opml" "idx:$data/t10k-images-idx3-ubyte.gz#0"
expect_error "ONNX given as model" "magic" "$opml" infer "$models/fashion_cnn.onnx" "idx:$data/t10k-images-idx3-ubyte.gz#0"
head -c 3132 /dev/zero >"$tmp/short.f32"
expect_error "wrong input size" "multiple of the model input" "$opml" infer "$tmp/cnn.opml" "$tmp/short.f32"
expect_error "IDX index out of range" "out of range" "$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#10000"
expect_error "IDX range out of range" "out of range" "$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#9990-10005"
expect_error "malformed INPUT" "bad input" "$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#x"
expect_error "labels as images" "do not fill" "$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-labels-idx1-ubyte.gz#0"
expect_error "unknown backend" "unknown backend" "$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#0" --backend tpu
expect_error "eval with swapped files" "labels of 784 bytes" "$opml" eval "$tmp/cnn.opml" "$data/t10k-labels-idx1-ubyte.gz" "$data/t10k-images-idx3-ubyte.gz"
# and correct runs still work: one JSON object per image, the same roots from a range as from
# single images and on both backends, raw float32 input files of one or several inputs
"$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#3-5" --json --backend blas >"$tmp/range.json"
n=$(grep -c '"state_root":"0x' "$tmp/range.json")
[ "$n" = 3 ] || { echo "FAIL: expected 3 JSON lines, got $n"; status=1; }
"$opml" infer "$tmp/cnn.opml" "idx:$data/t10k-images-idx3-ubyte.gz#4" --json --backend ref >"$tmp/one.json"
sed -n 2p "$tmp/range.json" | cmp -s - "$tmp/one.json" || { echo "FAIL: image 4 differs between a range on blas and alone on ref"; status=1; }
head -c 3136 /dev/zero >"$tmp/zeros.f32"
cat "$tmp/zeros.f32" "$tmp/zeros.f32" >"$tmp/two.f32"
"$opml" infer "$tmp/cnn.opml" "$tmp/zeros.f32" --json >"$tmp/z1.json" || { echo "FAIL: raw input"; status=1; }
n=$("$opml" infer "$tmp/cnn.opml" "$tmp/two.f32" --json | cut -d, -f2- | sort -u | wc -l)
[ "$n" = 1 ] || { echo "FAIL: two equal raw inputs gave different results"; status=1; }
[ $status = 0 ] && echo "ok   correct runs: ranges, backends and raw inputs agree"
exit $status
