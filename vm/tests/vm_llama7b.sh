#!/bin/sh
# vm_llama7b.sh: a one-layer LLaMA-7B-width GGUF (tools/mkgguf, preset 7b: hidden 4096, 32 heads,
# MLP 11008, vocabulary 32000, Q8_0) converted and run natively; the smallest node of each kind
# of its decoding step run in the VM must give the native output root.
#   vm_llama7b.sh MKGGUF TEST_VM_LLAMA
set -eu
mkgguf=$1 test=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"$mkgguf" "$t/l7b1.gguf" --preset 7b --layers 1
"$test" "$t/l7b1.gguf" --ctx 32 --steps 3 --smallest
