/* fmath_x16.c: AVX-512 lanes of fmath.c (fmath_x16.h). The constants are fmath.c's. */
#include "fmath_x16.h"

#include <immintrin.h>
#include <stdint.h>

#include "fmath.h"

#define X16 __attribute__((target("avx512f")))

int fx16_available(void) { return __builtin_cpu_supports("avx512f"); }

X16 static inline __m512 canon(__m512 v) {
    return _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_castsi512_ps(_mm512_set1_epi32((int)KF_CANON_NAN)));
}

/* 2^e for integer lanes -126 <= e <= 127, from bits */
X16 static inline __m512 pow2(__m512i e) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23)); }

/* kf_exp lane by lane */
X16 static __m512 exp16(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269502162933349609375f)); /* x * LOG2E */
    /* kf_round_even; lanes outside its range are replaced below */
    __m512 kf = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    __mmask16 big = _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.72283935546875f), _CMP_GT_OQ);
    __mmask16 small = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-103.972084045410f), _CMP_LT_OQ);
    kf = _mm512_maskz_mov_ps((__mmask16)~(nan | big | small), kf);
    __m512i k = _mm512_cvtps_epi32(kf);
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(kf, _mm512_set1_ps(0.693145751953125f))),
                             _mm512_mul_ps(kf, _mm512_set1_ps(1.428606765330187045037746e-06f)));
    __m512 p = _mm512_set1_ps(1.0f / 362880.0f);
    static const float c[7] = {1.0f / 40320.0f, 1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f};
    for (int i = 0; i < 7; i++) p = _mm512_add_ps(_mm512_set1_ps(c[i]), _mm512_mul_ps(r, p));
    __m512 y = _mm512_add_ps(one, _mm512_add_ps(r, _mm512_mul_ps(_mm512_mul_ps(r, r), p)));
    /* y * 2^k, in two steps beyond the normal exponents: (y * 2^e1) * 2^e2 */
    __mmask16 hi = _mm512_cmp_epi32_mask(k, _mm512_set1_epi32(127), _MM_CMPINT_NLE);
    __mmask16 lo = _mm512_cmp_epi32_mask(k, _mm512_set1_epi32(-126), _MM_CMPINT_LT);
    __m512i e1 = _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(k, hi, _mm512_set1_epi32(127)), lo, _mm512_set1_epi32(-126));
    __m512i e2 = _mm512_mask_sub_epi32(_mm512_mask_sub_epi32(_mm512_setzero_si512(), hi, k, _mm512_set1_epi32(127)), lo, k,
                                       _mm512_set1_epi32(-126));
    y = _mm512_mul_ps(y, pow2(e1));
    y = _mm512_mask_mul_ps(y, hi | lo, y, pow2(e2));
    y = _mm512_mask_mov_ps(y, big, _mm512_castsi512_ps(_mm512_set1_epi32(0x7F800000)));
    y = _mm512_mask_mov_ps(y, small, _mm512_setzero_ps());
    return _mm512_mask_mov_ps(y, nan, _mm512_castsi512_ps(_mm512_set1_epi32((int)KF_CANON_NAN)));
}

/* kf_sigmoid lane by lane: x >= 0: 1 / (1 + e^-x); else e^x / (1 + e^x) */
X16 static __m512 sigmoid16(__m512 x) {
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 e = exp16(_mm512_mask_sub_ps(x, pos, _mm512_setzero_ps(), x)); /* -x where x >= 0 */
    __m512 num = _mm512_mask_mov_ps(e, pos, _mm512_set1_ps(1.0f));
    return canon(_mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
}

#define LANES(body)                                                                            \
    for (size_t i = 0; i < n; i += 16) {                                                       \
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);      \
        body                                                                                   \
    }

X16 void fx16_exp(const float *x, size_t n, float *y) { LANES(_mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));) }

X16 void fx16_silu(const float *x, size_t n, float *y) {
    LANES(__m512 v = _mm512_maskz_loadu_ps(m, x + i); _mm512_mask_storeu_ps(y + i, m, canon(_mm512_mul_ps(v, sigmoid16(v))));)
}

X16 void fx16_add(const float *a, const float *b, size_t n, float *y) {
    LANES(_mm512_mask_storeu_ps(y + i, m, canon(_mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i))));)
}

X16 void fx16_mul(const float *a, const float *b, size_t n, float *y) {
    LANES(_mm512_mask_storeu_ps(y + i, m, canon(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i))));)
}
