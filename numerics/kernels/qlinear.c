/* qlinear.c: OP_QLINEAR, the W8A8 product with stored weights (ONNX Gemm and MatMul with a
 * constant right operand). Operands: 0 X f32 [.., K]; 1 W int8 [N, K] (row n = output channel n);
 * 2 scale f32 [N]; 3 (optional) bias f32 [N]. Output f32 with rows * N elements, rows = numel(X)/K.
 * Each row of X is quantized with its own scale (quant.h); the dot products are exact int32. */
#include "fmath.h"
#include "ops.h"
#include "quant.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *w = &d->in[1], *s = &d->in[2], *b = &d->in[3];
    if ((d->noperands != 3 && d->noperands != 4) || x->dtype != KD_F32 || x->rank < 1 || d->out.dtype != KD_F32)
        return KD_ESHAPE;
    uint32_t k = x->dims[x->rank - 1];
    if (w->dtype != KD_I8 || w->rank != 2 || w->dims[1] != k || k < 1 || k > KD_MAX_K) return KD_ESHAPE;
    uint32_t n = w->dims[0];
    if (s->dtype != KD_F32 || s->rank != 1 || s->dims[0] != n) return KD_ESHAPE;
    if (d->noperands == 4 && (b->dtype != KD_F32 || b->rank != 1 || b->dims[0] != n)) return KD_ESHAPE;
    if (kd_numel(&d->out) != kd_numel(x) / k * n) return KD_ESHAPE;
    return KD_OK;
}

static size_t scratch(const kd_desc *d) { return d->in[0].dims[d->in[0].rank - 1]; }

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const float *x = in[0], *sw = in[2], *bias = d->noperands == 4 ? in[3] : NULL;
    const int8_t *w = in[1];
    float *y = out;
    int8_t *q = scr;
    size_t k = d->in[0].dims[d->in[0].rank - 1], n = d->in[1].dims[0];
    size_t rows = (size_t)(kd_numel(&d->in[0]) / k);
    for (size_t r = 0; r < rows; r++) {
        float sx = kq_scale(x + r * k, k, 1);
        kq_quantize(x + r * k, k, 1, sx, q);
        for (size_t o = 0; o < n; o++) {
            const int8_t *wr = w + o * k;
            int32_t acc = 0;
            for (size_t i = 0; i < k; i++) acc += (int32_t)q[i] * wr[i];
            y[r * n + o] = kq_output(acc, sx, sw[o], bias != NULL, bias ? bias[o] : 0.0f);
        }
    }
}

const kernel_op kop_qlinear = {"QLinear", check, scratch, run, 0, 0};
