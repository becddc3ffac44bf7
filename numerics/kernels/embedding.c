/* embedding.c: OP_EMBEDDING, the token embedding gather of transformer models. Operand 0: ids
 * int32 (any shape, rank <= 5). Output f32 [ids dims.., D]. Two forms:
 *   - int8 table: 1 table int8 [V, D] (row v = token v, quantized per row); 2 scale f32 [V];
 *     y[t, :] = (float)table[id_t, :] * scale[id_t];
 *   - Q8_0 table in 1..11 parts: operands 1..p Q8_0 [V_j, D], the table being their rows in
 *     order (V = sum of V_j; a table larger than one VM slot is split by rows at conversion);
 *     y[t, i] = (float)q_i * d of the block holding element i of row id_t.
 * One IEEE multiplication per element, NaN canonical. An id outside [0, V) gives a row of
 * canonical NaN (an id is data, not a shape: the kernel cannot refuse it, so it makes it visible). */
#include "fmath.h"
#include "ops.h"
#include "q8.h"

static int check(const kd_desc *d) {
    const kd_tensor *ids = &d->in[0], *t = &d->in[1], *y = &d->out;
    if (d->noperands < 2 || ids->dtype != KD_I32 || ids->rank > KD_MAX_RANK - 1 || t->rank != 2 || t->dims[1] < 1 ||
        y->dtype != KD_F32 || y->rank != ids->rank + 1 || y->dims[ids->rank] != t->dims[1])
        return KD_ESHAPE;
    for (unsigned i = 0; i < ids->rank; i++)
        if (y->dims[i] != ids->dims[i]) return KD_ESHAPE;
    if (t->dtype == KD_I8) {
        const kd_tensor *s = &d->in[2];
        if (d->noperands != 3 || t->dims[0] < 1 || s->dtype != KD_F32 || s->rank != 1 || s->dims[0] != t->dims[0])
            return KD_ESHAPE;
        return KD_OK;
    }
    uint64_t v = 0;
    for (unsigned j = 1; j < d->noperands; j++) {
        const kd_tensor *p = &d->in[j];
        if (p->dtype != KD_Q8_0 || p->rank != 2 || p->dims[0] < 1 || p->dims[1] != t->dims[1]) return KD_ESHAPE;
        v += p->dims[0];
    }
    return v <= INT32_MAX ? KD_OK : KD_ESHAPE;
}

static void nan_row(float *y, size_t dim) {
    for (size_t i = 0; i < dim; i++) y[i] = kf_from_bits(KF_CANON_NAN);
}

static void run_i8(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y) {
    const int32_t *ids = in[0];
    const int8_t *table = in[1];
    const float *scale = in[2];
    size_t n = (size_t)kd_numel(&d->in[0]), v = d->in[1].dims[0], dim = d->in[1].dims[1];
    for (size_t t = 0; t < n; t++, y += dim) {
        int32_t id = ids[t];
        if (id < 0 || (size_t)id >= v) {
            nan_row(y, dim);
            continue;
        }
        const int8_t *row = table + (size_t)id * dim;
        float s = scale[id];
        for (size_t i = 0; i < dim; i++) y[i] = kf_canon((float)row[i] * s);
    }
}

static void run_q8(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y) {
    const int32_t *ids = in[0];
    size_t n = (size_t)kd_numel(&d->in[0]), dim = d->in[1].dims[1], nb = dim / KD_Q8_BLOCK;
    for (size_t t = 0; t < n; t++, y += dim) {
        int32_t id = ids[t];
        unsigned j = 1;
        size_t row = id < 0 ? SIZE_MAX : (size_t)id; /* the row within part j */
        while (j < d->noperands && row >= d->in[j].dims[0]) row -= d->in[j].dims[0], j++;
        if (j == d->noperands) {
            nan_row(y, dim);
            continue;
        }
        const uint8_t *blk = (const uint8_t *)in[j] + row * nb * KD_Q8_BYTES;
        for (size_t b = 0; b < nb; b++, blk += KD_Q8_BYTES) {
            float s = kq8_scale(blk);
            const int8_t *q = (const int8_t *)(blk + 2);
            for (size_t i = 0; i < KD_Q8_BLOCK; i++) y[b * KD_Q8_BLOCK + i] = kf_canon((float)q[i] * s);
        }
    }
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    if (d->in[1].dtype == KD_I8) run_i8(d, in, out);
    else run_q8(d, in, out);
}

const kernel_op kop_embedding = {"Embedding", check, NULL, run, 0, 0};
