/* The scalar functions of fmath_ext.c against the host's libm in double (the host only: the
 * kernels never call libm): trunc, floor, ceil and round-half-even exactly equal to truncf, floorf,
 * ceilf and nearbyintf on special values, every exponent's edges and a sweep of bit patterns;
 * log1p, sin, cos, tan (over every exponent, up to the largest float: the reduction is exact),
 * asin, acos, atan, sinh, cosh, asinh, acosh, atanh within the ulp bounds docs/numerics.md states;
 * fmod exactly equal to fmodf; the special values (NaN canonical, infinities, signed zeros, domain
 * edges). */
#include "check.h"
#include "fmath.h"

#include <fenv.h>
#include <math.h>
#include <stdint.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* |got - want| in units of the last place of want as a float (subnormal spacing below FLT_MIN). */
static double ulps(float got, double want) {
    if (isnan(want)) return isnan(got) ? 0 : 1e9;
    if (isinf(want)) return (double)got == want ? 0 : 1e9;
    double ulp = fabs(want) < 1.17549435e-38 ? ldexp(1.0, -149) : ldexp(1.0, ilogb(want) - 23);
    return fabs((double)got - want) / ulp;
}

static int rounding_bad;
static void check_rounding(uint32_t u) {
    float x = kf_from_bits(u);
    float want[4] = {truncf(x), floorf(x), ceilf(x), nearbyintf(x)};
    float got[4] = {kf_trunc(x), kf_floor(x), kf_ceil(x), kf_round_half_even(x)};
    for (int i = 0; i < 4; i++)
        if (kf_bits(kf_canon(want[i])) != kf_bits(got[i]) && rounding_bad++ < 10)
            fprintf(stderr, "rounding %d of 0x%08x: got 0x%08x want 0x%08x\n", i, u, kf_bits(got[i]), kf_bits(want[i]));
}

typedef struct fn {
    const char *name;
    float (*f)(float);
    double (*ref)(double);
    float lo, hi; /* the sampled domain (uniform in value), and random bit patterns inside it */
    double bound; /* ulp */
} fn;

static const fn fns[] = {
    {"log1p", kf_log1p, log1p, -0.999f, 1e6f, 4},
    {"sin", kf_sin, sin, -100.0f, 100.0f, 3},
    {"cos", kf_cos, cos, -100.0f, 100.0f, 3},
    {"tan", kf_tan, tan, -100.0f, 100.0f, 5},
    {"asin", kf_asin, asin, -1.0f, 1.0f, 5},
    {"acos", kf_acos, acos, -1.0f, 1.0f, 5},
    {"atan", kf_atan, atan, -1e4f, 1e4f, 4},
    {"sinh", kf_sinh, sinh, -89.0f, 89.0f, 5},
    {"cosh", kf_cosh, cosh, -89.0f, 89.0f, 4},
    {"asinh", kf_asinh, asinh, -1e6f, 1e6f, 4},
    {"acosh", kf_acosh, acosh, 1.0f, 1e6f, 4},
    {"atanh", kf_atanh, atanh, -1.0f, 1.0f, 5},
};

int main(void) {
    /* rounding: exact */
    uint32_t specials[] = {0, 0x80000000u, 1, 0x80000001u, 0x3F000000u, 0xBF000000u, 0x3FC00000u, 0xC0200000u,
                           0x4B000000u, 0x4AFFFFFFu, 0xCAFFFFFFu, 0x4B7FFFFFu, 0x7F800000u, 0xFF800000u, 0x7FC00000u,
                           0xFFC00001u, 0x3EFFFFFFu, 0xBEFFFFFFu, 0x3F7FFFFFu};
    for (unsigned i = 0; i < sizeof specials / sizeof *specials; i++) check_rounding(specials[i]);
    for (uint32_t e = 0; e < 256; e++)
        for (uint32_t m = 0; m < 64; m++)
            for (uint32_t s = 0; s < 2; s++) check_rounding(s << 31 | e << 23 | m), check_rounding(s << 31 | e << 23 | (0x7FFFFFu - m));
    for (uint64_t u = 0; u < (1ull << 32); u += 4093) check_rounding((uint32_t)u);
    CHECK_EQ_INT(rounding_bad, 0);

    /* the transcendental functions: uniform samples, random bit patterns in the domain, and for sin,
     * cos, tan every exponent up to the largest float */
    for (unsigned k = 0; k < sizeof fns / sizeof *fns; k++) {
        const fn *f = &fns[k];
        double worst = 0;
        float worst_x = 0;
        for (int i = 0; i < 300000; i++) {
            float x = i & 1 ? f->lo + (f->hi - f->lo) * (float)(rnd() & 0xFFFFFF) / 16777216.0f : kf_from_bits(rnd() << 1 >> 1 | (rnd() & 1u) << 31);
            if (!(x >= f->lo && x <= f->hi)) continue;
            double u = ulps(f->f(x), f->ref((double)x));
            if (u > worst) worst = u, worst_x = x;
        }
        if (f->f == kf_sin || f->f == kf_cos || f->f == kf_tan)
            for (int i = 0; i < 300000; i++) { /* every finite magnitude */
                float x = kf_from_bits(rnd() % 0x7F800000u | (rnd() & 1u) << 31);
                double u = ulps(f->f(x), f->ref((double)x));
                if (u > worst) worst = u, worst_x = x;
            }
        printf("%-6s worst %.2f ulp (at %.9g), bound %.0f\n", f->name, worst, worst_x, f->bound);
        if (worst > f->bound) fprintf(stderr, "%s: %.2f ulp at %.9g\n", f->name, worst, worst_x);
        CHECK(worst <= f->bound);
        /* NaN in, canonical NaN out */
        CHECK_EQ_INT(kf_bits(f->f(kf_from_bits(0xFFC00123u))), KF_CANON_NAN);
    }

    /* fmod: exact, so equal to the host's fmodf bit for bit: random pairs of any magnitudes
     * (subnormals included), near multiples, and the special values */
    int fmod_bad = 0;
    for (int i = 0; i < 2000000; i++) {
        float x = kf_from_bits(rnd() << 1 ^ rnd());
        float y = kf_from_bits(i % 3 ? rnd() << 1 ^ rnd() : (rnd() & 0x807FFFFFu) | (kf_bits(x) & 0x7F800000u));
        float want = kf_canon(fmodf(x, y)), got = kf_fmod(x, y);
        if (kf_bits(want) != kf_bits(got) && fmod_bad++ < 5)
            fprintf(stderr, "fmod(%a, %a): got %a want %a\n", (double)x, (double)y, (double)got, (double)want);
    }
    CHECK_EQ_INT(fmod_bad, 0);
    CHECK(kf_fmod(5.5f, 2.0f) == 1.5f && kf_fmod(-5.5f, 2.0f) == -1.5f && kf_fmod(5.5f, -2.0f) == 1.5f);
    CHECK_EQ_INT(kf_bits(kf_fmod(-4.0f, 2.0f)), 0x80000000u);
    CHECK_EQ_INT(kf_bits(kf_fmod(1.0f, 0.0f)), KF_CANON_NAN);
    CHECK_EQ_INT(kf_bits(kf_fmod(INFINITY, 1.0f)), KF_CANON_NAN);
    CHECK(kf_fmod(3.0f, INFINITY) == 3.0f);

    /* special values */
    CHECK(kf_sin(-0.0f) == 0.0f && kf_bits(kf_sin(-0.0f)) == 0x80000000u);
    CHECK_EQ_INT(kf_bits(kf_sin(INFINITY)), KF_CANON_NAN);
    CHECK_EQ_INT(kf_bits(kf_cos(-INFINITY)), KF_CANON_NAN);
    CHECK(kf_cos(0.0f) == 1.0f);
    CHECK(kf_atan(INFINITY) == 1.57079637050628662109375f && kf_atan(-INFINITY) == -1.57079637050628662109375f);
    CHECK(kf_asin(1.0f) == 1.57079637050628662109375f && kf_acos(-1.0f) == 3.1415927410125732421875f);
    CHECK(kf_acos(1.0f) == 0.0f);
    CHECK_EQ_INT(kf_bits(kf_asin(1.0000001f)), KF_CANON_NAN);
    CHECK_EQ_INT(kf_bits(kf_acosh(0.5f)), KF_CANON_NAN);
    CHECK(kf_atanh(1.0f) == INFINITY && kf_atanh(-1.0f) == -INFINITY);
    CHECK(kf_sinh(100.0f) == INFINITY && kf_cosh(-100.0f) == INFINITY && kf_sinh(-100.0f) == -INFINITY);
    CHECK(kf_sinh(89.0f) < INFINITY); /* e^89 / 2 < FLT_MAX though e^89 is not */
    CHECK(kf_asinh(INFINITY) == INFINITY && kf_acosh(INFINITY) == INFINITY);
    CHECK(kf_log1p(-1.0f) == -INFINITY && kf_log1p(INFINITY) == INFINITY);
    CHECK_EQ_INT(kf_bits(kf_log1p(-2.0f)), KF_CANON_NAN);
    CHECK_EQ_INT(kf_bits(kf_ceil(-0.5f)), 0x80000000u);
    CHECK(kf_round_half_even(2.5f) == 2.0f && kf_round_half_even(-3.5f) == -4.0f);
    return check_summary("test_fmath_ext");
}
