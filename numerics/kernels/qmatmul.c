/* qmatmul.c: OP_QMATMUL, the W8A8 product of two run-time tensors (ONNX MatMul of two values,
 * attention scores). Operands: 0 A f32 [.., M, K]; 1 B f32 [.., K, N]; output f32 [.., M, N] with
 * the leading (batch) dimensions broadcast as numpy does. Each row of A and each column of B is
 * quantized with its own scale; y = ((float)acc * sa[m]) * sb[n]. */
#include "fmath.h"
#include "ops.h"
#include "quant.h"

uint32_t kd_batch_dim(const kd_tensor *t, unsigned outrank, unsigned i) {
    unsigned off = outrank - t->rank;
    return i < off ? 1 : t->dims[i - off];
}

static int check(const kd_desc *d) {
    const kd_tensor *a = &d->in[0], *b = &d->in[1], *y = &d->out;
    if (d->noperands != 2 || a->dtype != KD_F32 || b->dtype != KD_F32 || y->dtype != KD_F32) return KD_ESHAPE;
    if (a->rank < 2 || b->rank < 2 || y->rank != (a->rank > b->rank ? a->rank : b->rank)) return KD_ESHAPE;
    uint32_t m = a->dims[a->rank - 2], k = a->dims[a->rank - 1], n = b->dims[b->rank - 1];
    if (b->dims[b->rank - 2] != k || k < 1 || k > KD_MAX_K) return KD_ESHAPE;
    if (y->dims[y->rank - 2] != m || y->dims[y->rank - 1] != n) return KD_ESHAPE;
    for (unsigned i = 0; i + 2 < y->rank; i++) {
        uint32_t da = kd_batch_dim(a, y->rank, i), db = kd_batch_dim(b, y->rank, i);
        if (y->dims[i] != (da > db ? da : db) || (da != y->dims[i] && da != 1) || (db != y->dims[i] && db != 1))
            return KD_ESHAPE;
    }
    return KD_OK;
}

size_t kd_batch_offset(const kd_tensor *t, const kd_tensor *y, size_t idx) {
    size_t off = 0, stride = (size_t)t->dims[t->rank - 2] * t->dims[t->rank - 1];
    for (int i = (int)y->rank - 3; i >= 0; i--) {
        uint32_t yd = y->dims[i], td = kd_batch_dim(t, y->rank, (unsigned)i);
        size_t c = idx % yd;
        idx /= yd;
        if (td != 1) off += c * stride;
        stride *= td;
    }
    return off;
}

static size_t scratch(const kd_desc *d) {
    const kd_tensor *a = &d->in[0], *b = &d->in[1];
    size_t m = a->dims[a->rank - 2], k = a->dims[a->rank - 1], n = b->dims[b->rank - 1];
    return (m + n) * sizeof(float) + m * k + k * n;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const kd_tensor *ta = &d->in[0], *tb = &d->in[1], *ty = &d->out;
    size_t m = ta->dims[ta->rank - 2], k = ta->dims[ta->rank - 1], n = tb->dims[tb->rank - 1];
    if (m == 0 || n == 0) return;
    size_t batches = (size_t)(kd_numel(ty) / (m * n));
    float *sa = scr, *sb = sa + m;
    int8_t *qa = (int8_t *)(sb + n), *qb = qa + m * k; /* qb is column-major: qb[c * k + i] */
    float *y = out;
    for (size_t bi = 0; bi < batches; bi++) {
        const float *a = (const float *)in[0] + kd_batch_offset(ta, ty, bi);
        const float *b = (const float *)in[1] + kd_batch_offset(tb, ty, bi);
        for (size_t r = 0; r < m; r++) {
            sa[r] = kq_scale(a + r * k, k, 1);
            kq_quantize(a + r * k, k, 1, sa[r], qa + r * k);
        }
        for (size_t c = 0; c < n; c++) {
            sb[c] = kq_scale(b + c, k, n);
            kq_quantize(b + c, k, n, sb[c], qb + c * k);
        }
        for (size_t r = 0; r < m; r++)
            for (size_t c = 0; c < n; c++) {
                int32_t acc = 0;
                for (size_t i = 0; i < k; i++) acc += (int32_t)qa[r * k + i] * qb[c * k + i];
                y[(bi * m + r) * n + c] = kq_output(acc, sa[r], sb[c], 0, 0.0f);
            }
    }
}

const kernel_op kop_qmatmul = {"QMatMul", check, scratch, run, 0, 0};
