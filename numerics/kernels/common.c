/* common.c: shape helpers shared by several operators (ops.h). */
#include "ops.h"

int kd_same(const kd_tensor *a, const kd_tensor *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    for (unsigned i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

int kd_check_unary(const kd_desc *d, unsigned in, unsigned out) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != in || y->dtype != out || x->rank != y->rank) return KD_ESHAPE;
    for (unsigned i = 0; i < y->rank; i++)
        if (x->dims[i] != y->dims[i]) return KD_ESHAPE;
    return KD_OK;
}

int kd_check_unary_f32(const kd_desc *d) { return kd_check_unary(d, KD_F32, KD_F32); }

/* Output size of one pooled dimension: floor or ceil of (in + pads - extent) / stride, plus 1. */
static int pool_dim_ok(uint32_t in, int32_t k, int32_t s, int32_t p0, int32_t p1, int32_t dil, uint32_t out) {
    if (k < 1 || s < 1 || dil < 1 || p0 < 0 || p1 < 0 || k > 65536 || s > 65536 || dil > 65536 || p0 > 65536 || p1 > 65536)
        return 0;
    int64_t span = (int64_t)in + p0 + p1 - (int64_t)dil * (k - 1) - 1;
    if (span < 0) return 0;
    int64_t lo = span / s + 1, hi = (span + s - 1) / s + 1; /* floor mode, ceil mode */
    /* ceil mode drops a last window that would start in the right padding */
    if (hi > lo && (hi - 1) * s >= (int64_t)in + p0) hi--;
    return (int64_t)out == lo || (int64_t)out == hi;
}

int kd_check_pool2d(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || y->dtype != KD_F32 || x->rank != 4 || y->rank != 4)
        return KD_ESHAPE;
    if (y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1]) return KD_ESHAPE;
    const int32_t *a = d->ia;
    if (!pool_dim_ok(x->dims[2], a[0], a[2], a[4], a[6], a[8], y->dims[2]) ||
        !pool_dim_ok(x->dims[3], a[1], a[3], a[5], a[7], a[9], y->dims[3]))
        return KD_EATTR;
    return KD_OK;
}
