#!/bin/sh
# llama_cli.sh: `opml generate` and `opml perplexity` on the shared tiny model: bad input (a model
# file that is missing, not a model or a GGUF not yet converted, a prompt longer than the context,
# -n 0, bad sampler values, a token file whose size is not a multiple of 4 or with ids outside the
# vocabulary, a chunk above the context) ends with a clear message and exit 1 (2 for usage), never
# a crash; good input: streamed text equals the JSON's text, generation stops at EOS, a seed gives one
# sequence, a text file is tokenized whole.
#   llama_cli.sh OPML MODELS_DIR
set -u
opml=$1 models=$2
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/expect.sh
. "$(dirname "$0")/../../tests/lib/expect.sh"
gguf="$models/tinyllama_fortunes-q8_0.gguf"
"$opml" convert "$gguf" -o "$t/m.opml" >/dev/null || { echo "cannot convert the model"; exit 1; }
m="$t/m.opml"

# models that are not there or not converted LLaMA models
for cmd in generate perplexity; do
  arg="hello"
  [ $cmd = perplexity ] && arg="$models/held_out_tokens_int32.bin"
  expect 1 "opml $cmd: $t/none.opml: " "$opml" $cmd "$t/none.opml" "$arg"
  expect 1 "opml $cmd: $gguf is a GGUF file: convert it first (opml convert $gguf -o MODEL.opml)" \
    "$opml" $cmd "$gguf" "$arg"
  expect 1 "opml $cmd: $models/held_out.txt: " "$opml" $cmd "$models/held_out.txt" "$arg"
  "$opml" convert "$models/fashion_mlp.onnx" -o "$t/mlp.opml" >/dev/null
  expect 1 "opml $cmd: $t/mlp.opml: " "$opml" $cmd "$t/mlp.opml" "$arg"
done

# generate: usage errors, then a prompt the context cannot hold
expect 2 "-n must be a whole number of tokens, at least 1" "$opml" generate "$m" "hi" -n 0
expect 2 "-n must be a whole number of tokens, at least 1" "$opml" generate "$m" "hi" -n -3
expect 2 "MODEL and PROMPT are required" "$opml" generate "$m"
expect 2 "unknown option" "$opml" generate "$m" "hi" --bogus 1
expect 1 "temperature must be a finite number >= 0" "$opml" generate "$m" "hi" --temp -1
expect 1 "top-p must be in (0, 1]" "$opml" generate "$m" "hi" --temp 1 --top-p 0
expect 1 "top-k 5000 is above the vocabulary of 1000" "$opml" generate "$m" "hi" --temp 1 --top-k 5000
long=$(head -c 3000 "$models/held_out.txt")
expect 1 "the context holds 256 positions" "$opml" generate "$m" "$long" -n 1
expect 1 "-n 250 asks for 250 more: the context holds 256 positions" "$opml" generate "$m" "A fool and his money" -n 250
expect 1 "a context of 300 positions is above the model's 256" "$opml" generate "$m" "hi" --ctx 300

# generate: the streamed text is the JSON's text after the prompt; tokens/s on stderr
"$opml" generate "$m" "A fool and his money" -n 20 --ignore-eos >"$t/text" 2>"$t/err" || bad "generate failed: $(cat "$t/err")"
grep -q "tokens/s" "$t/err" || bad "no tokens/s line: $(cat "$t/err")"
"$opml" generate "$m" "A fool and his money" -n 20 --ignore-eos --json >"$t/json" || bad "generate --json failed"
printf '%s%s\n' "A fool and his money" "$(jq -j .text "$t/json")" | cmp -s - "$t/text" ||
  bad "streamed text differs from the JSON's: $(cat "$t/text")"
# stopping at EOS: the first prompt's greedy continuation reaches EOS (2) at its 19th token
n=$("$opml" generate "$m" "A fool and his money" -n 32 --json | jq '.ids | length')
[ "$n" = 19 ] || bad "generation did not stop at EOS (got $n tokens)"
# sampling: one seed, one sequence; another seed, another
for s in 1 1 2; do "$opml" generate "$m" "The" -n 24 --temp 0.9 --top-k 50 --top-p 0.95 --seed $s --json --ignore-eos | jq -c .ids; done >"$t/seeds"
[ "$(sed -n 1p "$t/seeds")" = "$(sed -n 2p "$t/seeds")" ] || bad "the same seed gave two sequences"
[ "$(sed -n 1p "$t/seeds")" != "$(sed -n 3p "$t/seeds")" ] || bad "two seeds gave one sequence"

# perplexity: token files that are not ones, chunks the context cannot hold, too few tokens
head -c 4001 "$models/held_out_tokens_int32.bin" >"$t/odd.bin"
expect 1 "opml perplexity: $t/odd.bin is 4001 bytes: a token file holds int32 ids, a multiple of 4 bytes" \
  "$opml" perplexity "$m" "$t/odd.bin"
printf '\001\000\000\000\350\003\000\000' >"$t/big.bin" # ids 1 and 1000
expect 1 "opml perplexity: $t/big.bin: token 1 is id 1000, outside the vocabulary of 1000" "$opml" perplexity "$m" "$t/big.bin"
printf '\001\000\000\000\377\377\377\377' >"$t/neg.bin" # id -1
expect 1 "token 1 is id -1, outside the vocabulary" "$opml" perplexity "$m" "$t/neg.bin"
expect 1 "--chunk 512 is above the model's context of 256" "$opml" perplexity "$m" "$models/held_out_tokens_int32.bin" --chunk 512
expect 1 "has 10 tokens, less than one chunk of 256" "$opml" perplexity "$m" "$t/neg.bin" --text
expect 1 "cannot open $t/none.bin" "$opml" perplexity "$m" "$t/none.bin"
expect 2 "--chunk must be at least 2" "$opml" perplexity "$m" "$t/neg.bin" --chunk 1
# a text file: tokenized whole (BOS first), chunks of 128, a progress line; read as ids it is refused
head -c 2500 "$models/held_out.txt" >"$t/text.txt"
expect 0 "perplexity: chunk 9/9" "$opml" perplexity "$m" "$t/text.txt" --chunk 128
grep -q "over 1143 predictions: 9 chunks of 128 tokens" "$t/out" || bad "text perplexity: $(cat "$t/out")"
expect 1 "outside the vocabulary of 1000" "$opml" perplexity "$m" "$t/text.txt" --ids
[ "$fails" = 0 ] || exit 1
