/* gelu.c: OP_GELU, ONNX's Gelu element-wise on one f32 operand; ia[0] 0 the exact form, 1 the
 * tanh approximation (ONNX's approximate = "tanh"):
 *   exact: y = (x * (kf_erf(x / 1.41421353816986083984375) + 1)) * 0.5
 *          (the bits of PyTorch's exported chain Div, Erf, Add 1, Mul x, Mul 0.5)
 *   tanh:  u = 0.79788458347320556640625 * (x + 0.044715 * ((x * x) * x));
 *          y = (x * (kf_tanh(u) + 1)) * 0.5
 * NaN canonical. */
#include "fmath.h"
#include "ops.h"

#define GELU_SQRT2 1.41421353816986083984375f        /* sqrt(2) rounded to binary32 */
#define GELU_SQRT_2_PI 0.79788458347320556640625f    /* sqrt(2/pi) rounded to binary32 */
#define GELU_CUBIC 0.044715f

static int check(const kd_desc *d) {
    if (d->ia[0] != 0 && d->ia[0] != 1) return KD_EATTR;
    return kd_check_unary_f32(d);
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++) {
        float v = x[i], t;
        if (d->ia[0] == 0) t = kf_erf(v / GELU_SQRT2);
        else t = kf_tanh(GELU_SQRT_2_PI * (v + GELU_CUBIC * ((v * v) * v)));
        y[i] = kf_canon((v * (t + 1.0f)) * 0.5f);
    }
}

const kernel_op kop_gelu = {"Gelu", check, NULL, run, KD_IA(1), 0};
