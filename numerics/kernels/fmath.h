/* fmath.h: the scalar arithmetic every kernel shares (docs/numerics.md): NaN canonicalization,
 * explicit rounding to int8, a correctly rounded square root, exp/expm1/log/erf/pow built from
 * + - * / only, and the int64 <-> binary32 conversions. Pure functions on IEEE-754 binary32, identical on the host (SSE) and the RV32IM guest
 * (libgcc soft-float): nothing here calls libm. */
#ifndef OPML_FMATH_H
#define OPML_FMATH_H

#include <stdint.h>
#include <string.h>

#define KF_CANON_NAN 0x7FC00000u

/* The per-element helpers are inline: they run once per tensor element in every kernel. */
static inline uint32_t kf_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static inline float kf_from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static inline int kf_isnan(float x) { return (kf_bits(x) & 0x7FFFFFFFu) > 0x7F800000u; }
static inline int kf_isinf(float x) { return (kf_bits(x) & 0x7FFFFFFFu) == 0x7F800000u; }

/* x, or the canonical quiet NaN 0x7FC00000 when x is any NaN. */
static inline float kf_canon(float x) { return kf_isnan(x) ? kf_from_bits(KF_CANON_NAN) : x; }

/* Round to the nearest integer, ties to even, for |t| < 2^22: truncate, then look at the exact
 * remainder. */
static inline int32_t kf_round_even(float t) {
    int32_t i = (int32_t)t;    /* truncates toward zero */
    float frac = t - (float)i; /* exact: t and i share an exponent range below 2^22 */
    int32_t odd = i & 1;       /* branch-free, so that loops over it vectorize */
    i += (frac > 0.5f) | ((frac == 0.5f) & odd);
    i -= (frac < -0.5f) | ((frac == -0.5f) & odd);
    return i;
}

/* The int8 rounding of docs/numerics.md applied to t (x / scale, or x * (127 / amax) for Q8_0
 * activations): NaN -> 0; clamp to [-127, 127]; round half to even. */
static inline int32_t kf_quantize_t(float t) {
    t = kf_isnan(t) ? 0.0f : t;
    t = t > 127.0f ? 127.0f : t;
    t = t < -127.0f ? -127.0f : t;
    return kf_round_even(t);
}

/* The int8 quantization of docs/numerics.md: kf_quantize_t(x / scale). */
static inline int32_t kf_quantize(float x, float scale) { return kf_quantize_t(x / scale); }

/* IEEE binary16 <-> binary32 (the scales of Q8_0 blocks), by integer arithmetic only.
 * kf_f16_to_f32 is exact (subnormals normalised; a NaN keeps its sign and payload shifted up, with
 * the quiet bit set; vcvtph2ps gives the same bits). kf_f32_to_f16 rounds to nearest even, with
 * subnormal results and overflow to +-Inf (vcvtps2ph with rounding mode 0 gives the same bits); a
 * NaN becomes sign | 0x7E00 | its payload's top 9 bits. */
float kf_f16_to_f32(uint16_t h);
uint16_t kf_f32_to_f16(float x);

/* Correctly rounded square root (round to nearest even), as x86 sqrtss, with NaN canonical. */
float kf_sqrt(float x);
/* e^x and e^x - 1 to a few ulp, from + - * / and bit manipulation only. NaN in, canonical NaN out. */
float kf_exp(float x);
float kf_expm1(float x);
float kf_sigmoid(float x);
/* natural logarithm to a few ulp: log(+-0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf. */
float kf_log(float x);
float kf_tanh(float x);
/* erf(x) from + - * / and kf_exp only (docs/numerics.md gives the arithmetic and the accuracy). */
float kf_erf(float x);
/* x^y: an integer y with |y| < 2^24 by repeated multiplication (so y = 2 is x * x exactly),
 * any other y by kf_exp(y * kf_log(|x|)) with C99's special cases (docs/numerics.md). */
float kf_pow(float x, float y);
/* int64 -> binary32 rounded to nearest even, and binary32 -> int64 truncated toward zero (NaN
 * -> 0, saturated at INT64_MIN/INT64_MAX), both by integer arithmetic on the bits. */
float kf_i64_to_f32(int64_t v);
int64_t kf_f32_to_i64(float x);

/* fmath_ext.c (docs/numerics.md, "More scalar functions"): exact rounding to integers (trunc,
 * floor, ceil, half to even), log1p, and the circular and hyperbolic functions and their inverses
 * to a few ulp (sin, cos, tan for every finite argument: the reduction by pi/2 is exact). */
float kf_trunc(float x);
float kf_floor(float x);
float kf_ceil(float x);
float kf_round_half_even(float x);
float kf_log1p(float x);
float kf_sin(float x);
float kf_cos(float x);
float kf_tan(float x);
float kf_asin(float x);
float kf_acos(float x);
float kf_atan(float x);
float kf_sinh(float x);
float kf_cosh(float x);
float kf_asinh(float x);
float kf_acosh(float x);
float kf_atanh(float x);
/* C's fmod, exact: x - n * y with n = trunc(x / y) in exact arithmetic, x's sign; NaN for x
 * infinite or y zero; x for y infinite. */
float kf_fmod(float x, float y);

#endif
