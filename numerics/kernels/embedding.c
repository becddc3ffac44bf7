/* embedding.c: OP_EMBEDDING, the token embedding gather of transformer models. Operands: 0 ids
 * int32 (any shape, rank <= 5); 1 table int8 [V, D] (row v = token v, quantized per row); 2 scale
 * f32 [V]. Output f32 [ids dims.., D]: y[t, :] = (float)table[id_t, :] * scale[id_t], one IEEE
 * multiplication per element, NaN canonical. An id outside [0, V) gives a row of canonical NaN
 * (an id is data, not a shape: the kernel cannot refuse it, so it makes it visible). */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *ids = &d->in[0], *t = &d->in[1], *s = &d->in[2], *y = &d->out;
    if (d->noperands != 3 || ids->dtype != KD_I32 || ids->rank > KD_MAX_RANK - 1 || t->dtype != KD_I8 ||
        t->rank != 2 || t->dims[0] < 1 || t->dims[1] < 1 || s->dtype != KD_F32 || s->rank != 1 ||
        s->dims[0] != t->dims[0] || y->dtype != KD_F32 || y->rank != ids->rank + 1 || y->dims[ids->rank] != t->dims[1])
        return KD_ESHAPE;
    for (unsigned i = 0; i < ids->rank; i++)
        if (y->dims[i] != ids->dims[i]) return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const int32_t *ids = in[0];
    const int8_t *table = in[1];
    const float *scale = in[2];
    float *y = out;
    size_t n = (size_t)kd_numel(&d->in[0]), v = d->in[1].dims[0], dim = d->in[1].dims[1];
    for (size_t t = 0; t < n; t++, y += dim) {
        int32_t id = ids[t];
        if (id < 0 || (size_t)id >= v) {
            for (size_t i = 0; i < dim; i++) y[i] = kf_from_bits(KF_CANON_NAN);
            continue;
        }
        const int8_t *row = table + (size_t)id * dim;
        float s = scale[id];
        for (size_t i = 0; i < dim; i++) y[i] = kf_canon((float)row[i] * s);
    }
}

const kernel_op kop_embedding = {"Embedding", check, NULL, run, 0, 0};
