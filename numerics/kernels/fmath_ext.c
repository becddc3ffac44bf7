/* fmath_ext.c: the scalar functions of the breadth operators (fmath.h; docs/numerics.md, "More
 * scalar functions"): rounding to integers, log1p, the circular and hyperbolic functions and their
 * inverses. Built like fmath.c from + - * /, kf_sqrt, kf_exp, kf_expm1, kf_log and bit
 * manipulation, every constant the binary32 nearest its value as the C compiler rounds it, every
 * operation one IEEE operation in the order written (no FMA contraction), so that host and guest
 * agree bit for bit. NaN in gives the canonical NaN out. Accuracy against libm is tested
 * (numerics/kernels/tests/test_fmath.c); bit-identity is the point. */
#include "fmath.h"

#define NAN_F kf_from_bits(KF_CANON_NAN)
#define INF_F kf_from_bits(0x7F800000u)
#define TWO23 8388608.0f           /* from 2^23 on, every float is an integer */
#define PIO2_F 1.57079637050628662109375f /* the binary32 nearest pi/2 */
#define LN2_F 0.693147182464599609375f    /* the binary32 nearest ln 2 */

static float fabs_f(float x) { return kf_from_bits(kf_bits(x) & 0x7FFFFFFFu); }
static float copysign_f(float x, float s) { return kf_from_bits((kf_bits(x) & 0x7FFFFFFFu) | (kf_bits(s) & 0x80000000u)); }

/* ---- rounding (exact) ---- */

float kf_trunc(float x) {
    if (kf_isnan(x)) return NAN_F;
    if (!(fabs_f(x) < TWO23)) return x; /* integers already, and the infinities */
    return copysign_f((float)(int32_t)x, x); /* |x| < 2^23: the conversion truncates; -0.5 -> -0 */
}

float kf_floor(float x) {
    float t = kf_trunc(x);
    return t > x ? t - 1.0f : t; /* t - 1 is exact below 2^23 */
}

float kf_ceil(float x) {
    float t = kf_trunc(x);
    return t < x ? copysign_f(t + 1.0f, t) : t; /* ceil(-0.5) = -0: t + 1 only when t >= 0 */
}

float kf_round_half_even(float x) {
    if (kf_isnan(x)) return NAN_F;
    if (!(fabs_f(x) < TWO23)) return x;
    return copysign_f((float)kf_round_even(x), x); /* exact below 2^23 (kf_round_even's remainder) */
}

/* ---- log1p ---- */

float kf_log1p(float x) {
    if (kf_isnan(x) || x < -1.0f) return NAN_F;
    if (x == -1.0f) return kf_from_bits(0xFF800000u);
    float u = 1.0f + x;
    if (u == 1.0f) return x;             /* |x| below half an ulp of 1: log1p(x) = x to rounding */
    if (u == INF_F) return INF_F;
    return kf_log(u) * (x / (u - 1.0f)); /* corrects the rounding of 1 + x (u - 1 is exact) */
}

/* ---- circular functions ---- */

/* The bits of 2/pi after the binary point, 32 per word (enough for the largest float: the
 * reduction reads at most 96 bits from bit 103 on). */
static const uint32_t two_over_pi[] = {0xA2F9836Eu, 0x4E441529u, 0xFC2757D1u, 0xF534DDC0u, 0xDB629599u,
                                       0x3C439041u, 0xFE5163ABu, 0xDEBBC561u, 0xB7246E3Au};

/* Bits [pos, pos + n) (n <= 64, counted from bit 0, the lowest) of the 128-bit p[0..3] (low first). */
static uint64_t bits128(const uint32_t p[4], int32_t pos, int32_t n) {
    uint64_t v = 0;
    for (int32_t i = n - 1; i >= 0; i--) {
        int32_t b = pos + i;
        v = v << 1 | (b < 128 ? (uint64_t)(p[b >> 5] >> (b & 31) & 1u) : 0u);
    }
    return v;
}

#define PIO2_2M62 3.40612158008655459e-19f /* pi/2 * 2^-62 */

/* x = k * pi/2 + r, |r| <= pi/4, for finite x, by exact integer arithmetic (Payne-Hanek): with
 * x = m * 2^e (m < 2^24), x * 2/pi modulo 4 is m times the 96 bits of 2/pi from bit max(1, e - 1)
 * on (the bits before contribute multiples of 4), an exact 120-bit product P; its two bits above
 * the binary point are k mod 4 and the 62 below the fraction f. When f >= 1/2, k + 1 and f - 1.
 * r = (float)F * (pi/2 * 2^-62) for the signed 62-bit fraction F (one rounding each). */
static float reduce_pio2(float x, int32_t *k) {
    uint32_t u = kf_bits(x) & 0x7FFFFFFFu;
    if (u < 0x3F490FDBu) { /* |x| < pi/4 */
        *k = 0;
        return x;
    }
    uint64_t m = (u & 0x7FFFFFu) | 0x800000u; /* |x| >= pi/4 is normal */
    int32_t e = (int32_t)(u >> 23) - 150, i0 = e - 1 > 1 ? e - 1 : 1, pos = i0 - 1;
    uint32_t w[3], p[4];
    for (int j = 0; j < 3; j++) {
        int32_t wi = (pos >> 5) + j, sh = pos & 31;
        w[j] = two_over_pi[wi] << sh | (sh ? two_over_pi[wi + 1] >> (32 - sh) : 0u);
    }
    uint64_t t = m * w[2];
    p[0] = (uint32_t)t;
    t = m * w[1] + (t >> 32);
    p[1] = (uint32_t)t;
    t = m * w[0] + (t >> 32);
    p[2] = (uint32_t)t, p[3] = (uint32_t)(t >> 32);
    int32_t s = i0 + 95 - e; /* P * 2^-s is x * 2/pi modulo 4; 94 <= s <= 120 */
    int32_t q = (int32_t)bits128(p, s, 2);
    int64_t f = (int64_t)bits128(p, s - 62, 62);
    if (f >= (int64_t)1 << 61) f -= (int64_t)1 << 62, q++;
    float r = (float)f * PIO2_2M62;
    if (kf_bits(x) >> 31) q = -q, r = -r;
    *k = q;
    return r;
}

/* sin r and cos r for |r| <= ~pi/4: Taylor polynomials (Horner) to r^11 and r^12. */
static float sin_poly(float r) {
    float z = r * r;
    float p = -1.0f / 39916800.0f;
    p = 1.0f / 362880.0f + z * p;
    p = -1.0f / 5040.0f + z * p;
    p = 1.0f / 120.0f + z * p;
    p = -1.0f / 6.0f + z * p;
    return r + (r * z) * p;
}

static float cos_poly(float r) {
    float z = r * r;
    float p = 1.0f / 479001600.0f;
    p = -1.0f / 3628800.0f + z * p;
    p = 1.0f / 40320.0f + z * p;
    p = -1.0f / 720.0f + z * p;
    p = 1.0f / 24.0f + z * p;
    return (1.0f - 0.5f * z) + (z * z) * p;
}

float kf_sin(float x) {
    if (kf_isnan(x) || fabs_f(x) == INF_F) return NAN_F;
    if (x == 0.0f) return x;
    int32_t k;
    float r = reduce_pio2(x, &k);
    switch (k & 3) {
    case 0: return sin_poly(r);
    case 1: return cos_poly(r);
    case 2: return -sin_poly(r);
    default: return -cos_poly(r);
    }
}

float kf_cos(float x) {
    if (kf_isnan(x) || fabs_f(x) == INF_F) return NAN_F;
    int32_t k;
    float r = reduce_pio2(x, &k);
    switch (k & 3) {
    case 0: return cos_poly(r);
    case 1: return -sin_poly(r);
    case 2: return -cos_poly(r);
    default: return sin_poly(r);
    }
}

float kf_tan(float x) {
    if (kf_isnan(x) || fabs_f(x) == INF_F) return NAN_F;
    if (x == 0.0f) return x;
    int32_t k;
    float r = reduce_pio2(x, &k);
    float s = sin_poly(r), c = cos_poly(r);
    return k & 1 ? -c / s : s / c;
}

/* atan t for |t| <= 2 - sqrt 3 (0.268): Taylor series to t^15. */
static float atan_poly(float t) {
    float z = t * t;
    float p = -1.0f / 15.0f;
    p = 1.0f / 13.0f + z * p;
    p = -1.0f / 11.0f + z * p;
    p = 1.0f / 9.0f + z * p;
    p = -1.0f / 7.0f + z * p;
    p = 1.0f / 5.0f + z * p;
    p = -1.0f / 3.0f + z * p;
    return t + (t * z) * p;
}

#define TAN_PI12 0.2679491937160491943359375f /* 2 - sqrt 3 */
#define SQRT3 1.73205077648162841796875f
#define PIO6_F 0.52359879016876220703125f

float kf_atan(float x) {
    if (kf_isnan(x)) return NAN_F;
    if (x == 0.0f) return x;
    float a = fabs_f(x), base = 0.0f, sign = 1.0f;
    if (a > 1.0f) { /* atan a = pi/2 - atan(1/a) */
        a = 1.0f / a;
        base = PIO2_F, sign = -1.0f;
    }
    float y;
    if (a > TAN_PI12) y = PIO6_F + atan_poly((a * SQRT3 - 1.0f) / (SQRT3 + a)); /* atan a = pi/6 + atan(..) */
    else y = atan_poly(a);
    y = base + sign * y;
    return copysign_f(y, x);
}

float kf_asin(float x) {
    if (kf_isnan(x) || !(fabs_f(x) <= 1.0f)) return NAN_F;
    if (x == 0.0f) return x;
    float a = fabs_f(x);
    float c = kf_sqrt((1.0f - a) * (1.0f + a)); /* 1 - a is exact for a >= 0.5 */
    return copysign_f(c == 0.0f ? PIO2_F : kf_atan(a / c), x);
}

float kf_acos(float x) {
    if (kf_isnan(x) || !(fabs_f(x) <= 1.0f)) return NAN_F;
    /* acos x = 2 atan(sqrt((1 - x) / (1 + x))); x = -1 gives 2 atan(Inf) = pi */
    return 2.0f * kf_atan(kf_sqrt((1.0f - x) / (1.0f + x)));
}

/* ---- hyperbolic functions ---- */

#define EXP_OVERFLOW 88.72283935546875f

float kf_sinh(float x) {
    if (kf_isnan(x)) return NAN_F;
    if (x == 0.0f) return x;
    float a = fabs_f(x), y;
    if (a > EXP_OVERFLOW) { /* e^a / 2 as (e^(a/2) / 2) * e^(a/2), which does not overflow early */
        float h = kf_exp(0.5f * a);
        y = (0.5f * h) * h;
    } else {
        float t = kf_expm1(a); /* sinh a = (t + t / (t + 1)) / 2 */
        y = 0.5f * (t + t / (t + 1.0f));
    }
    return copysign_f(y, x);
}

float kf_cosh(float x) {
    if (kf_isnan(x)) return NAN_F;
    float a = fabs_f(x);
    if (a > EXP_OVERFLOW) {
        float h = kf_exp(0.5f * a);
        return (0.5f * h) * h;
    }
    float t = kf_exp(a);
    return 0.5f * t + 0.5f / t;
}

#define BIG_ARG 4096.0f /* above it, sqrt(x^2 + 1) rounds to |x| */

float kf_asinh(float x) {
    if (kf_isnan(x)) return NAN_F;
    if (x == 0.0f) return x;
    float a = fabs_f(x), y;
    if (a > BIG_ARG) y = kf_log(a) + LN2_F; /* log(2a), without overflowing 2a */
    else y = kf_log1p(a + (a * a) / (1.0f + kf_sqrt(a * a + 1.0f)));
    return copysign_f(y, x);
}

float kf_acosh(float x) {
    if (kf_isnan(x) || x < 1.0f) return NAN_F;
    if (x > BIG_ARG) return kf_log(x) + LN2_F;
    float t = x - 1.0f; /* exact for x in [1, 2] */
    if (x < 2.0f) return kf_log1p(t + kf_sqrt(2.0f * t + t * t));
    return kf_log(2.0f * x - 1.0f / (x + kf_sqrt(x * x - 1.0f)));
}

float kf_atanh(float x) {
    if (kf_isnan(x) || !(fabs_f(x) <= 1.0f)) return NAN_F;
    if (x == 0.0f) return x;
    float a = fabs_f(x);
    float y = a == 1.0f ? INF_F : 0.5f * kf_log1p((2.0f * a) / (1.0f - a));
    return copysign_f(y, x);
}

/* ---- remainder ---- */

float kf_fmod(float x, float y) {
    uint32_t ux = kf_bits(x) & 0x7FFFFFFFu, uy = kf_bits(y) & 0x7FFFFFFFu;
    if (kf_isnan(x) || kf_isnan(y) || ux == 0x7F800000u || uy == 0) return NAN_F;
    if (uy == 0x7F800000u || ux < uy) return x; /* |x| < |y| (ordered as integers, for positive floats) */
    /* |x| = mx * 2^ex, |y| = my * 2^ey, mantissas integers in [2^23, 2^24) (subnormals normalised) */
    int32_t ex = (int32_t)(ux >> 23), ey = (int32_t)(uy >> 23);
    uint32_t mx = ux & 0x7FFFFFu, my = uy & 0x7FFFFFu;
    if (ex == 0) { ex = 1; while (!(mx & 0x800000u)) mx <<= 1, ex--; } else mx |= 0x800000u;
    if (ey == 0) { ey = 1; while (!(my & 0x800000u)) my <<= 1, ey--; } else my |= 0x800000u;
    for (; ex > ey; ex--) { /* long division, one bit at a time: mx stays below 2 * my */
        if (mx >= my) mx -= my;
        mx <<= 1;
    }
    if (mx >= my) mx -= my;
    if (mx == 0) return copysign_f(0.0f, x);
    while (!(mx & 0x800000u)) mx <<= 1, ey--; /* renormalise; the result is exact */
    uint32_t r = ey >= 1 ? (uint32_t)ey << 23 | (mx & 0x7FFFFFu) : mx >> (1 - ey);
    return kf_from_bits(r | (kf_bits(x) & 0x80000000u));
}
