/* minmax.c: the broadcasting binary operators Min (118), Max (119) and PRelu (120) (broadcast.c's
 * loop; docs/numerics.md): Max: NaN if either operand is NaN, else b when a < b, else a (so
 * max(-0, +0) = -0, the first); Min likewise with b < a; PRelu: a < 0 ? a * b : a (b the slope).
 * The variadic ONNX Min and Max are chains of these, in operand order. */
#include "fmath.h"
#include "ops.h"

static float fmax_nan(float a, float b) { return kf_isnan(a) || kf_isnan(b) ? kf_from_bits(KF_CANON_NAN) : a < b ? b : a; }
static float fmin_nan(float a, float b) { return kf_isnan(a) || kf_isnan(b) ? kf_from_bits(KF_CANON_NAN) : b < a ? b : a; }
static float prelu(float a, float b) { return a < 0.0f ? a * b : a; }

static void run_max(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_broadcast_run(d, in[0], in[1], out, fmax_nan);
}
static void run_min(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_broadcast_run(d, in[0], in[1], out, fmin_nan);
}
static void run_prelu(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_broadcast_run(d, in[0], in[1], out, prelu);
}

const kernel_op kop_min = {"Min", kd_check_broadcast, NULL, run_min, 0, 0};
const kernel_op kop_max = {"Max", kd_check_broadcast, NULL, run_max, 0, 0};
const kernel_op kop_prelu = {"PRelu", kd_check_broadcast, NULL, run_prelu, 0, 0};
