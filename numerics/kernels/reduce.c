/* reduce.c: the loop shared by ReduceSum, ReduceMean, ReduceMax, ReduceMin and ReduceProd (ops.h).
 * Sum: s = +0, then s = s + x for each reduced position in row-major order; mean: s / (float)count;
 * max: by "greater than" from -Inf, min: by "less than" from +Inf, any NaN gives NaN; product:
 * p = 1, then p = p * x in the same order. NaN canonical. */
#include "fmath.h"
#include "ops.h"

int kd_check_reduce(const kd_desc *d) {
    const kd_tensor *x = &d->in[0];
    if (d->noperands != 1 || x->dtype != KD_F32 || d->out.dtype != KD_F32) return KD_ESHAPE;
    if (d->ia[0] < 0 || (uint32_t)d->ia[0] >> x->rank) return KD_EATTR;
    uint64_t kept = 1;
    for (unsigned i = 0; i < x->rank; i++)
        if (!(d->ia[0] >> i & 1)) kept *= x->dims[i];
    return kd_numel(&d->out) == kept ? KD_OK : KD_ESHAPE;
}

void kd_reduce_run(const kd_desc *d, const float *x, float *y, enum kd_reduce mode) {
    const kd_tensor *t = &d->in[0];
    size_t stride[KD_MAX_RANK], kd[KD_MAX_RANK], ks[KD_MAX_RANK], rd[KD_MAX_RANK], rs[KD_MAX_RANK];
    unsigned nk = 0, nr = 0;
    size_t s = 1, kept = 1, count = 1;
    for (int i = (int)t->rank - 1; i >= 0; i--) stride[i] = s, s *= t->dims[i];
    for (unsigned i = 0; i < t->rank; i++) {
        if (d->ia[0] >> i & 1) rd[nr] = t->dims[i], rs[nr++] = stride[i], count *= t->dims[i];
        else kd[nk] = t->dims[i], ks[nk++] = stride[i], kept *= t->dims[i];
    }
    size_t ki[KD_MAX_RANK] = {0}, base = 0;
    for (size_t o = 0; o < kept; o++) {
        size_t ri[KD_MAX_RANK] = {0}, off = base;
        float acc = mode == KD_REDUCE_MAX ? kf_from_bits(0xFF800000u)
                    : mode == KD_REDUCE_MIN ? kf_from_bits(0x7F800000u)
                    : mode == KD_REDUCE_PROD ? 1.0f : 0.0f;
        int nan = 0;
        for (size_t r = 0; r < count; r++) {
            float v = x[off];
            if (mode == KD_REDUCE_MAX) {
                nan |= kf_isnan(v);
                acc = v > acc ? v : acc;
            } else if (mode == KD_REDUCE_MIN) {
                nan |= kf_isnan(v);
                acc = v < acc ? v : acc;
            } else if (mode == KD_REDUCE_PROD) {
                acc = acc * v;
            } else {
                acc = acc + v;
            }
            for (int k = (int)nr - 1; k >= 0; k--) { /* next reduced position */
                ri[k]++, off += rs[k];
                if (ri[k] < rd[k]) break;
                off -= rs[k] * ri[k], ri[k] = 0;
            }
        }
        if (mode == KD_REDUCE_MEAN) acc = acc / (float)count;
        y[o] = nan ? kf_from_bits(KF_CANON_NAN) : kf_canon(acc);
        for (int k = (int)nk - 1; k >= 0; k--) { /* next kept position */
            ki[k]++, base += ks[k];
            if (ki[k] < kd[k]) break;
            base -= ks[k] * ki[k], ki[k] = 0;
        }
    }
}
