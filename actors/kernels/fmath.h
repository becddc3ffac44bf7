/* fmath.h: the scalar arithmetic every kernel shares (docs/numerics.md): NaN canonicalization,
 * explicit rounding to int8, a correctly rounded square root and exp/expm1 built from + - * /
 * only. Pure functions on IEEE-754 binary32, identical on the host (SSE) and the RV32IM guest
 * (libgcc soft-float): nothing here calls libm. */
#ifndef OPML_FMATH_H
#define OPML_FMATH_H

#include <stdint.h>

#define KF_CANON_NAN 0x7FC00000u

uint32_t kf_bits(float x);
float kf_from_bits(uint32_t u);
/* x, or the canonical quiet NaN 0x7FC00000 when x is any NaN. */
float kf_canon(float x);
int kf_isnan(float x);

/* The int8 quantization of docs/numerics.md: t = x / scale; NaN -> 0; clamp to [-127, 127];
 * round half to even. */
int32_t kf_quantize(float x, float scale);

/* Correctly rounded square root (round to nearest even), as x86 sqrtss, with NaN canonical. */
float kf_sqrt(float x);
/* e^x and e^x - 1 to a few ulp, from + - * / and bit manipulation only. NaN in, canonical NaN out. */
float kf_exp(float x);
float kf_expm1(float x);
float kf_sigmoid(float x);
float kf_tanh(float x);

#endif
