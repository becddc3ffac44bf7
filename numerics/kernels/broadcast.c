/* broadcast.c: the numpy broadcasting loop shared by Add, Sub, Mul and Div (ops.h). The output is
 * walked in index order; each operand's element follows from the output index with stride 0 on
 * its broadcast dimensions. */
#include "fmath.h"
#include "ops.h"

int kd_check_broadcast(const kd_desc *d) {
    const kd_tensor *y = &d->out;
    if (d->noperands != 2 || y->dtype != KD_F32) return KD_ESHAPE;
    for (unsigned j = 0; j < 2; j++) {
        const kd_tensor *t = &d->in[j];
        if (t->dtype != KD_F32 || t->rank > y->rank) return KD_ESHAPE;
        for (unsigned i = 0; i < t->rank; i++) {
            uint32_t td = t->dims[i], yd = y->dims[y->rank - t->rank + i];
            if (td != yd && td != 1) return KD_ESHAPE;
        }
    }
    for (unsigned i = 0; i < y->rank; i++) { /* each output dim is the larger of the two */
        uint32_t m = 1;
        for (unsigned j = 0; j < 2; j++) {
            const kd_tensor *t = &d->in[j];
            int k = (int)i - (int)(y->rank - t->rank);
            if (k >= 0 && t->dims[k] > m) m = t->dims[k];
        }
        if (m != y->dims[i] && y->dims[i] != 0) return KD_ESHAPE;
    }
    return KD_OK;
}

/* element strides of t seen through the output's rank (0 on broadcast dims) */
static void strides(const kd_tensor *t, const kd_tensor *y, size_t st[KD_MAX_RANK]) {
    size_t s = 1;
    for (int i = (int)y->rank - 1; i >= 0; i--) {
        int k = i - (int)(y->rank - t->rank);
        uint32_t td = k >= 0 ? t->dims[k] : 1;
        st[i] = td == 1 ? 0 : s;
        s *= td;
    }
}

void kd_broadcast_run(const kd_desc *d, const float *a, const float *b, float *y, kd_binop f) {
    const kd_tensor *ty = &d->out;
    size_t sa[KD_MAX_RANK], sb[KD_MAX_RANK], idx[KD_MAX_RANK] = {0};
    strides(&d->in[0], ty, sa);
    strides(&d->in[1], ty, sb);
    size_t n = (size_t)kd_numel(ty), oa = 0, ob = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = kf_canon(f(a[oa], b[ob]));
        for (int k = (int)ty->rank - 1; k >= 0; k--) { /* advance the output index, odometer style */
            idx[k]++;
            oa += sa[k], ob += sb[k];
            if (idx[k] < ty->dims[k]) break;
            oa -= sa[k] * idx[k], ob -= sb[k] * idx[k];
            idx[k] = 0;
        }
    }
}
