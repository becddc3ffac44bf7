#!/bin/sh
# bench_llama.sh: opml and llama.cpp side by side on the same GGUF, the same thread count, in one
# run: prompt processing (a PROMPT-token batch from an empty cache) and decoding (GEN single-token
# steps) tokens/s, each engine run ROUNDS times alternately, two passes each (the first one of a
# process includes its start: graphs, buffers, page faults; the machine is shared: the best of
# each side is reported, and each round's figures too), then opml's committed decoding and memory.
# llama.cpp is bench/llamacpp's driver (scripts/bench-deps.sh builds it).
#   bench_llama.sh OPML_BUILD_DIR MODEL.gguf [THREADS] [ROUNDS] [PROMPT] [GEN] [COMMIT_STEPS]
set -eu
build=$1 gguf=$2 threads=${3:-1} rounds=${4:-5} prompt=${5:-128} gen=${6:-32} commit=${7:-0}
top=$(cd "$(dirname "$0")/.." && pwd)
driver=$top/bench/llamacpp/out/llamacpp-driver
[ -x "$driver" ] || { echo "bench_llama: no $driver (run scripts/bench-deps.sh)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/cli/opml" convert "$gguf" -o "$tmp/model.opml" >"$tmp/convert.txt"
grep '^llama:' "$tmp/convert.txt"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
num() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2"; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
lpp=0 ldec=0 opp=0 odec=0
r=1
while [ "$r" -le "$rounds" ]; do
  "$driver" --threads "$threads" --reps 2 --prompt "$prompt" --gen "$gen" speed "$gguf" >"$tmp/l.json"
  "$build/executor/bench_llama" "$tmp/model.opml" --threads "$threads" --reps 2 --prompt "$prompt" --gen "$gen" --json >"$tmp/o.json"
  printf 'round %d: llama.cpp pp %8.2f dec %7.2f | opml pp %8.2f dec %7.2f tokens/s\n' "$r" "$(num pp_tok_s "$tmp/l.json")" \
    "$(num decode_tok_s "$tmp/l.json")" "$(num pp_tok_s "$tmp/o.json")" "$(num decode_tok_s "$tmp/o.json")"
  lpp=$(best "$lpp" "$(num pp_tok_s "$tmp/l.json")"); ldec=$(best "$ldec" "$(num decode_tok_s "$tmp/l.json")")
  opp=$(best "$opp" "$(num pp_tok_s "$tmp/o.json")"); odec=$(best "$odec" "$(num decode_tok_s "$tmp/o.json")")
  r=$((r + 1))
done
awk -v lp="$lpp" -v ld="$ldec" -v op="$opp" -v od="$odec" -v t="$threads" -v p="$prompt" -v g="$gen" 'BEGIN {
  printf "best of each, %d thread(s): prompt %d tokens: opml %.2f, llama.cpp %.2f tokens/s: %.2fx\n", t, p, op, lp, op / lp
  printf "                          decode %d tokens: opml %.2f, llama.cpp %.2f tokens/s: %.2fx\n", g, od, ld, od / ld }'
if [ "$commit" -gt 0 ]; then
  "$build/executor/bench_llama" "$tmp/model.opml" --threads "$threads" --reps 1 --prompt 8 --gen 8 --commit "$commit"
else
  "$build/executor/bench_llama" "$tmp/model.opml" --threads "$threads" --reps 1 --prompt "$prompt" --gen "$gen" | tail -1
fi
