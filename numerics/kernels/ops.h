/* ops.h: the small shape helpers the operator sources share (each source defines its operator's
 * kernel_op, kernel.h, for the dispatcher's table in kernel.c). Internal to numerics/kernels/ (and
 * the engine's accelerated backends, which reuse the quantization helpers of quant.h so that every
 * backend quantizes with the same code). */
#ifndef OPML_KERNEL_OPS_H
#define OPML_KERNEL_OPS_H

#include "kernel.h"

/* Bytes of one element of this dtype (0 for KD_NONE and for an unknown dtype; descriptor.c). */
unsigned kd_elsize(unsigned dtype);
/* The check of a float32 map y = f(x): one f32 operand shaped like the f32 output. */
int kd_check_unary_f32(const kd_desc *d);
/* Softmax and LogSoftmax (ia[0] axis, ia[1] 1 = every dimension from the axis on is one row):
 * their check, and the row geometry: `outer` groups of `inner` interleaved rows of `len`. */
int kd_check_softmax(const kd_desc *d);
void kd_softmax_rows(const kd_desc *d, size_t *outer, size_t *len, size_t *inner);
/* The maximum of the row xr[0], xr[inner], ..., xr[(len - 1) * inner] by "greater than" from
 * -Inf; any NaN in the row makes it NaN (the first NaN met, scanning in index order). */
float kd_softmax_row_max(const float *xr, size_t len, size_t inner);
/* The reductions (reduce.c): one f32 operand, ia[0] a bit mask of the reduced axes (only bits
 * below the rank), an f32 output with the kept dimensions' element count (keepdims or not). Each
 * output element, in index order, visits its reduced positions in row-major order. */
enum kd_reduce { KD_REDUCE_SUM, KD_REDUCE_MEAN, KD_REDUCE_MAX };
int kd_check_reduce(const kd_desc *d);
void kd_reduce_run(const kd_desc *d, const float *x, float *y, enum kd_reduce mode);
/* The check shared by the 2-D pooling operators (ia[0..9]: kh kw sh sw pt pl pb pr dh dw). */
int kd_check_pool2d(const kd_desc *d);

/* Element-wise binary operators with numpy broadcasting (broadcast.c): two f32 operands whose
 * dims, aligned right, equal the f32 output's or are 1. y[i] = kf_canon(f(a[..], b[..])). */
typedef float (*kd_binop)(float a, float b);
int kd_check_broadcast(const kd_desc *d);
void kd_broadcast_run(const kd_desc *d, const float *a, const float *b, float *y, kd_binop f);

#endif
