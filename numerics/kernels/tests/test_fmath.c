/* The scalar arithmetic of fmath.c: kf_sqrt is correctly rounded (compared with the host's sqrtss
 * on special values, every exponent's edges and a sweep of 2^32 / 1021 bit patterns plus random
 * ones); exp, expm1, sigmoid, tanh, log and erf within a few ulp of libm in double (the host only:
 * the kernels never call it; erf over a sweep of every 509th float); pow exact where an integer
 * exponent's product is exact and within its stated error elsewhere, with C99's special cases;
 * the int64 <-> float conversions equal the host's conversions (cvtsi2ss, truncation) where those
 * are defined; quantization rounds half to even and clamps; NaN comes out canonical; the fp16
 * conversions equal the compiler's _Float16 conversions (libgcc's, correctly rounded) on every
 * half and on a sweep of floats, and F16C's vcvtps2ph / vcvtph2ps where the CPU has them. */
#include "check.h"
#include "fmath.h"

#include <math.h>
#include <stdint.h>
#include <immintrin.h>
#include <xmmintrin.h>

static float host_sqrt(float x) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x))); }

static int sqrt_bad;
static void check_sqrt(uint32_t u) {
    float x = kf_from_bits(u), want = kf_canon(host_sqrt(x)), got = kf_sqrt(x);
    if (kf_bits(want) != kf_bits(got)) {
        if (sqrt_bad++ < 10) fprintf(stderr, "sqrt(0x%08x): got 0x%08x want 0x%08x\n", u, kf_bits(got), kf_bits(want));
    }
}

static double ulps(float got, double want) {
    double ulp = ldexp(1.0, ilogb(want == 0 ? 1e-45 : want) - 23);
    if (fabs(want) < 1.17549435e-38) ulp = ldexp(1.0, -149);
    return fabs((double)got - want) / ulp;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static int f16_bad;
static void check_f32_to_f16(uint32_t u) {
    float x = kf_from_bits(u);
    _Float16 h = (_Float16)x;
    uint16_t want, got = kf_f32_to_f16(x);
    memcpy(&want, &h, 2);
    if (x != x) want = (uint16_t)((u >> 16 & 0x8000) | 0x7E00 | (u >> 13 & 0x1FF)); /* the documented NaN */
    if (want != got && f16_bad++ < 10) fprintf(stderr, "f32_to_f16(0x%08x): got 0x%04x want 0x%04x\n", u, got, want);
}

__attribute__((target("f16c"))) static void check_f16c(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float want = _cvtsh_ss((unsigned short)h), got = kf_f16_to_f32((uint16_t)h);
        if (kf_bits(want) != kf_bits(got) && f16_bad++ < 10) fprintf(stderr, "f16c ph2ps(0x%04x)\n", h);
    }
    for (uint64_t u = 0; u < (1ull << 32); u += 4093) {
        float x = kf_from_bits((uint32_t)u);
        if (x != x) continue; /* F16C keeps a NaN's payload bits: not the documented NaN */
        uint16_t want = (uint16_t)_cvtss_sh(x, 0), got = kf_f32_to_f16(x);
        if (want != got && f16_bad++ < 10) fprintf(stderr, "f16c ps2ph(0x%08x)\n", (uint32_t)u);
    }
}

static void check_f16(void) {
    for (uint32_t h = 0; h < 65536; h++) { /* every half, exactly */
        _Float16 v;
        uint16_t b = (uint16_t)h;
        memcpy(&v, &b, 2);
        float want = (float)v, got = kf_f16_to_f32(b);
        int nan = ((h >> 10) & 31) == 31 && (h & 0x3FF);
        if (nan ? !(got != got) || (kf_bits(got) >> 31) != (h >> 15) || (kf_bits(got) & 0x400000u) == 0
                : kf_bits(want) != kf_bits(got)) {
            if (f16_bad++ < 10) fprintf(stderr, "f16_to_f32(0x%04x): got 0x%08x\n", h, kf_bits(got));
        }
        if (!nan) check_f32_to_f16(kf_bits(got)); /* round trip exact */
    }
    /* floats: every exponent's edges and ties (the halfway points of both rounding regimes), a sweep */
    for (uint32_t e = 0; e < 256; e++)
        for (uint32_t m = 0; m < 32; m++) {
            uint32_t base = e << 23;
            uint32_t cases[6] = {base | m, base | (0x7FFFFFu - m), base | 0x1000u | m << 13, base | (0x1000u - 1) | m << 13,
                                 base | (0x1000u + 1) | m << 13, base | 0x400000u >> (m % 23)};
            for (int c = 0; c < 6; c++) check_f32_to_f16(cases[c]), check_f32_to_f16(cases[c] | 0x80000000u);
        }
    for (int k = 0; k < 4096; k++) check_f32_to_f16(kf_bits(ldexpf((float)k, -25))); /* subnormal halves' ties */
    for (uint64_t u = 0; u < (1ull << 32); u += 1021) check_f32_to_f16((uint32_t)u);
    if (__builtin_cpu_supports("f16c")) check_f16c();
    CHECK_EQ_INT(f16_bad, 0);
}

int main(void) {
    check_f16();
    /* sqrt: specials, exponent edges, a sweep, random patterns */
    uint32_t specials[] = {0, 0x80000000u, 1, 0x80000001u, 0x007FFFFFu, 0x00800000u, 0x7F7FFFFFu, 0x7F800000u,
                           0xFF800000u, 0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x3F800000u, 0xBF800000u};
    for (unsigned i = 0; i < sizeof specials / sizeof *specials; i++) check_sqrt(specials[i]);
    for (uint32_t e = 0; e < 256; e++)
        for (uint32_t m = 0; m < 64; m++) {
            check_sqrt(e << 23 | m);
            check_sqrt(e << 23 | (0x7FFFFFu - m));
        }
    for (uint64_t u = 0; u < (1ull << 32); u += 1021) check_sqrt((uint32_t)u);
    for (int i = 0; i < 1000000; i++) check_sqrt(rnd() & 0x7FFFFFFFu);
    CHECK_EQ_INT(sqrt_bad, 0);
    CHECK_EQ_INT(kf_bits(kf_sqrt(-0.0f)), 0x80000000u);
    CHECK_EQ_INT(kf_bits(kf_sqrt(-1.0f)), KF_CANON_NAN);

    /* exp and friends against libm in double */
    double worst_exp = 0, worst_m1 = 0, worst_sig = 0, worst_tanh = 0, worst_log = 0;
    for (int i = 0; i < 400000; i++) {
        float x = -104.0f + 193.0f * (float)(rnd() & 0xFFFFFF) / 16777216.0f;
        double e = exp((double)x);
        if (e < 3.4e38 && e > 1.2e-38) worst_exp = fmax(worst_exp, ulps(kf_exp(x), e));
        float s = x / 40.0f;
        worst_m1 = fmax(worst_m1, ulps(kf_expm1(s), expm1((double)s)));
        worst_sig = fmax(worst_sig, fabs(kf_sigmoid(s * 4) - 1.0 / (1.0 + exp(-(double)s * 4))));
        worst_tanh = fmax(worst_tanh, ulps(kf_tanh(s), tanh((double)s)));
        uint32_t lb = rnd() % 0x7F800000u; /* any positive finite float, subnormals included */
        worst_log = fmax(worst_log, ulps(kf_log(kf_from_bits(lb)), log((double)kf_from_bits(lb))));
    }
    printf("worst: exp %.2f ulp, expm1 %.2f ulp, sigmoid %.3g abs, tanh %.2f ulp, log %.2f ulp\n", worst_exp, worst_m1,
           worst_sig, worst_tanh, worst_log);
    CHECK(worst_log <= 4);
    CHECK(kf_log(1.0f) == 0.0f && kf_log(INFINITY) == INFINITY && kf_log(0.0f) == -INFINITY && kf_log(-0.0f) == -INFINITY);
    CHECK_EQ_INT(kf_bits(kf_log(-1.0f)), KF_CANON_NAN);
    CHECK_EQ_INT(kf_bits(kf_log(-INFINITY)), KF_CANON_NAN);
    CHECK(worst_exp <= 4);
    CHECK(worst_m1 <= 8);
    CHECK(worst_sig <= 3e-7);
    CHECK(worst_tanh <= 8);
    CHECK(kf_exp(0.0f) == 1.0f);
    CHECK(kf_exp(89.0f) == INFINITY);
    CHECK(kf_exp(-200.0f) == 0.0f);
    CHECK(kf_exp(-100.0f) > 0.0f && kf_exp(-100.0f) < 1.2e-38f); /* subnormal, not flushed */
    CHECK_EQ_INT(kf_bits(kf_exp(NAN)), KF_CANON_NAN);
    CHECK(kf_exp(-INFINITY) == 0.0f);
    CHECK(kf_tanh(INFINITY) == 1.0f && kf_tanh(-INFINITY) == -1.0f);
    CHECK(kf_sigmoid(-INFINITY) == 0.0f && kf_sigmoid(INFINITY) == 1.0f);
    CHECK_EQ_INT(kf_bits(kf_tanh(-0.0f)), 0x80000000u);

    /* erf over every 509th float against libm in double (the pieces: |x| < 1, [1, 4), 1 beyond) */
    double worst_erf = 0, worst_erf_small = 0;
    uint32_t worst_erf_at = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 509) {
        float x = kf_from_bits((uint32_t)u);
        if (kf_isnan(x)) continue;
        double e = ulps(kf_erf(x), erf((double)x));
        if (e > worst_erf) worst_erf = e, worst_erf_at = (uint32_t)u;
        if (fabsf(x) < 1.0f) worst_erf_small = fmax(worst_erf_small, e);
    }
    printf("worst: erf %.2f ulp (at %a; below 1: %.2f ulp)\n", worst_erf, (double)kf_from_bits(worst_erf_at), worst_erf_small);
    CHECK(worst_erf <= 2.0);
    CHECK(kf_erf(INFINITY) == 1.0f && kf_erf(-INFINITY) == -1.0f && kf_erf(4.0f) == 1.0f && kf_erf(-100.0f) == -1.0f);
    CHECK_EQ_INT(kf_bits(kf_erf(-0.0f)), 0x80000000u);
    CHECK_EQ_INT(kf_bits(kf_erf(0.0f)), 0);
    CHECK_EQ_INT(kf_bits(kf_erf(NAN)), KF_CANON_NAN);
    CHECK(kf_erf(1e-30f) > 0.0f && kf_erf(kf_from_bits(1)) == kf_from_bits(1)); /* tiny: x + x * Q(0) */

    /* pow: an integer exponent is repeated multiplication (2 is x * x exactly), others exp/log */
    double worst_pow = 0;
    for (int i = 0; i < 200000; i++) {
        float x = (float)(rnd() % 2000001u) / 100000.0f + 1e-3f, y = ((float)(rnd() % 20001u) - 10000.0f) / 997.0f;
        float v = kf_from_bits(rnd() & 0xBFFFFFFFu); /* any float of magnitude below 2 */
        CHECK_EQ_INT(kf_bits(kf_pow(v, 2.0f)), kf_bits(kf_canon(v * v)));
        double want = pow((double)x, (double)y);
        if (want < 1e30 && want > 1e-30) worst_pow = fmax(worst_pow, ulps(kf_pow(x, y), want) / (1.0 + fabs(y * log(x))));
    }
    printf("worst: pow %.2f ulp per unit of |y log x| (+1)\n", worst_pow);
    CHECK(worst_pow <= 8);
    CHECK(kf_pow(3.0f, 3.0f) == 27.0f && kf_pow(-2.0f, 3.0f) == -8.0f && kf_pow(-2.0f, -2.0f) == 0.25f);
    CHECK(kf_pow(4.0f, 0.5f) == 2.0f && kf_pow(NAN, 0.0f) == 1.0f && kf_pow(1.0f, NAN) == 1.0f);
    CHECK_EQ_INT(kf_bits(kf_pow(-2.0f, 0.5f)), KF_CANON_NAN);
    CHECK_EQ_INT(kf_bits(kf_pow(2.0f, NAN)), KF_CANON_NAN);
    CHECK(kf_pow(0.0f, -1.0f) == INFINITY && kf_pow(-0.0f, -1.0f) == -INFINITY && kf_pow(-0.0f, 0.5f) == 0.0f);
    CHECK(kf_pow(-INFINITY, 0.5f) == INFINITY && kf_pow(-INFINITY, -0.5f) == 0.0f && kf_pow(-INFINITY, 3.0f) == -INFINITY);
    CHECK(kf_pow(0.5f, INFINITY) == 0.0f && kf_pow(2.0f, -INFINITY) == 0.0f && kf_pow(-1.0f, INFINITY) == 1.0f);
    CHECK(kf_pow(-3.0f, 33554432.0f) == INFINITY && kf_pow(2.0f, 200.0f) == INFINITY);

    /* int64 <-> float: the host's conversions (correctly rounded; truncating) where defined */
    int64_t edges[] = {0, 1, -1, 16777216, 16777217, 16777219, -16777217, INT64_MAX, INT64_MIN, INT64_MIN + 1,
                       (1ll << 40) + (1ll << 16), (1ll << 40) + (1ll << 16) + 1, (1ll << 40) + 3 * (1ll << 16)};
    for (unsigned i = 0; i < sizeof edges / sizeof *edges; i++) CHECK(kf_bits(kf_i64_to_f32(edges[i])) == kf_bits((float)edges[i]));
    for (int i = 0; i < 1000000; i++) {
        int64_t v = (int64_t)((uint64_t)rnd() << 32 | rnd()) >> (rnd() % 64);
        if (kf_bits(kf_i64_to_f32(v)) != kf_bits((float)v)) {
            CHECK(0);
            break;
        }
        float f = kf_from_bits(rnd() << 16 ^ rnd());
        if (!kf_isnan(f) && fabsf(f) < 9.2e18f && kf_f32_to_i64(f) != (int64_t)f) {
            CHECK(0);
            break;
        }
    }
    CHECK(kf_f32_to_i64(NAN) == 0 && kf_f32_to_i64(1e30f) == INT64_MAX && kf_f32_to_i64(-INFINITY) == INT64_MIN);
    CHECK(kf_f32_to_i64(-9.2233720e18f) == INT64_MIN && kf_f32_to_i64(-2.75f) == -2 && kf_f32_to_i64(0.999f) == 0);

    /* quantization: ties to even, clamping, NaN and zero scale */
    CHECK_EQ_INT(kf_quantize(0.5f, 1.0f), 0);
    CHECK_EQ_INT(kf_quantize(1.5f, 1.0f), 2);
    CHECK_EQ_INT(kf_quantize(2.5f, 1.0f), 2);
    CHECK_EQ_INT(kf_quantize(-2.5f, 1.0f), -2);
    CHECK_EQ_INT(kf_quantize(-3.5f, 1.0f), -4);
    CHECK_EQ_INT(kf_quantize(2.5000002f, 1.0f), 3);
    CHECK_EQ_INT(kf_quantize(127.49f, 1.0f), 127);
    CHECK_EQ_INT(kf_quantize(1000.0f, 1.0f), 127);
    CHECK_EQ_INT(kf_quantize(-INFINITY, 1.0f), -127);
    CHECK_EQ_INT(kf_quantize(NAN, 1.0f), 0);
    CHECK_EQ_INT(kf_quantize(0.0f, 0.0f), 0);
    CHECK_EQ_INT(kf_quantize(3.0f, INFINITY), 0);
    CHECK_EQ_INT(kf_bits(kf_canon(-NAN)), KF_CANON_NAN);
    return check_summary("test_fmath");
}
