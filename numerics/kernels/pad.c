/* pad.c: OP_PAD, constant padding: output dim k = ia[k] + input dim k + ia[6 + k] (the pads
 * before and after, >= 0); the input's bytes land at offset ia[k] in each dim, every other output
 * element is fa[0] (NaN canonical). f32. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || y->dtype != KD_F32 || x->rank != y->rank) return KD_ESHAPE;
    for (unsigned k = x->rank; k < KD_MAX_RANK; k++)
        if (d->ia[k] || d->ia[KD_MAX_RANK + k]) return KD_EATTR; /* slots past the rank are zero (kernel.h) */
    for (unsigned k = 0; k < x->rank; k++) {
        if (d->ia[k] < 0 || d->ia[6 + k] < 0) return KD_EATTR;
        if ((uint64_t)x->dims[k] + (uint32_t)d->ia[k] + (uint32_t)d->ia[6 + k] != y->dims[k]) return KD_ESHAPE;
    }
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const kd_tensor *x = &d->in[0], *y = &d->out;
    const float *src = in[0];
    float *dst = out;
    size_t n = (size_t)kd_numel(y), idx[KD_MAX_RANK] = {0}, xs[KD_MAX_RANK], s = 1;
    for (int i = (int)x->rank - 1; i >= 0; i--) xs[i] = s, s *= x->dims[i];
    for (size_t i = 0; i < n; i++) {
        size_t off = 0;
        int inside = 1;
        for (unsigned k = 0; k < y->rank && inside; k++) {
            size_t p = idx[k] - (size_t)d->ia[k];
            inside = idx[k] >= (size_t)d->ia[k] && p < x->dims[k];
            off += p * xs[k];
        }
        dst[i] = inside ? src[off] : kf_canon(d->fa[0]);
        for (int k = (int)y->rank - 1; k >= 0; k--) {
            if (++idx[k] < y->dims[k]) break;
            idx[k] = 0;
        }
    }
}

const kernel_op kop_pad = {"Pad", check, NULL, run, KD_IA(2 * KD_MAX_RANK), KD_FA(1)};
