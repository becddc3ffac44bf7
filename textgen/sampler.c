/* sampler.c: see sampler.h and docs/numerics.md "Sampling" (the normative order). */
#define _GNU_SOURCE /* qsort_r */
#include "sampler.h"

#include "errmsg.h"
#include "fmath.h"

#include <math.h>
#include <stdlib.h>

#define UNIT_BITS 24 /* the draw is a 24-bit fraction: exact in fp32 */

uint64_t opml_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int32_t opml_argmax(const float *l, uint32_t n) {
    uint32_t best = 0;
    while (best < n && kf_isnan(l[best])) best++;
    if (best == n) return 0;
    for (uint32_t i = best + 1; i < n; i++)
        if (l[i] > l[best]) best = i;
    return (int32_t)best;
}

int opml_sampler_init(opml_sampler *s, float temperature, uint32_t top_k, float top_p, uint64_t seed,
                      uint32_t n_vocab, char *err, size_t errlen) {
    *s = (opml_sampler){temperature, top_k, top_p, seed, n_vocab, NULL, NULL};
    if (!(temperature >= 0.0f) || isinf(temperature))
        return opml_errf(err, errlen, "temperature must be a finite number >= 0");
    if (!(top_p > 0.0f && top_p <= 1.0f)) return opml_errf(err, errlen, "top-p must be in (0, 1]");
    if (n_vocab == 0) return opml_errf(err, errlen, "empty vocabulary");
    if (top_k > n_vocab) return opml_errf(err, errlen, "top-k %u is above the vocabulary of %u", top_k, n_vocab);
    if (temperature == 0.0f) return 0;
    s->order = malloc(n_vocab * sizeof *s->order);
    s->e = malloc(n_vocab * sizeof *s->e);
    if (!s->order || !s->e) {
        opml_sampler_free(s);
        return opml_errf(err, errlen, "out of memory");
    }
    return 0;
}

void opml_sampler_free(opml_sampler *s) {
    free(s->order);
    free(s->e);
    s->order = NULL, s->e = NULL;
}

/* Larger logit first, then lower id: a total order, so any sort gives the same sequence. */
static int by_logit(const void *a, const void *b, void *logits) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    float lx = ((const float *)logits)[x], ly = ((const float *)logits)[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

int32_t opml_sampler_next(opml_sampler *s, const float *l) {
    if (s->temperature == 0.0f) return opml_argmax(l, s->n_vocab);
    /* 1. candidates: the ids whose logit is not NaN, sorted */
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_vocab; i++)
        if (!kf_isnan(l[i])) s->order[n++] = i;
    if (n == 0) return 0;
    qsort_r(s->order, n, sizeof *s->order, by_logit, (void *)l);
    /* 2. top-k */
    if (s->top_k && s->top_k < n) n = s->top_k;
    /* 3. an infinite maximum takes it all */
    float m = l[s->order[0]] / s->temperature;
    if (isinf(m)) return m > 0 ? (int32_t)s->order[0] : opml_argmax(l, s->n_vocab);
    /* 4. weights e_i = kf_exp(l_i / T - m) and their sum in order */
    float total = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        s->e[i] = kf_exp(l[s->order[i]] / s->temperature - m);
        total = total + s->e[i];
    }
    /* 5. top-p: the shortest prefix whose running sum reaches top_p * total */
    float cut = s->top_p * total, kept = 0.0f;
    uint32_t k = 0;
    while (k < n) {
        kept = kept + s->e[k++];
        if (kept >= cut) break;
    }
    /* 6. the draw: u in [0, 1) with 24 bits; the first i whose running sum exceeds u * kept */
    float u = (float)(opml_splitmix64(&s->state) >> (64 - UNIT_BITS)) * 0x1p-24f, target = u * kept, acc = 0.0f;
    for (uint32_t i = 0; i < k; i++) {
        acc = acc + s->e[i];
        if (target < acc) return (int32_t)s->order[i];
    }
    return (int32_t)s->order[k - 1];
}
