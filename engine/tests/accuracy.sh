#!/bin/sh
# Accuracy of the quantized engine, for every shared classifier and both backends: top-1 within 1
# percentage point of the float32 accuracy recorded in the model's JSON, and the same number of
# correct answers on ref and blas. The Fashion-MNIST models (MLP, CNN, vision transformer) on all
# 10,000 test images; the text classifier on its 200 shipped int64 token-id inputs, against the
# JSON's float32 accuracy on those 200.
set -eu
opml=$1 models=$2 data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
# check NAME WANT COUNT INPUTS LABELS
check() {
  "$opml" convert "$models/$1.onnx" -o "$tmp/$1.opml" >/dev/null
  prev=
  for backend in ref blas; do
    line=$("$opml" eval "$tmp/$1.opml" "$4" "$5" --backend $backend)
    echo "$1: $line (float32 $2)"
    got=$(echo "$line" | awk '{print $2}')
    correct=$(echo "$line" | awk '{print $3}')
    case "$line" in *"/$3)"*) ;; *) echo "  not all $3 inputs"; status=1 ;; esac
    if ! awk -v g="$got" -v w="$2" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.01) }'; then
      echo "  FAIL: more than 1 point from the float32 accuracy"; status=1
    fi
    if [ -n "$prev" ] && [ "$prev" != "$correct" ]; then echo "  FAIL: ref and blas disagree"; status=1; fi
    prev=$correct
  done
}
for name in fashion_mlp fashion_cnn fashion_vit; do
  want=$(sed -n 's/.*"float32_test_accuracy": *\([0-9.]*\).*/\1/p' "$models/$name.json")
  check $name "$want" 10000 "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz"
done
want=$(jq -r .test_files.float32_accuracy_on_these_200 "$models/fortunes_textcls.json")
check fortunes_textcls "$want" 200 "raw:$models/fortunes_textcls_test_inputs.i64" "raw:$models/fortunes_textcls_test_labels.i64"
exit $status
