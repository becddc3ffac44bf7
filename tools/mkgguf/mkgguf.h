/* mkgguf.h: LLaMA-architecture GGUF files with seeded random weights (tools/mkgguf): the shapes
 * real models vary in (grouped-query attention, rope base, tied output, F32/F16/Q8_0) and the
 * LLaMA-7B-shaped file for size and speed, as llama.cpp's converter lays them out (metadata
 * llama.* and tokenizer.ggml.*, tensors token_embd, blk.N.*, output_norm, output).
 *
 * The weights of every 2-D tensor are Q8_0 blocks at heart: per block of 32 a scale d, an fp16
 * value 2^-12..2^-10 times 1 + k/8 (k = 0..7), and 32 int8 q in -127..127, roughly normal (the
 * mean of three uniform bytes, centred), one of them +-127. The F32 file stores q*d, the F16
 * file q*d in fp16, the Q8_0 file the blocks: q*d has at most 7 + 4 significant bits, so it is
 * exact in fp32 and in fp16, and its largest |value| is 127*d exactly, so ggml's reference
 * quantization (d = amax/127, q = round(x/d)) of the F32 or F16 file gives back the Q8_0 file's
 * blocks: with the same seed the three files hold the same model. Norm weights are F32, 1 +- 1/32.
 * Tensor t's values come from splitmix64 seeded by (seed, t), so a tensor does not depend on the
 * others. The vocabulary (mkgguf_vocab.c) is SentencePiece-shaped and valid for opml's tokenizer
 * and llama.cpp's. */
#ifndef OPML_MKGGUF_H
#define OPML_MKGGUF_H

#include <stddef.h>
#include <stdint.h>

#include "gguf_build.h"

typedef struct mkgguf_shape {
    uint32_t layers, embd, heads, heads_kv, ff, vocab, ctx;
    float rope_base, rms_eps;
    uint32_t type; /* GGUF_T_F32, GGUF_T_F16 or GGUF_T_Q8_0: the 2-D tensors' type */
    int tied;      /* no output.weight: the output layer is token_embd */
    uint64_t seed;
} mkgguf_shape;

/* The fewest tokens a vocabulary has: <unk>, <s>, </s>, 256 byte tokens and U+2581. */
#define MKGGUF_MIN_VOCAB 260u

/* Checks a shape (divisibility, block multiples, limits). 0 or -1 + err. */
int mkgguf_check(const mkgguf_shape *s, char *err, size_t errlen);
/* Writes the whole GGUF to path (through path.tmp, renamed at the end: nothing half-written).
 * Prints nothing. *bytes gets the file's size. 0 or -1 + err. */
int mkgguf_write(const mkgguf_shape *s, const char *path, uint64_t *bytes, char *err, size_t errlen);

/* The vocabulary's tokenizer.ggml.* key/values (MKGGUF_VOCAB_KVS of them) appended to b. */
void mkgguf_vocab(gb *b, uint32_t n);
#define MKGGUF_VOCAB_KVS 10

#endif
