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

int kd_check_qconv_operands(const kd_desc *d, int negative_pads) {
    const kd_tensor *x = &d->in[0], *w = &d->in[1], *s = &d->in[2], *b = &d->in[3], *y = &d->out;
    const int32_t *a = d->ia;
    if ((d->noperands != 3 && d->noperands != 4) || x->dtype != KD_F32 || x->rank != 4 || w->dtype != KD_I8 ||
        w->rank != 4 || y->dtype != KD_F32 || y->rank != 4)
        return KD_ESHAPE;
    uint32_t g = (uint32_t)a[0], m = w->dims[0];
    if (a[0] < 1 || x->dims[1] % g || m % g || w->dims[1] != x->dims[1] / g) return KD_ESHAPE;
    if (s->dtype != KD_F32 || s->rank != 1 || s->dims[0] != m) return KD_ESHAPE;
    if (d->noperands == 4 && (b->dtype != KD_F32 || b->rank != 1 || b->dims[0] != m)) return KD_ESHAPE;
    for (int i = 1; i <= 8; i++) /* strides and dilations >= 1; pads >= 0 (or > -65536) */
        if (a[i] < (i <= 2 || i >= 7 ? 1 : negative_pads ? -65536 : 0) || a[i] > 65536) return KD_EATTR;
    uint64_t kk = (uint64_t)w->dims[1] * w->dims[2] * w->dims[3];
    if (kk > KD_MAX_K || kk == 0) return KD_ESHAPE;
    if (y->dims[0] != x->dims[0] || y->dims[1] != m) return KD_ESHAPE;
    return KD_OK;
}
