/* fmath.c: scalar arithmetic shared by the kernels (see fmath.h). Every constant is written as
 * its exact binary32 value and every operation is a single IEEE operation (the build forbids FMA
 * contraction), so host and guest agree bit for bit. */
#include "fmath.h"

/* floor(sqrt(n)) and n - floor(sqrt(n))^2 by the bit-by-bit method: shifts, adds, compares. */
static uint64_t isqrt64(uint64_t n, uint64_t *rem) {
    uint64_t res = 0, bit = 1ull << 62;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= res + bit) {
            n -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    *rem = n;
    return res;
}

float kf_sqrt(float x) {
    uint32_t u = kf_bits(x);
    uint32_t sign = u >> 31, ex = (u >> 23) & 0xFF, man = u & 0x7FFFFF;
    if (ex == 0xFF) { /* Inf or NaN */
        if (man || sign) return kf_from_bits(KF_CANON_NAN);
        return x;
    }
    if (ex == 0 && man == 0) return x; /* +0 and -0 */
    if (sign) return kf_from_bits(KF_CANON_NAN);
    int32_t e; /* x = man * 2^(e - 23) with man in [2^23, 2^24) */
    if (ex == 0) {
        e = -126;
        while (!(man & 0x800000)) man <<= 1, e--;
    } else {
        e = (int32_t)ex - 127;
        man |= 0x800000;
    }
    /* sqrt(x) = sqrt(man * 2^(23 + odd)) * 2^((e - odd) / 2 - 23); the integer square root of
     * N = man << (23 + odd) has 24 bits. */
    int32_t odd = e & 1;
    uint64_t n = (uint64_t)man << (23 + odd), rem;
    uint64_t q = isqrt64(n, &rem);
    if (rem > q) q++; /* exact root > q + 1/2  <=>  n > q^2 + q + 1/4  <=>  rem > q */
    int32_t re = (e - odd) / 2;
    if (q == (1u << 24)) q >>= 1, re++;
    return kf_from_bits((uint32_t)(re + 127) << 23 | ((uint32_t)q & 0x7FFFFF));
}

/* 2^k as a float for -149 <= k <= 127, built exactly from bits. */
static float pow2i(int32_t k) {
    if (k >= -126) return kf_from_bits((uint32_t)(k + 127) << 23);
    return kf_from_bits(1u << (k + 149));
}

#define LOG2E 1.44269502162933349609375f    /* 0x3FB8AA3B */
#define LN2_HI 0.693145751953125f           /* 0x3F317200: 16 significant bits, k*LN2_HI exact */
#define LN2_LO 1.428606765330187045037746e-06f /* 0x35BFBE8E */

/* e^r - 1 for |r| <= 0.35 (Taylor to degree 9, Horner). */
static float expm1_small(float r) {
    float p = 1.0f / 362880.0f;
    p = 1.0f / 40320.0f + r * p;
    p = 1.0f / 5040.0f + r * p;
    p = 1.0f / 720.0f + r * p;
    p = 1.0f / 120.0f + r * p;
    p = 1.0f / 24.0f + r * p;
    p = 1.0f / 6.0f + r * p;
    p = 0.5f + r * p;
    return r + (r * r) * p;
}

float kf_exp(float x) {
    if (kf_isnan(x)) return kf_from_bits(KF_CANON_NAN);
    if (x > 88.72283935546875f) return kf_from_bits(0x7F800000u); /* above ln(FLT_MAX) */
    if (x < -103.972084045410f) return 0.0f;                        /* below ln(2^-150) */
    int32_t k = kf_round_even(x * LOG2E);
    float r = (x - (float)k * LN2_HI) - (float)k * LN2_LO;
    float y = 1.0f + expm1_small(r);
    /* scale by 2^k in two exact-or-final steps so that no intermediate overflows */
    if (k > 127) return (y * pow2i(127)) * pow2i(k - 127);
    if (k < -126) return (y * pow2i(-126)) * pow2i(k + 126);
    return y * pow2i(k);
}

float kf_expm1(float x) {
    if (kf_isnan(x)) return kf_from_bits(KF_CANON_NAN);
    if (x == 0.0f) return x; /* keeps the sign of zero */
    if (x <= 0.34657359f && x >= -0.34657359f) return expm1_small(x);
    return kf_exp(x) - 1.0f;
}

float kf_log(float x) {
    uint32_t u = kf_bits(x), ex = (u >> 23) & 0xFF, man = u & 0x7FFFFF;
    if (kf_isnan(x) || (u >> 31 && (u & 0x7FFFFFFFu))) return kf_from_bits(KF_CANON_NAN); /* NaN, x < 0 */
    if ((u & 0x7FFFFFFFu) == 0) return kf_from_bits(0xFF800000u);                          /* +-0 */
    if (ex == 0xFF) return x;                                                                /* +Inf */
    int32_t e;
    if (ex == 0) { /* subnormal: normalise */
        e = -126;
        while (!(man & 0x800000)) man <<= 1, e--;
        man &= 0x7FFFFF;
    } else {
        e = (int32_t)ex - 127;
    }
    float m = kf_from_bits(0x3F800000u | man); /* x = m * 2^e, m in [1, 2) */
    if (m > 1.41421353816986083984375f) m = m * 0.5f, e++; /* m in [0.707, 1.414] */
    float f = (m - 1.0f) / (m + 1.0f), f2 = f * f;     /* log m = 2 atanh f, |f| <= 0.1716 */
    float p = 1.0f / 11.0f;
    p = 1.0f / 9.0f + f2 * p;
    p = 1.0f / 7.0f + f2 * p;
    p = 1.0f / 5.0f + f2 * p;
    p = 1.0f / 3.0f + f2 * p;
    float t = 2.0f * f;
    float lm = t + t * (f2 * p);
    return (float)e * LN2_HI + ((float)e * LN2_LO + lm);
}

float kf_sigmoid(float x) {
    if (kf_isnan(x)) return kf_from_bits(KF_CANON_NAN);
    if (x >= 0.0f) return 1.0f / (1.0f + kf_exp(-x));
    float e = kf_exp(x);
    return e / (1.0f + e);
}

float kf_tanh(float x) {
    if (kf_isnan(x)) return kf_from_bits(KF_CANON_NAN);
    if (x == 0.0f) return x;
    float a = x < 0.0f ? -x : x;
    float y;
    if (a > 9.1f) {
        y = 1.0f; /* 1 - tanh(9.1) < 2^-25: rounds to 1 */
    } else {
        float m = kf_expm1(-2.0f * a); /* tanh(a) = -m / (2 + m) */
        y = -m / (2.0f + m);
    }
    return x < 0.0f ? -y : y;
}

float kf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (ex == 0x1F) return kf_from_bits(sign | 0x7F800000u | (man ? 0x400000u | man << 13 : 0));
    if (ex == 0) {
        if (!man) return kf_from_bits(sign);
        uint32_t e = 113; /* man * 2^-24 = (man << s) * 2^(-24 - s): the leading bit moved to bit 10 */
        while (!(man & 0x400)) man <<= 1, e--;
        return kf_from_bits(sign | e << 23 | (man & 0x3FF) << 13);
    }
    return kf_from_bits(sign | (ex + 112) << 23 | man << 13);
}

uint16_t kf_f32_to_f16(float x) {
    uint32_t u = kf_bits(x), a = u & 0x7FFFFFFFu;
    uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
    if (a > 0x7F800000u) return (uint16_t)(sign | 0x7E00 | (a >> 13 & 0x1FF));
    if (a >= 0x47800000u) return (uint16_t)(sign | 0x7C00); /* >= 65536 (or Inf): overflows */
    uint32_t q, rem, half;
    if (a < 0x38800000u) { /* below 2^-14: a subnormal half (or zero); the value in units of 2^-24 */
        uint32_t ex = a >> 23, man = (a & 0x7FFFFF) | (ex ? 0x800000u : 0);
        uint32_t shift = 126 - (ex ? ex : 1); /* value = man * 2^(ex - 150) = (man >> shift) units */
        if (shift > 24) return sign;          /* below 2^-25: rounds to zero (2^-25 itself ties to 0) */
        q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    } else {
        q = ((a >> 23) - 112) << 10 | (a >> 13 & 0x3FF), rem = a & 0x1FFF, half = 0x1000;
    }
    q += rem > half || (rem == half && (q & 1)); /* a carry into the exponent is right, up to Inf */
    return (uint16_t)(sign | q);
}

/* erf on [0, 1): x + x * Q(x^2), Q the Taylor series of erf(x)/x - 1 (coefficient n:
 * 2/sqrt(pi) * (-1)^n / (n! (2n + 1)), less 1 for n = 0) to n = 11, rounded to binary32. */
static const float erf_q[12] = {
    0.128379166f,    -0.376126379f,   0.112837918f,   -0.0268661715f,  0.00522397785f,  -0.000854832702f,
    0.000120553326f, -1.49256502e-05f, 1.64621144e-06f, -1.63658441e-07f, 1.48071928e-08f, -1.22905552e-09f,
};
/* erfcx(x) = e^(x^2) erfc(x) on [1, 4]: the Chebyshev interpolant of degree 12 in z = (x - 2.5) * 2/3
 * (relative error 6.3e-9 before rounding), coefficients rounded to binary32. */
static const float erfcx_c[13] = {
    0.244425759f,     -0.135898635f,   0.0356351137f,  -0.00888409838f, 0.00211842405f, -0.000485398778f, 0.000107273758f,
    -2.29366342e-05f, 4.75687466e-06f, -9.58993382e-07f, 1.88283366e-07f, -3.60243284e-08f, 6.52628707e-09f,
};

float kf_erf(float x) {
    if (kf_isnan(x)) return kf_from_bits(KF_CANON_NAN);
    float a = kf_from_bits(kf_bits(x) & 0x7FFFFFFFu);
    if (a < 1.0f) {
        float t = x * x, q = erf_q[11];
        for (int n = 10; n >= 0; n--) q = erf_q[n] + t * q;
        return x + x * q; /* keeps the sign of zero */
    }
    float y = 1.0f; /* erfc(4) < 2^-25: 1 - erfc rounds to 1 from there on */
    if (a < 4.0f) {
        float z = (a - 2.5f) * (2.0f / 3.0f), z2 = z + z, b1 = 0.0f, b2 = 0.0f;
        for (int k = 12; k >= 1; k--) { /* Clenshaw's recurrence */
            float b = (erfcx_c[k] + z2 * b1) - b2;
            b2 = b1, b1 = b;
        }
        float g = (erfcx_c[0] + z * b1) - b2;
        /* e^(-a^2) = e^(-h^2) * e^((h - a)(h + a)), h = a with 12 significant bits: h * h is exact */
        float h = kf_from_bits(kf_bits(a) & 0xFFFFF000u);
        float e = kf_exp(-(h * h)) * kf_exp((h - a) * (h + a));
        y = 1.0f - e * g;
    }
    return x < 0.0f ? -y : y;
}

float kf_pow(float x, float y) {
    if (y == 0.0f || x == 1.0f) return 1.0f; /* even for a NaN x or y, as C99's pow */
    if (kf_isnan(x) || kf_isnan(y)) return kf_from_bits(KF_CANON_NAN);
    float ay = kf_from_bits(kf_bits(y) & 0x7FFFFFFFu);
    if (ay < 16777216.0f && y == (float)(int32_t)y) { /* an integer: square and multiply */
        uint32_t n = (uint32_t)(int32_t)ay;
        float r = 1.0f, p = x;
        for (;;) {
            if (n & 1) r = r * p;
            n >>= 1;
            if (!n) break;
            p = p * p;
        }
        return y < 0.0f ? 1.0f / r : r;
    }
    /* y is not an integer, or an even one of at least 2^24 */
    float ax = kf_from_bits(kf_bits(x) & 0x7FFFFFFFu);
    if (kf_bits(ax) == 0x7F800000u) return y > 0.0f ? ax : 0.0f;
    if (x < 0.0f && ay < 16777216.0f) return kf_from_bits(KF_CANON_NAN);
    if (ax == 1.0f) return 1.0f;
    if (ax == 0.0f) return y > 0.0f ? 0.0f : kf_from_bits(0x7F800000u);
    return kf_exp(y * kf_log(ax));
}

float kf_i64_to_f32(int64_t v) {
    if (v == 0) return 0.0f;
    uint32_t sign = v < 0;
    uint64_t m = sign ? 0 - (uint64_t)v : (uint64_t)v;
    int32_t e = 63;
    while (!(m >> e)) e--;
    uint64_t q;
    if (e <= 23) {
        q = m << (23 - e);
    } else { /* keep 24 bits, round the rest to nearest even */
        int32_t sh = e - 23;
        uint64_t rem = m & ((1ull << sh) - 1), half = 1ull << (sh - 1);
        q = m >> sh;
        if (rem > half || (rem == half && (q & 1))) q++;
        if (q == (1ull << 24)) q >>= 1, e++;
    }
    return kf_from_bits(sign << 31 | (uint32_t)(e + 127) << 23 | ((uint32_t)q & 0x7FFFFFu));
}

int64_t kf_f32_to_i64(float x) {
    uint32_t u = kf_bits(x), ex = (u >> 23) & 0xFF;
    if (kf_isnan(x)) return 0;
    int32_t e = (int32_t)ex - 127;
    if (e < 0) return 0;
    if (e >= 63) return u >> 31 ? INT64_MIN : INT64_MAX;
    uint64_t m = (u & 0x7FFFFFu) | 0x800000u;
    m = e >= 23 ? m << (e - 23) : m >> (23 - e);
    return u >> 31 ? -(int64_t)m : (int64_t)m;
}
