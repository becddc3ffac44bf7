/* slice.c: OP_SLICE, a strided slice: output element (i_0, .., i_r-1) is input element
 * (start_0 + i_0 * step_0, ..) with start_k = ia[k] and step_k = ia[6 + k] (non-zero, may be
 * negative). Used for ONNX Slice and for each output of a split multi-output operator. Any
 * dtype; bytes are moved, never changed. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != y->dtype || !kd_elsize(y->dtype) || x->rank != y->rank) return KD_ESHAPE;
    for (unsigned k = y->rank; k < KD_MAX_RANK; k++)
        if (d->ia[k] || d->ia[KD_MAX_RANK + k]) return KD_EATTR; /* slots past the rank are zero (kernel.h) */
    for (unsigned k = 0; k < y->rank; k++) {
        int64_t start = d->ia[k], step = d->ia[6 + k];
        if (step == 0) return KD_EATTR;
        if (y->dims[k] == 0) continue;
        int64_t last = start + (int64_t)(y->dims[k] - 1) * step;
        if (start < 0 || start >= (int64_t)x->dims[k] || last < 0 || last >= (int64_t)x->dims[k]) return KD_EATTR;
    }
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const kd_tensor *x = &d->in[0], *y = &d->out;
    unsigned es = kd_elsize(y->dtype), r = y->rank;
    int64_t xs[KD_MAX_RANK], st[KD_MAX_RANK];
    size_t idx[KD_MAX_RANK] = {0};
    int64_t s = 1, off = 0;
    for (int i = (int)r - 1; i >= 0; i--) xs[i] = s, s *= x->dims[i];
    for (unsigned k = 0; k < r; k++) st[k] = xs[k] * d->ia[6 + k], off += xs[k] * d->ia[k];
    size_t n = (size_t)kd_numel(y);
    const uint8_t *src = in[0];
    uint8_t *dst = out;
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + i * es, src + (size_t)off * es, es);
        for (int k = (int)r - 1; k >= 0; k--) {
            idx[k]++;
            off += st[k];
            if (idx[k] < y->dims[k]) break;
            off -= st[k] * (int64_t)idx[k];
            idx[k] = 0;
        }
    }
}

const kernel_op kop_slice = {"Slice", check, NULL, run, KD_IA(2 * KD_MAX_RANK), 0};
