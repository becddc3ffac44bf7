/* broadcast.c: numpy broadcasting (ops.h): the shape rule, the walk of the output with each
 * operand's offset (stride 0 on its broadcast dimensions), and the f32 binary loop of Add, Sub,
 * Mul, Div and Pow built on them. Equal, Where and Expand walk the same way. */
#include "fmath.h"
#include "ops.h"

int kd_check_bcast_shapes(const kd_desc *d, unsigned n, int grow) {
    const kd_tensor *y = &d->out;
    if (n > KD_BCAST_MAX || d->noperands != n) return KD_ESHAPE;
    for (unsigned j = 0; j < n; j++) {
        const kd_tensor *t = &d->in[j];
        if (t->rank > y->rank) return KD_ESHAPE;
        for (unsigned i = 0; i < t->rank; i++) {
            uint32_t td = t->dims[i], yd = y->dims[y->rank - t->rank + i];
            if (td != yd && td != 1) return KD_ESHAPE;
        }
    }
    for (unsigned i = 0; i < y->rank && !grow; i++) { /* each output dim is the largest operand's */
        uint32_t m = 1;
        for (unsigned j = 0; j < n; j++) {
            const kd_tensor *t = &d->in[j];
            int k = (int)i - (int)(y->rank - t->rank);
            if (k >= 0 && t->dims[k] > m) m = t->dims[k];
        }
        if (m != y->dims[i] && y->dims[i] != 0) return KD_ESHAPE;
    }
    return KD_OK;
}

void kd_bcast_init(kd_bcast *b, const kd_desc *d, unsigned n) {
    const kd_tensor *y = &d->out;
    b->n = n, b->rank = y->rank, b->dims = y->dims;
    for (unsigned j = 0; j < n; j++) {
        const kd_tensor *t = &d->in[j];
        size_t s = 1;
        for (int i = (int)y->rank - 1; i >= 0; i--) {
            int k = i - (int)(y->rank - t->rank);
            uint32_t td = k >= 0 ? t->dims[k] : 1;
            b->st[j][i] = td == 1 ? 0 : s;
            s *= td;
        }
        b->off[j] = 0;
    }
    for (unsigned i = 0; i < KD_MAX_RANK; i++) b->idx[i] = 0;
}

int kd_check_broadcast(const kd_desc *d) {
    if (d->noperands != 2 || d->out.dtype != KD_F32 || d->in[0].dtype != KD_F32 || d->in[1].dtype != KD_F32)
        return KD_ESHAPE;
    return kd_check_bcast_shapes(d, 2, 0);
}

void kd_broadcast_run(const kd_desc *d, const float *a, const float *b, float *y, kd_binop f) {
    kd_bcast w;
    kd_bcast_init(&w, d, 2);
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++, kd_bcast_next(&w)) y[i] = kf_canon(f(a[w.off[0]], b[w.off[1]]));
}
