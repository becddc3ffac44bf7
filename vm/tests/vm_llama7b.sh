#!/bin/sh
# vm_llama7b.sh: a one-layer LLaMA-7B-width GGUF (tools/mkgguf, preset 7b: hidden 4096, 32 heads,
# MLP 11008, vocabulary 32000, Q8_0) converted and run natively; the smallest node of each kind
# of its decoding step run in the VM must give the native output root.
# With --largest CTX LOG2 (a measurement, not run by the suite: about 30 s at CTX 2048), the file
# has CTX positions and `opml register`'s measure (cli/vm_steps.h: one node of each distinct
# descriptor) runs at the last one, where Attention costs most; every layer has the same shapes,
# so these are the longest node runs of any 7B-shaped step graph of that context, and each must
# halt within 2^LOG2 steps (docs/contract-authors.md).
#   vm_llama7b.sh MKGGUF TEST_VM_LLAMA [--largest CTX LOG2]
set -eu
mkgguf=$1 test=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
if [ "${3:-}" = --largest ]; then
  ctx=$4 log2=$5
  "$mkgguf" "$t/l7b1.gguf" --preset 7b --layers 1 --ctx "$ctx"
  "$test" "$t/l7b1.gguf" --ctx "$ctx" --steps "$ctx" --largest --max-log2 "$log2"
  exit
fi
"$mkgguf" "$t/l7b1.gguf" --preset 7b --layers 1
"$test" "$t/l7b1.gguf" --ctx 32 --steps 3 --smallest
