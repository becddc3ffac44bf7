/* q8linear.c: OP_Q8LINEAR, the block-scaled W8A8 product of LLaMA-class models (GGUF's Q8_0).
 * Operands: 0 X f32 [.., K] (K a multiple of 32); 1 W Q8_0 [N, K] (row n = output n). Output f32
 * with rows * N elements, rows = numel(X) / K. Each row of X is quantized per block of 32
 * (kq8_quantize_row); y[r, n] = kf_canon(kq8_dot(row r, W row n)): exact int32 sums per block,
 * one written order for the float terms (q8.h, docs/numerics.md). */
#include "fmath.h"
#include "ops.h"
#include "q8.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *w = &d->in[1];
    if (d->noperands != 2 || x->dtype != KD_F32 || x->rank < 1 || d->out.dtype != KD_F32) return KD_ESHAPE;
    uint32_t k = x->dims[x->rank - 1];
    if (w->dtype != KD_Q8_0 || w->rank != 2 || w->dims[1] != k || k < KD_Q8_BLOCK) return KD_ESHAPE;
    if (kd_numel(&d->out) != kd_numel(x) / k * w->dims[0]) return KD_ESHAPE;
    return KD_OK;
}

/* one row's quantized values and block scales */
static size_t scratch(const kd_desc *d) {
    size_t k = d->in[0].dims[d->in[0].rank - 1];
    return k + k / KD_Q8_BLOCK * 4;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const float *x = in[0];
    const uint8_t *w = in[1];
    float *y = out, *dx = scr;
    size_t k = d->in[0].dims[d->in[0].rank - 1], n = d->in[1].dims[0], nb = k / KD_Q8_BLOCK;
    size_t rows = (size_t)(kd_numel(&d->in[0]) / k), wrow = nb * KD_Q8_BYTES;
    int8_t *q = (int8_t *)(dx + nb);
    for (size_t r = 0; r < rows; r++) {
        kq8_quantize_row(x + r * k, k, q, dx);
        for (size_t o = 0; o < n; o++) y[r * n + o] = kf_canon(kq8_dot(q, dx, w + o * wrow, nb));
    }
}

const kernel_op kop_q8linear = {"Q8Linear", check, scratch, run, 0, 0};
