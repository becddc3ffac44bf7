#!/usr/bin/env bash
# LLaMA speed side by side with llama.cpp, in one run, with the same thread count (issue 13):
#   bash bench/llama.sh [--threads N] [--layers L] [--rounds R] [--reps N] [--commit N]
#                       [--models tiny|7b|both]
# For the shared tiny model (tinyllama_fortunes-q8_0.gguf) and a LLaMA-7B-shaped Q8_0 file made by
# tools/mkgguf (hidden 4096, 32 heads, MLP 11008, vocabulary 32000, L layers, default 8; cached in
# build/bench-llama/), each converted by `opml convert`: prompt processing (128 tokens as one
# batch from an empty cache) and decode (single-token steps after it: 64 on the tiny model, 16 on
# the 7B-shaped one) tokens/s of opml (bench/bench_llama.c) and of llama.cpp
# (bench/llamacpp/llamacpp_driver.c on the prebuilt library, installed by scripts/bench-deps.sh,
# run here if needed). llama.cpp runs with its release's defaults (F16 KV cache, flash attention
# auto).
# Interleaved rounds: each round runs llama.cpp's driver and bench_llama once each (best of --reps
# passes on the 7B-shaped file, 5 x --reps on the tiny model, whose pass takes milliseconds), back
# to back, the order alternating from round to round, and takes the ratio opml / llama.cpp of that
# pair; on a shared machine both sides of a pair then see about the same load. Per model and
# figure it prints every round, then the median ratio and its range over the rounds (and the
# median tokens/s of each side). Decode is also timed in the process's CPU seconds (both sides'
# decode_cpu_tok_s): on a machine shared with other work, time-slicing changes the wall-clock
# figures, not these (with more than one thread, llama.cpp's spinning workers count in its CPU
# time: compare them at 1 thread). Then opml's decode with per-node commitments on
# (OPML_LLAMA_COMMIT, --commit steps, one run) and its cost against that run's plain decode.
# Prints the machine and its load average before and after. Needs the release build (bench/run.sh
# builds it) and network for bench-deps the first time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
usage="usage: bash bench/llama.sh [--threads N] [--layers L] [--rounds R] [--reps N] [--commit N] [--models tiny|7b|both]"
threads=$(nproc) layers=8 rounds=7 reps=2 commit=2 models=both
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --commit) commit=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    *) echo "$usage"; exit 2 ;;
  esac
done
B=$top/build
W=$B/bench-llama
mkdir -p "$W"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opml bench_llama mkgguf >/dev/null
bash scripts/bench-deps.sh
D=$top/bench/llamacpp/out/llamacpp-driver
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
     "AVX-512 VNNI: $(grep -q avx512_vnni /proc/cpuinfo && echo yes || echo no); load average $(loadavg)"
echo "threads $threads, prompt 128 tokens as one batch, decode 64 (tiny) or 16 (7B-shaped) tokens;" \
     "$rounds interleaved rounds, each side best of $reps (7B-shaped) or $((5 * reps)) (tiny) passes per round"

tiny_gguf=$top/../shared/models/tinyllama_fortunes-q8_0.gguf
big_gguf=$W/llama7b-${layers}l-q8_0.gguf
list=()
[ "$models" = 7b ] || list+=("$tiny_gguf")
[ "$models" = tiny ] || list+=("$big_gguf")
[ "$models" = tiny ] || [ -f "$big_gguf" ] || "$B/tools/mkgguf/mkgguf" "$big_gguf" --preset 7b --layers "$layers" >/dev/null
# Each converted file leaves the page cache first (dd iflag=nocache count=0), so that opml maps it
# as read from disk, like a deployed model: the page cache reads it ahead in 2 MiB folios, which the
# kernel maps as 2 MiB pages, not in the small folios `opml convert` just wrote it in
# (`FilePmdMapped` in the process's smaps shows which): every run starts from the same state.
# llama.cpp copies its weights into its own memory at load either way.
for g in "${list[@]}"; do
  o=$W/$(basename "$g" .gguf).opml
  [ -f "$o" ] && [ "$o" -nt "$g" ] || "$B/cli/opml" convert "$g" -o "$o" >/dev/null
  dd if="$o" iflag=nocache count=0 status=none
done

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "0"), a / b }'; }
# median and range of the numbers on stdin, SUFFIX ($1) after each: "MEDIAN (MIN - MAX)"
summary() {
  sort -g | awk -v u="${1:-}" '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                                   printf "%.2f%s (%.2f%s - %.2f%s)", m, u, v[1], u, v[NR], u }'
}
for g in "${list[@]}"; do
  name=$(basename "$g" .gguf)
  gen=64 nreps=$((5 * reps)) # a tiny pass takes milliseconds: more of them per round
  [ "$g" = "$tiny_gguf" ] || gen=16 nreps=$reps
  echo
  echo "$name: round  prompt tok/s opml / llama.cpp = ratio   decode tok/s opml / llama.cpp = ratio   decode per CPU second: ratio"
  rows=()
  for r in $(seq 1 "$rounds"); do
    run_lc() { lc=$("$D" --threads "$threads" --reps "$nreps" --gen $gen speed "$g"); }
    run_op() { op=$("$B/engine/bench_llama" "$W/$name.opml" --threads "$threads" --reps "$nreps" --gen $gen --commit 0); }
    if [ $((r % 2)) = 1 ]; then run_lc; run_op; else run_op; run_lc; fi
    lpp=$(echo "$lc" | field pp_tok_s) ldec=$(echo "$lc" | field decode_tok_s) lcpu=$(echo "$lc" | field decode_cpu_tok_s)
    opp=$(echo "$op" | field pp_tok_s) odec=$(echo "$op" | field decode_tok_s) ocpu=$(echo "$op" | field decode_cpu_tok_s)
    rows+=("$opp $lpp $(ratio "$opp" "$lpp") $odec $ldec $(ratio "$odec" "$ldec") $ocpu $lcpu $(ratio "$ocpu" "$lcpu")")
    printf '  %5d  %10s / %-10s = %-6s  %10s / %-10s = %-6s  %8s / %-8s = %s\n' "$r" "$opp" "$lpp" \
      "$(ratio "$opp" "$lpp")" "$odec" "$ldec" "$(ratio "$odec" "$ldec")" "$ocpu" "$lcpu" "$(ratio "$ocpu" "$lcpu")"
  done
  col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{ print $c }' | summary "${2:-}"; }
  echo "  prompt ratio: median $(col 3 x); tok/s median opml $(col 1), llama.cpp $(col 2)"
  echo "  decode ratio: median $(col 6 x); tok/s median opml $(col 4), llama.cpp $(col 5)"
  echo "  decode per CPU second ratio: median $(col 9 x); median opml $(col 7), llama.cpp $(col 8)"
  if [ "$commit" -gt 0 ]; then
    op=$("$B/engine/bench_llama" "$W/$name.opml" --threads "$threads" --reps 1 --gen $gen --commit "$commit")
    odec=$(echo "$op" | field decode_tok_s) ocm=$(echo "$op" | field commit_decode_tok_s)
    echo "  decode with commitments on: $ocm tok/s, $(ratio "$odec" "$ocm")x slower than that run's plain $odec tok/s"
  fi
  echo "  load average $(loadavg)"
done
