#!/usr/bin/env bash
# LLaMA speed side by side with llama.cpp, in one run, with the same thread count (issue 13):
#   bash bench/llama.sh [--threads N] [--layers L] [--reps R] [--models tiny|7b|both]
# For the shared tiny model (tinyllama_fortunes-q8_0.gguf) and a LLaMA-7B-shaped Q8_0 file made by
# tools/mkgguf (hidden 4096, 32 heads, MLP 11008, vocabulary 32000, L layers, default 8; cached in
# build/bench-llama/), each converted by `opml convert`: prompt processing (128 tokens as one
# batch from an empty cache) and decode (single-token steps after it: 64 on the tiny model, 16 on
# the 7B-shaped one) tokens/s of opml
# (bench/bench_llama.c) and of llama.cpp (bench/llamacpp/llamacpp_driver.c on the prebuilt library,
# installed by scripts/bench-deps.sh, run here if needed), best of R runs each, the ratio
# opml / llama.cpp, and opml's decode with per-node commitments on (OPML_LLAMA_COMMIT) and what
# they cost. llama.cpp runs with its release's defaults (F16 KV cache, flash attention auto).
# Prints the machine first. Needs the release build (bench/run.sh builds it) and network for
# bench-deps the first time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
threads=$(nproc) layers=8 reps=3 models=both
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    *) echo "usage: bash bench/llama.sh [--threads N] [--layers L] [--reps R] [--models tiny|7b|both]"; exit 2 ;;
  esac
done
B=$top/build
W=$B/bench-llama
mkdir -p "$W"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opml bench_llama mkgguf >/dev/null
bash scripts/bench-deps.sh
D=$top/bench/llamacpp/out/llamacpp-driver

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
     "AVX-512 VNNI: $(grep -q avx512_vnni /proc/cpuinfo && echo yes || echo no); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "threads $threads, prompt 128 tokens as one batch, decode 64 (tiny) or 16 (7B-shaped) tokens, best of $reps"

tiny_gguf=$top/../shared/models/tinyllama_fortunes-q8_0.gguf
big_gguf=$W/llama7b-${layers}l-q8_0.gguf
list=()
[ "$models" = 7b ] || list+=("$tiny_gguf")
[ "$models" = tiny ] || list+=("$big_gguf")
[ "$models" = tiny ] || [ -f "$big_gguf" ] || "$B/tools/mkgguf/mkgguf" "$big_gguf" --preset 7b --layers "$layers" >/dev/null
for g in "${list[@]}"; do
  o=$W/$(basename "$g" .gguf).opml
  [ -f "$o" ] && [ "$o" -nt "$g" ] || "$B/cli/opml" convert "$g" -o "$o" >/dev/null
done

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }'; }
printf '\n%-24s %-24s %-24s %-28s\n' "model" "prompt 128 tok/s" "decode tok/s" "decode, commitments on"
printf '%-24s %-24s %-24s %-28s\n' "" "opml / llama.cpp" "opml / llama.cpp" "tok/s (cost vs plain)"
for g in "${list[@]}"; do
  name=$(basename "$g" .gguf)
  gen=64
  [ "$g" = "$tiny_gguf" ] || gen=16
  lc=$("$D" --threads "$threads" --reps "$reps" --gen $gen speed "$g")
  op=$("$B/engine/bench_llama" "$W/$name.opml" --threads "$threads" --reps "$reps" --gen $gen --commit 2)
  lpp=$(echo "$lc" | field pp_tok_s) ldec=$(echo "$lc" | field decode_tok_s)
  opp=$(echo "$op" | field pp_tok_s) odec=$(echo "$op" | field decode_tok_s) ocm=$(echo "$op" | field commit_decode_tok_s)
  printf '%-24s %-24s %-24s %-28s\n' "$name" "$opp / $lpp = $(ratio "$opp" "$lpp")" \
    "$odec / $ldec = $(ratio "$odec" "$ldec")" "$ocm ($(ratio "$odec" "$ocm") slower)"
  echo "  llama.cpp: $lc"
  echo "  opml:      $op"
done
