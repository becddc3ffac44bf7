/* sample.h: the next token of a generation from a row of logits (docs/numerics.md, "Sampling",
 * normative): greedy, or temperature / top-k / top-p with a counter-based splitmix64 draw. The
 * arithmetic of OP_SAMPLE (sample.c), shared by the reference kernel (the engine's ref and blas
 * backends and the RV32IM guest: the sampled token is disputed like any node) and textgen's
 * sampler (`opml generate`). Portable C for the guest like every kernel source. */
#ifndef OPML_KERNEL_SAMPLE_H
#define OPML_KERNEL_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define KD_SPLITMIX_GOLDEN 0x9E3779B97F4A7C15ull /* splitmix64's increment */

/* What a draw needs: the splitmix64 state before the draw (a generation's j-th new token draws
 * with state seed + j * KD_SPLITMIX_GOLDEN mod 2^64, whether or not earlier tokens drew), the
 * temperature (0: greedy), top-k (0: all) and top-p. Any bits are accepted: the arithmetic is
 * total (the contracts check a request's parameters, docs/generation.md). */
typedef struct kd_sampler {
    uint64_t state;
    float temperature, top_p;
    uint32_t top_k;
} kd_sampler;

/* splitmix64: *state += KD_SPLITMIX_GOLDEN, then the output mix of the new state. */
uint64_t kd_splitmix64(uint64_t *state);

/* Greedy: the id of the largest logit by ">" scanning ids upward from the first one that is not
 * NaN (ties: the lowest id); 0 when every logit is NaN. Precondition n >= 1. */
int32_t kd_greedy(const float *logits, size_t n);

/* The sampled id for logits[0..n) (n >= 1). Scratch: order holds n ids, e n floats. */
int32_t kd_sample(const float *logits, size_t n, const kd_sampler *s, uint32_t *order, float *e);

#endif
