/* math_unary.c: the element-wise maps of the breadth operators (ids 96-117, docs/numerics.md "More
 * element-wise operators"), one kernel_op each, all of one shape: one f32 operand, an f32 output
 * of its shape, y[i] = kf_canon(f(x[i])) with f a scalar function of fmath.h (no libm) and the
 * operator's float attributes. */
#include "fmath.h"
#include "ops.h"

/* y[i] = kf_canon(expr) with v = x[i] and the descriptor d in scope. */
#define MAP(sym, expr)                                                                                     \
    static void run_##sym(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) { \
        (void)scratch;                                                                                     \
        const float *x = in[0];                                                                            \
        float *y = out;                                                                                    \
        size_t n = (size_t)kd_numel(&d->out);                                                              \
        for (size_t i = 0; i < n; i++) {                                                                   \
            float v = x[i];                                                                                \
            y[i] = kf_canon(expr);                                                                         \
        }                                                                                                  \
    }

MAP(sin, kf_sin(v))
MAP(cos, kf_cos(v))
MAP(tan, kf_tan(v))
MAP(asin, kf_asin(v))
MAP(acos, kf_acos(v))
MAP(atan, kf_atan(v))
MAP(sinh, kf_sinh(v))
MAP(cosh, kf_cosh(v))
MAP(asinh, kf_asinh(v))
MAP(acosh, kf_acosh(v))
MAP(atanh, kf_atanh(v))
MAP(ceil, kf_ceil(v))
MAP(floor, kf_floor(v))
MAP(round, kf_round_half_even(v))
MAP(sign, v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v) /* +-0 kept */
MAP(softplus, v > 0.0f ? v + kf_log1p(kf_exp(-v)) : kf_log1p(kf_exp(v)))
MAP(softsign, v / (1.0f + (v < 0.0f ? -v : v)))
MAP(elu, v < 0.0f ? d->fa[0] * kf_expm1(v) : v)                           /* fa[0] alpha */
MAP(selu, v <= 0.0f ? d->fa[1] * (d->fa[0] * kf_expm1(v)) : d->fa[1] * v) /* alpha, gamma */
MAP(celu, v > 0.0f ? v : d->fa[0] * kf_expm1(v / d->fa[0]))               /* alpha */
MAP(thresholdedrelu, v > d->fa[0] ? v : 0.0f)                              /* alpha */
MAP(shrink, v < -d->fa[1] ? v + d->fa[0] : v > d->fa[1] ? v - d->fa[0] : 0.0f) /* bias, lambd */

const kernel_op kop_sin = {"Sin", kd_check_unary_f32, NULL, run_sin, 0, 0};
const kernel_op kop_cos = {"Cos", kd_check_unary_f32, NULL, run_cos, 0, 0};
const kernel_op kop_tan = {"Tan", kd_check_unary_f32, NULL, run_tan, 0, 0};
const kernel_op kop_asin = {"Asin", kd_check_unary_f32, NULL, run_asin, 0, 0};
const kernel_op kop_acos = {"Acos", kd_check_unary_f32, NULL, run_acos, 0, 0};
const kernel_op kop_atan = {"Atan", kd_check_unary_f32, NULL, run_atan, 0, 0};
const kernel_op kop_sinh = {"Sinh", kd_check_unary_f32, NULL, run_sinh, 0, 0};
const kernel_op kop_cosh = {"Cosh", kd_check_unary_f32, NULL, run_cosh, 0, 0};
const kernel_op kop_asinh = {"Asinh", kd_check_unary_f32, NULL, run_asinh, 0, 0};
const kernel_op kop_acosh = {"Acosh", kd_check_unary_f32, NULL, run_acosh, 0, 0};
const kernel_op kop_atanh = {"Atanh", kd_check_unary_f32, NULL, run_atanh, 0, 0};
const kernel_op kop_ceil = {"Ceil", kd_check_unary_f32, NULL, run_ceil, 0, 0};
const kernel_op kop_floor = {"Floor", kd_check_unary_f32, NULL, run_floor, 0, 0};
const kernel_op kop_round = {"Round", kd_check_unary_f32, NULL, run_round, 0, 0};
const kernel_op kop_sign = {"Sign", kd_check_unary_f32, NULL, run_sign, 0, 0};
const kernel_op kop_softplus = {"Softplus", kd_check_unary_f32, NULL, run_softplus, 0, 0};
const kernel_op kop_softsign = {"Softsign", kd_check_unary_f32, NULL, run_softsign, 0, 0};
const kernel_op kop_elu = {"Elu", kd_check_unary_f32, NULL, run_elu, 0, KD_FA(1)};
const kernel_op kop_selu = {"Selu", kd_check_unary_f32, NULL, run_selu, 0, KD_FA(2)};
const kernel_op kop_celu = {"Celu", kd_check_unary_f32, NULL, run_celu, 0, KD_FA(1)};
const kernel_op kop_thresholdedrelu = {"ThresholdedRelu", kd_check_unary_f32, NULL, run_thresholdedrelu, 0, KD_FA(1)};
const kernel_op kop_shrink = {"Shrink", kd_check_unary_f32, NULL, run_shrink, 0, KD_FA(2)};
