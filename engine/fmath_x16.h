/* fmath_x16.h: the scalar functions of numerics/kernels/fmath.c sixteen lanes at a time (AVX-512),
 * each lane doing exactly the reference's operations in the reference's order (no FMA), so every
 * lane's bits equal the scalar function's (engine/tests/test_exact.c sweeps all 2^32 inputs
 * in steps). Used by the blas backend for SiLU, the softmax of Attention and the element-wise
 * products and sums of equal shapes. */
#ifndef OPML_FMATH_X16_H
#define OPML_FMATH_X16_H

#include <stddef.h>

/* 1 when this CPU has AVX-512F. */
int fx16_available(void);
/* y[i] = kf_exp(x[i]); y[i] = kf_canon(x[i] * kf_sigmoid(x[i])) (SiLU); n any. y may be x. */
void fx16_exp(const float *x, size_t n, float *y);
void fx16_silu(const float *x, size_t n, float *y);
/* y[i] = kf_canon(a[i] + b[i]), kf_canon(a[i] * b[i]) */
void fx16_add(const float *a, const float *b, size_t n, float *y);
void fx16_mul(const float *a, const float *b, size_t n, float *y);

#endif
