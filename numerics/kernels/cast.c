/* cast.c: OP_CAST, ONNX's Cast between float32, int8, int32, int64 and bool: one operand, the
 * output of the same dims in the target dtype. Each element is read as a float (f32) or an
 * integer (the others; a bool as 0 or 1) and written: float -> float as is (NaN canonical);
 * integer -> float by kf_i64_to_f32 (nearest even); float -> integer type truncated toward zero,
 * NaN -> 0, saturated at the type's range (kf_f32_to_i64, then clamped); integer -> integer type
 * two's complement wrap-around (the low bytes, as numpy); anything -> bool: non-zero (a NaN is
 * non-zero) -> 1, else 0. */
#include "fmath.h"
#include "ops.h"

static int castable(unsigned t) { return t == KD_F32 || t == KD_I8 || t == KD_I32 || t == KD_I64 || t == KD_BOOL; }

static int check(const kd_desc *d) {
    if (!castable(d->in[0].dtype) || !castable(d->out.dtype)) return KD_ESHAPE;
    return kd_check_unary(d, d->in[0].dtype, d->out.dtype);
}

static int64_t read_int(const void *x, unsigned dtype, size_t i) {
    switch (dtype) {
    case KD_I8: return ((const int8_t *)x)[i];
    case KD_I32: return ((const int32_t *)x)[i];
    case KD_I64: return ((const int64_t *)x)[i];
    default: return ((const uint8_t *)x)[i] != 0; /* KD_BOOL */
    }
}

static void write_int(void *y, unsigned dtype, size_t i, uint64_t v) {
    switch (dtype) {
    case KD_I8: ((uint8_t *)y)[i] = (uint8_t)v; break;
    case KD_I32: ((uint32_t *)y)[i] = (uint32_t)v; break;
    case KD_I64: ((uint64_t *)y)[i] = v; break;
    default: ((uint8_t *)y)[i] = v != 0; /* KD_BOOL */
    }
}

/* float -> the integer dtype: truncated, NaN -> 0, saturated */
static int64_t float_to_int(float f, unsigned dtype) {
    int64_t v = kf_f32_to_i64(f);
    int64_t lo = dtype == KD_I8 ? -128 : dtype == KD_I32 ? INT32_MIN : INT64_MIN;
    int64_t hi = dtype == KD_I8 ? 127 : dtype == KD_I32 ? INT32_MAX : INT64_MAX;
    return v < lo ? lo : v > hi ? hi : v;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    unsigned from = d->in[0].dtype, to = d->out.dtype;
    size_t n = (size_t)kd_numel(&d->out);
    const float *xf = in[0];
    float *yf = out;
    for (size_t i = 0; i < n; i++) {
        if (from == KD_F32 && to == KD_F32) yf[i] = kf_canon(xf[i]);
        else if (to == KD_F32) yf[i] = kf_i64_to_f32(read_int(in[0], from, i));
        else if (from == KD_F32 && to == KD_BOOL) write_int(out, to, i, xf[i] != 0.0f);
        else if (from == KD_F32) write_int(out, to, i, (uint64_t)float_to_int(xf[i], to));
        else write_int(out, to, i, (uint64_t)read_int(in[0], from, i));
    }
}

const kernel_op kop_cast = {"Cast", check, NULL, run, 0, 0};
