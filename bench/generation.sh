#!/usr/bin/env bash
# What issue 14's tasks cost over plain inference (bench/bench_generation.c; docs/generation.md,
# "Figures"), in one run:
#   bash bench/generation.sh [--threads N] [--reps R] [--layers L]
# - the happy path (what an honest submitter computes to submit) over plain inference, on every
#   shared model: the classifiers fashion_mlp, fashion_cnn and fashion_vit (one image per run) and
#   fortunes_textcls (one 64-id text per run), and the fortunes LLaMA (Q8_0 and F32 files: a
#   32-token prompt, 64 new tokens);
# - what a party computes when a game opens: G_t for every t (the replay and the hashing), and a
#   disputed step's full commitments over the plain decoding of that step, on the fortunes LLaMA
#   and on a LLaMA-7B-shaped Q8_0 file made by tools/mkgguf (hidden 4096, 32 heads, MLP 11008,
#   vocabulary 32000, context 4096, L layers, default 8; cached in build/bench-gen/): 32 prompt
#   tokens, 16 new, the step t = 40 in the middle of the new ones.
# Each figure is the best of R rounds (interleaved), as wall time and as CPU time. Needs the
# release build (built here).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
threads=$(nproc) layers=8 reps=9
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "usage: bash bench/generation.sh [--threads N] [--reps R] [--layers L]"; exit 2 ;;
  esac
done
B=$top/build
W=$B/bench-gen
shared=$top/../shared/models
mkdir -p "$W"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opml bench_generation mkgguf >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); threads $threads, best of $reps"
convert() { # SOURCE OUT
  [ -f "$2" ] && [ "$2" -nt "$1" ] || "$B/cli/opml" convert "$1" -o "$2" >/dev/null
}
shared_files=()
for f in fashion_mlp.onnx fashion_cnn.onnx fashion_vit.onnx fortunes_textcls.onnx tinyllama_fortunes-q8_0.gguf \
  tinyllama_fortunes-f32.gguf; do
  convert "$shared/$f" "$W/${f%.*}.opml"
  shared_files+=("$W/${f%.*}.opml")
done
big=$W/llama7b-${layers}l-q8_0
[ -f "$big.gguf" ] || "$B/tools/mkgguf/mkgguf" "$big.gguf" --preset 7b --layers "$layers" >/dev/null
convert "$big.gguf" "$big.opml"
G=$B/engine/bench_generation
"$G" --threads "$threads" --reps "$reps" --prompt 32 --gen 64 "${shared_files[@]}"
"$G" --threads "$threads" --reps "$reps" --prompt 32 --gen 16 --step-only "$big.opml"
