/* quant_simd.h: the quantization rules of numerics/kernels/quant.h (docs/numerics.md) vectorized
 * for the host backends, with exactly the reference's results: every lane performs the same IEEE
 * operations (division, multiplication, addition, int32 to float conversion), max/min/round
 * instructions are used only where they agree with the scalar comparisons (absmax skips NaN,
 * clamping after NaN is removed, round-to-nearest-even on |t| <= 127). AVX2 where the CPU has it,
 * else the scalar reference functions themselves. engine/tests/test_exact.c compares each
 * function with its scalar rule on special values and every tail length. */
#ifndef OPML_QUANT_SIMD_H
#define OPML_QUANT_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* kq_scale(x, n, 1) */
float qs_scale(const float *x, size_t n);
/* out[i] = (float)kf_quantize(x[i], scale), as +0 for zero */
void qs_quantize(const float *x, size_t n, float scale, float *out);
/* out[i] = kf_quantize(x[i], scale) as int16 or int8 (for the integer products) */
void qs_quantize_i16(const float *x, size_t n, float scale, int16_t *out);
void qs_quantize_i8(const float *x, size_t n, float scale, int8_t *out);
/* y[i] = kq_output(acc[i], sa, sb[i], bias != NULL, bias ? bias[i] : 0) */
void qs_output_rows(const int32_t *acc, size_t n, float sa, const float *sb, const float *bias, float *y);
/* y[i] = kq_output(acc[i], sa, sb, has_bias, bias) */
void qs_output(const int32_t *acc, size_t n, float sa, float sb, int has_bias, float bias, float *y);

/* sum over i < k of (int32)a[i] * b[i]: exact in int32 for k <= KD_MAX_K, so any order gives
 * the reference's sum */
int32_t qs_dot_i8(const int8_t *a, const int8_t *b, size_t k);

#endif
