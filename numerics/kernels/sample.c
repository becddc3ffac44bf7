/* sample.c: OP_SAMPLE, the sampler of a generation as a graph node (docs/generation.md: the step
 * graph's sampled token), and its arithmetic (sample.h, docs/numerics.md "Sampling"). Operands:
 * 0 logits f32 [.., N] (N >= 1; the last N values, the last row, are sampled); 1 the sampler input
 * int32 [5]: the draw state u64 (words 0 and 1, low first), the temperature's binary32 bits, top-k
 * (u32) and top-p's bits. Output int32 [1]: the token. Scratch: N ids and N floats.
 *
 * The candidates are ordered by a binary heap (the guest has no qsort): the order is total
 * (logit descending, id ascending), so any correct sort gives the same sequence, and only the
 * kept candidates (top-k) are taken off the heap. */
#include "sample.h"

#include "fmath.h"
#include "ops.h"

#define UNIT_BITS 24 /* the draw is a 24-bit fraction: exact in fp32 */

uint64_t kd_splitmix64(uint64_t *state) {
    uint64_t z = (*state += KD_SPLITMIX_GOLDEN);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int32_t kd_greedy(const float *l, size_t n) {
    size_t best = 0;
    while (best < n && kf_isnan(l[best])) best++;
    if (best == n) return 0;
    for (size_t i = best + 1; i < n; i++)
        if (l[i] > l[best]) best = i;
    return (int32_t)best;
}

/* a comes before b: larger logit, then lower id (neither logit NaN) */
static int before(const float *l, uint32_t a, uint32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); }

static void sift_down(const float *l, uint32_t *h, size_t i, size_t n) {
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && before(l, h[c + 1], h[c])) c++;
        if (!before(l, h[c], h[i])) return;
        uint32_t t = h[i];
        h[i] = h[c], h[c] = t;
        i = c;
    }
}

/* The first k of the n candidates in order: a heap whose top comes first; each pop moves the top
 * behind the heap, so c_i ends at order[n - 1 - i]; they are then moved to order[0..k). */
static void first_k(const float *l, uint32_t *order, size_t n, size_t k) {
    for (size_t i = n / 2; i-- > 0;) sift_down(l, order, i, n);
    for (size_t i = 0; i < k; i++) {
        uint32_t t = order[0];
        order[0] = order[n - 1 - i], order[n - 1 - i] = t;
        sift_down(l, order, 0, n - 1 - i);
    }
    for (size_t i = 0; i < k / 2; i++) {
        uint32_t t = order[n - 1 - i];
        order[n - 1 - i] = order[n - k + i], order[n - k + i] = t;
    }
    for (size_t i = 0; i < k; i++) order[i] = order[n - k + i];
}

int32_t kd_sample(const float *l, size_t nv, const kd_sampler *s, uint32_t *order, float *e) {
    if (s->temperature == 0.0f) return kd_greedy(l, nv);
    /* 1. candidates: the ids whose logit is not NaN; 2. the first top-k of them, in order */
    size_t n = 0;
    for (size_t i = 0; i < nv; i++)
        if (!kf_isnan(l[i])) order[n++] = (uint32_t)i;
    if (n == 0) return 0;
    size_t k = s->top_k && s->top_k < n ? s->top_k : n;
    first_k(l, order, n, k);
    n = k;
    /* 3. an infinite maximum takes it all */
    float t = s->temperature, m = l[order[0]] / t;
    if (kf_isinf(m)) return m > 0 ? (int32_t)order[0] : kd_greedy(l, nv);
    /* 4. weights e_i = kf_exp(l_i / T - m) and their sum in order */
    float total = 0.0f;
    for (size_t i = 0; i < n; i++) {
        e[i] = kf_exp(l[order[i]] / t - m);
        total = total + e[i];
    }
    /* 5. top-p: the shortest prefix whose running sum reaches top_p * total */
    float cut = s->top_p * total, kept = 0.0f;
    size_t kk = 0;
    while (kk < n) {
        kept = kept + e[kk++];
        if (kept >= cut) break;
    }
    /* 6. the draw: u in [0, 1) with 24 bits; the first i whose running sum exceeds u * kept */
    uint64_t state = s->state;
    float u = (float)(kd_splitmix64(&state) >> (64 - UNIT_BITS)) * 0x1p-24f, target = u * kept, acc = 0.0f;
    for (size_t i = 0; i < kk; i++) {
        acc = acc + e[i];
        if (target < acc) return (int32_t)order[i];
    }
    return (int32_t)order[kk - 1];
}

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *p = &d->in[1];
    if (d->noperands != 2 || x->dtype != KD_F32 || x->rank < 1 || x->dims[x->rank - 1] < 1 || p->dtype != KD_I32 ||
        kd_numel(p) != 5 || d->out.dtype != KD_I32 || kd_numel(&d->out) != 1)
        return KD_ESHAPE;
    return KD_OK;
}

static size_t scratch(const kd_desc *d) { return 8 * (size_t)d->in[0].dims[d->in[0].rank - 1]; }

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    size_t n = d->in[0].dims[d->in[0].rank - 1];
    const float *l = (const float *)in[0] + ((size_t)kd_numel(&d->in[0]) - n);
    const uint32_t *p = in[1];
    kd_sampler s = {(uint64_t)p[1] << 32 | p[0], kf_from_bits(p[2]), kf_from_bits(p[4]), p[3]};
    uint32_t *order = scr;
    *(int32_t *)out = kd_sample(l, n, &s, order, (float *)(order + n));
}

const kernel_op kop_sample = {"Sample", check, scratch, run, 0, 0};
