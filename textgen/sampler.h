/* sampler.h: the next token from a row of logits, deterministically (docs/numerics.md,
 * "Sampling"): greedy by default; with a temperature, top-k and top-p through a written order of
 * operations, fp32 arithmetic with the kernels' kf_exp, and a counter-based splitmix64 draw, so
 * that the same logits and the same seed give the same tokens on every machine (a verifier can
 * replay a sampled generation). The arithmetic is the Sample kernel's (numerics/kernels/sample.h),
 * the one a generation's step graph runs and the VM checks; this is its stateful wrapper for a
 * loop over tokens. */
#ifndef OPML_SAMPLER_H
#define OPML_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

typedef struct opml_sampler {
    float temperature; /* 0: greedy (top_k and top_p unused) */
    uint32_t top_k;    /* 0: all tokens */
    float top_p;       /* 1: all tokens */
    uint64_t state;    /* the draw state of the next token: seed + j * 0x9E3779B97F4A7C15 for the
                          j-th token, advanced on every token whether it drew or not */
    uint32_t n_vocab;
    uint32_t *order;   /* scratch: candidate ids, n_vocab */
    float *e;          /* scratch: their weights, n_vocab */
} opml_sampler;

/* Checks the parameters (temperature finite and >= 0, top_p in (0, 1], top_k <= n_vocab, n_vocab
 * >= 1) and allocates the scratch. 0 or -1 + err. */
int opml_sampler_init(opml_sampler *s, float temperature, uint32_t top_k, float top_p, uint64_t seed,
                      uint32_t n_vocab, char *err, size_t errlen);
/* The next token for logits[n_vocab] (n_vocab as at init). */
int32_t opml_sampler_next(opml_sampler *s, const float *logits);
void opml_sampler_free(opml_sampler *s);

/* Greedy: the id of the largest logit by ">" from the first non-NaN one, in id order (ties: the
 * lowest id); 0 when every logit is NaN. */
int32_t opml_argmax(const float *logits, uint32_t n);

/* splitmix64: state += 0x9E3779B97F4A7C15, then the output mix of the state. */
uint64_t opml_splitmix64(uint64_t *state);

#endif
