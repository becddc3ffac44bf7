/* transpose.c: OP_TRANSPOSE, output dim i is input dim perm[i] (perm = ia[0 .. rank-1], a
 * permutation). Any dtype; bytes are moved, never changed. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != y->dtype || !kd_elsize(y->dtype) || x->rank != y->rank) return KD_ESHAPE;
    for (unsigned i = y->rank; i < KD_MAX_RANK; i++)
        if (d->ia[i]) return KD_EATTR; /* slots past the rank are zero (kernel.h) */
    unsigned seen = 0;
    for (unsigned i = 0; i < y->rank; i++) {
        int32_t p = d->ia[i];
        if (p < 0 || p >= (int32_t)y->rank || (seen >> p & 1)) return KD_EATTR;
        seen |= 1u << p;
        if (y->dims[i] != x->dims[p]) return KD_ESHAPE;
    }
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const kd_tensor *x = &d->in[0], *y = &d->out;
    unsigned es = kd_elsize(y->dtype), r = y->rank;
    size_t xs[KD_MAX_RANK], st[KD_MAX_RANK], idx[KD_MAX_RANK] = {0};
    size_t s = 1;
    for (int i = (int)r - 1; i >= 0; i--) xs[i] = s, s *= x->dims[i];
    for (unsigned i = 0; i < r; i++) st[i] = xs[d->ia[i]]; /* input stride of output dim i */
    size_t n = (size_t)kd_numel(y), off = 0;
    const uint8_t *src = in[0];
    uint8_t *dst = out;
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + i * es, src + off * es, es);
        for (int k = (int)r - 1; k >= 0; k--) {
            idx[k]++;
            off += st[k];
            if (idx[k] < y->dims[k]) break;
            off -= st[k] * idx[k];
            idx[k] = 0;
        }
    }
}

const kernel_op kop_transpose = {"Transpose", check, NULL, run, KD_IA(KD_MAX_RANK), 0};
