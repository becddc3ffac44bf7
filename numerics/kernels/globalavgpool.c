/* globalavgpool.c: OP_GLOBALAVGPOOL, X f32 [N, C, d1, ..] to [N, C, 1, ..]: each plane summed in
 * index order from +0, divided by (float)(d1 * d2 * ..), NaN canonical. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || y->dtype != KD_F32 || x->rank < 3 || y->rank != x->rank)
        return KD_ESHAPE;
    if (y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1]) return KD_ESHAPE;
    for (unsigned i = 2; i < y->rank; i++)
        if (y->dims[i] != 1) return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t planes = (size_t)d->in[0].dims[0] * d->in[0].dims[1];
    size_t len = planes ? (size_t)(kd_numel(&d->in[0]) / planes) : 0;
    for (size_t p = 0; p < planes; p++) {
        float s = 0.0f;
        for (size_t i = 0; i < len; i++) s = s + x[p * len + i];
        y[p] = kf_canon(s / (float)len);
    }
}

const kernel_op kop_globalavgpool = {"GlobalAveragePool", check, NULL, run, 0, 0};
