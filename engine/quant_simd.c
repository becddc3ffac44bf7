/* quant_simd.c: AVX2 versions of the quantization rules (quant_simd.h), selected at run time. */
#include "quant_simd.h"

#include <immintrin.h>

#include "fmath.h"
#include "quant.h"

static int have_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    return cached;
}

__attribute__((target("avx2"))) static float scale_avx2(const float *x, size_t n) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 m = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) /* max_ps(a, m) returns m when a is NaN: NaN is skipped */
        m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), absmask), m);
    float lanes[8], best = 0.0f;
    _mm256_storeu_ps(lanes, m);
    for (int l = 0; l < 8; l++)
        if (lanes[l] > best) best = lanes[l];
    for (; i < n; i++) {
        float a = kf_from_bits(kf_bits(x[i]) & 0x7FFFFFFFu);
        if (a > best) best = a;
    }
    return best / 127.0f;
}

__attribute__((target("avx2"))) static void quantize_avx2(const float *x, size_t n, float scale, float *out) {
    const __m256 s = _mm256_set1_ps(scale), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        t = _mm256_blendv_ps(t, zero, _mm256_cmp_ps(t, t, _CMP_UNORD_Q)); /* NaN -> 0 */
        t = _mm256_max_ps(_mm256_min_ps(t, hi), lo);
        t = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_ps(out + i, _mm256_add_ps(t, zero)); /* -0 + 0 = +0, as (float)0 */
    }
    for (; i < n; i++) out[i] = (float)kf_quantize(x[i], scale);
}

/* quantize_avx2's lanes (integers in [-127, 127] as floats) converted exactly and packed to
 * int16 (wide = 1) or int8 */
__attribute__((target("avx2"))) static void quantize_int_avx2(const float *x, size_t n, float scale, void *out, int wide) {
    const __m256 s = _mm256_set1_ps(scale), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        t = _mm256_blendv_ps(t, _mm256_setzero_ps(), _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
        t = _mm256_max_ps(_mm256_min_ps(t, hi), lo);
        __m256i q = _mm256_cvtps_epi32(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        if (wide) _mm_storeu_si128((__m128i *)((int16_t *)out + i), p);
        else _mm_storel_epi64((__m128i *)((int8_t *)out + i), _mm_packs_epi16(p, p));
    }
    for (; i < n; i++) {
        int32_t v = kf_quantize(x[i], scale);
        if (wide) ((int16_t *)out)[i] = (int16_t)v;
        else ((int8_t *)out)[i] = (int8_t)v;
    }
}

__attribute__((target("avx2"))) static void output_avx2(const int32_t *acc, size_t n, float sa, const float *sb, float sb1,
                                                        const float *bias, int has_bias, float bias1, float *y) {
    const __m256 a = _mm256_set1_ps(sa), canon = _mm256_castsi256_ps(_mm256_set1_epi32((int)KF_CANON_NAN));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + i))), a);
        v = _mm256_mul_ps(v, sb ? _mm256_loadu_ps(sb + i) : _mm256_set1_ps(sb1));
        if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
        else if (has_bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias1));
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(v, canon, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
    }
    for (; i < n; i++)
        y[i] = kq_output(acc[i], sa, sb ? sb[i] : sb1, bias || has_bias, bias ? bias[i] : bias1);
}

__attribute__((target("avx2"))) static int32_t dot_avx2(const int8_t *a, const int8_t *b, size_t k) {
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) { /* 16 products as int16, summed in pairs into 8 int32 lanes */
        __m256i va = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
    }
    int32_t lanes[8], sum = 0;
    _mm256_storeu_si256((__m256i *)lanes, acc);
    for (int l = 0; l < 8; l++) sum += lanes[l];
    for (; i < k; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

int32_t qs_dot_i8(const int8_t *a, const int8_t *b, size_t k) {
    if (have_avx2()) return dot_avx2(a, b, k);
    int32_t sum = 0;
    for (size_t i = 0; i < k; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

float qs_scale(const float *x, size_t n) { return have_avx2() ? scale_avx2(x, n) : kq_scale(x, n, 1); }

void qs_quantize(const float *x, size_t n, float scale, float *out) {
    if (have_avx2()) {
        quantize_avx2(x, n, scale, out);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = (float)kf_quantize(x[i], scale);
}

void qs_quantize_i16(const float *x, size_t n, float scale, int16_t *out) {
    if (have_avx2()) {
        quantize_int_avx2(x, n, scale, out, 1);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = (int16_t)kf_quantize(x[i], scale);
}

void qs_quantize_i8(const float *x, size_t n, float scale, int8_t *out) {
    if (have_avx2()) {
        quantize_int_avx2(x, n, scale, out, 0);
        return;
    }
    kq_quantize(x, n, 1, scale, out);
}

void qs_output_rows(const int32_t *acc, size_t n, float sa, const float *sb, const float *bias, float *y) {
    if (have_avx2()) {
        output_avx2(acc, n, sa, sb, 0.0f, bias, 0, 0.0f, y);
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = kq_output(acc[i], sa, sb[i], bias != NULL, bias ? bias[i] : 0.0f);
}

void qs_output(const int32_t *acc, size_t n, float sa, float sb, int has_bias, float bias, float *y) {
    if (have_avx2()) {
        output_avx2(acc, n, sa, NULL, sb, NULL, has_bias, bias, y);
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = kq_output(acc[i], sa, sb, has_bias, bias);
}
