#!/bin/sh
# Accuracy of the quantized engine on all 10,000 Fashion-MNIST test images, for both shared
# models and both backends: top-1 within 1 percentage point of the float32 accuracy recorded in
# the model's JSON, and the same number of correct images on ref and blas.
set -eu
opml=$1 models=$2 data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for name in fashion_mlp fashion_cnn; do
  "$opml" convert "$models/$name.onnx" -o "$tmp/$name.opml" >/dev/null
  want=$(sed -n 's/.*"float32_test_accuracy": *\([0-9.]*\).*/\1/p' "$models/$name.json")
  prev=
  for backend in ref blas; do
    line=$("$opml" eval "$tmp/$name.opml" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" --backend $backend)
    echo "$name: $line (float32 $want)"
    got=$(echo "$line" | awk '{print $2}')
    correct=$(echo "$line" | awk '{print $3}')
    case "$line" in *"/10000)"*) ;; *) echo "  not all 10000 images"; status=1 ;; esac
    if ! awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.01) }'; then
      echo "  FAIL: more than 1 point from the float32 accuracy"; status=1
    fi
    if [ -n "$prev" ] && [ "$prev" != "$correct" ]; then echo "  FAIL: ref and blas disagree"; status=1; fi
    prev=$correct
  done
done
exit $status
