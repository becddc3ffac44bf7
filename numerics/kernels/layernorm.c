/* layernorm.c: OP_LAYERNORM, ONNX's LayerNormalization (and PyTorch's exported chain
 * ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add, with exactly its bits).
 * Operands: 0 X f32 (rank >= 1), 1 scale f32, 2 bias f32 (optional), scale and bias of D elements
 * where D is the product of X's dims from ia[0] = axis (0 <= axis < rank) on; fa[0] = epsilon
 * (finite). Output like X. Per row of D values in index order:
 *   s = +0; s = s + x_i;  m = s / (float)D;
 *   v = +0; v = v + (x_i - m) * (x_i - m);  r = kf_sqrt(v / (float)D + eps);
 *   y_i = ((x_i - m) / r) * scale_i  (+ bias_i when present); NaN canonical. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0];
    if ((d->noperands != 2 && d->noperands != 3) || x->dtype != KD_F32 || x->rank < 1 || !kd_same(x, &d->out))
        return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] >= (int32_t)x->rank || !(d->fa[0] - d->fa[0] == 0.0f)) return KD_EATTR;
    uint64_t len = 1;
    for (unsigned i = (unsigned)d->ia[0]; i < x->rank; i++) len *= x->dims[i];
    for (unsigned j = 1; j < d->noperands; j++)
        if (d->in[j].dtype != KD_F32 || kd_numel(&d->in[j]) != len) return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const kd_tensor *x = &d->in[0];
    const float *xs = in[0], *scale = in[1], *bias = d->noperands == 3 ? in[2] : NULL;
    float *y = out, eps = d->fa[0];
    size_t len = 1, rows;
    for (unsigned i = (unsigned)d->ia[0]; i < x->rank; i++) len *= x->dims[i];
    rows = len ? (size_t)kd_numel(x) / len : 0;
    float fd = (float)len;
    for (size_t r = 0; r < rows; r++, xs += len, y += len) {
        float s = 0.0f, v = 0.0f;
        for (size_t i = 0; i < len; i++) s = s + xs[i];
        float m = s / fd;
        for (size_t i = 0; i < len; i++) {
            float c = xs[i] - m;
            v = v + c * c;
        }
        float den = kf_sqrt(v / fd + eps);
        for (size_t i = 0; i < len; i++) {
            float t = ((xs[i] - m) / den) * scale[i];
            y[i] = kf_canon(bias ? t + bias[i] : t);
        }
    }
}

const kernel_op kop_layernorm = {"LayerNorm", check, NULL, run, KD_IA(1), KD_FA(1)};
