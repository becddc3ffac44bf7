#!/bin/sh
# vm_models.sh: every node of both shared models run in the VM gives the output root the native
# engine gives (entry I of node_output_roots of `opml infer --json`), on two test images.
#   vm_models.sh OPML MODELS_DIR FASHION_MNIST_DIR
set -u
opml=$1 models=$2 data=$3
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
images="$data/t10k-images-idx3-ubyte.gz"
for name in fashion_mlp fashion_cnn; do
  "$opml" convert "$models/$name.onnx" -o "$t/$name.opml" >/dev/null || { echo "FAIL: convert $name"; exit 1; }
  for item in 0 4321; do
    input="idx:$images#$item"
    "$opml" infer "$t/$name.opml" "$input" --json >"$t/infer.json" || { echo "FAIL: infer $name"; exit 1; }
    n=$(jq '.node_output_roots | length' "$t/infer.json")
    i=0
    while [ "$i" -lt "$n" ]; do
      want=$(jq -r ".node_output_roots[$i]" "$t/infer.json")
      "$opml" vm-run "$t/$name.opml" "$input" --node "$i" --json >"$t/vm.json" || { echo "FAIL: vm-run $name node $i"; fail=1; }
      got=$(jq -r .output_root "$t/vm.json")
      steps=$(jq -r .steps "$t/vm.json")
      if [ "$got" = "$want" ]; then echo "ok   $name image $item node $i: $steps steps, output root $got"
      else echo "FAIL $name image $item node $i: vm $got, native $want"; fail=1; fi
      i=$((i + 1))
    done
  done
done
exit $fail
