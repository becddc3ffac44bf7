#!/bin/sh
# vm_models.sh: every node of the shared models run in the VM gives the output root the native
# engine gives (entry I of node_output_roots of `opml infer --json`): fashion_mlp and fashion_cnn
# on two test images, fashion_vit on one, fortunes_textcls on one of its shipped token-id inputs.
# Each node must also halt within the VM step budget its model is registered with (2^stepsLog2
# steps: 23 for the Fashion-MNIST models; 26 for the text classifier, whose 16,384-score Softmax
# takes ~51M steps: what `opml register` measures and chooses, docs/contract-authors.md); the
# largest node of each model is printed.
#   vm_models.sh OPML MODELS_DIR FASHION_MNIST_DIR
set -u
opml=$1 models=$2 data=$3
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
images="$data/t10k-images-idx3-ubyte.gz"
head -c 512 "$models/fortunes_textcls_test_inputs.i64" >"$t/ids.i64"
# check NAME LOG2 INPUT...: every node of NAME in the VM on each INPUT
check() {
  name=$1 log2=$2
  shift 2
  "$opml" convert "$models/$name.onnx" -o "$t/$name.opml" >/dev/null || { echo "FAIL: convert $name"; fail=1; return; }
  budget=$((1 << log2)) most=0 at=
  for input in "$@"; do
    "$opml" infer "$t/$name.opml" "$input" --json >"$t/infer.json" || { echo "FAIL: infer $name"; fail=1; return; }
    n=$(jq '.node_output_roots | length' "$t/infer.json")
    i=0
    while [ "$i" -lt "$n" ]; do
      want=$(jq -r ".node_output_roots[$i]" "$t/infer.json")
      "$opml" vm-run "$t/$name.opml" "$input" --node "$i" --json --max-steps "$budget" >"$t/vm.json" ||
        { echo "FAIL: vm-run $name node $i (within 2^$log2 steps)"; fail=1; }
      got=$(jq -r .output_root "$t/vm.json")
      steps=$(jq -r .steps "$t/vm.json")
      if [ "$got" = "$want" ]; then echo "ok   $name $input node $i: $steps steps, output root $got"
      else echo "FAIL $name $input node $i: vm $got, native $want"; fail=1; fi
      if [ "$steps" -gt "$most" ] 2>/dev/null; then most=$steps at=$i; fi
      i=$((i + 1))
    done
  done
  echo "$name: largest node $at, $most VM steps of a budget of 2^$log2 = $budget"
  [ "$most" -le "$budget" ] || { echo "FAIL: $name needs more than 2^$log2 steps"; fail=1; }
}
check fashion_mlp 23 "idx:$images#0" "idx:$images#4321"
check fashion_cnn 23 "idx:$images#0" "idx:$images#4321"
check fashion_vit 23 "idx:$images#0"
check fortunes_textcls 26 "$t/ids.i64"
exit $fail
