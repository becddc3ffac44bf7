/* ops.h: the small shape helpers the operator sources share (each source defines its operator's
 * kernel_op, kernel.h, for the dispatcher's table in kernel.c). Internal to numerics/kernels/ (and
 * the engine's accelerated backends, which reuse the quantization helpers of quant.h so that every
 * backend quantizes with the same code). */
#ifndef OPML_KERNEL_OPS_H
#define OPML_KERNEL_OPS_H

#include "kernel.h"

/* Bytes of one element of this dtype (0 for KD_NONE and for KD_Q8_0, whose elements are not
 * whole bytes: the operators that move elements refuse it). */
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

/* Attention (attention.c, docs/numerics.md): one loop over queries and heads, its pieces
 * pluggable so that a backend can vectorize them with the same bits (each piece's contract is
 * its reference version's result, bit for bit):
 *   f32 caches: scale = kq_scale(x, n, 1); quantize = kq_quantize(x, n, 1, s, q); dot = the int32
 *     sum of products; wsum: y[i] = ((y[i] + p_0 v_0[i]) + p_1 v_1[i]) + ... (row j at v + j * stride;
 *     the caller starts y at +0, and continues it over a second run of rows: the 6-operand form);
 *   Q8_0 caches: quantize_q8 = kq8_quantize_row; scores_q8: sc[j] = kf_canon(kq8_dot(q, key j) *
 *     scale) (key j's blocks at k + j * row); values_q8: y[i] = y[i] + p_j * ((float)q * d) in
 *     order of j (row j at v + j * row; y started and continued as wsum's);
 *   expv: e_j = kf_exp(x_j) (NULL: the scalar loop).
 * The softmax: m = the maximum by ">" from -Inf in order (a NaN score makes m NaN); e_j =
 * kf_exp(sc_j - m); z = ((e_0 + e_1) + ...) in order; sc_j = e_j / z. */
typedef void (*kd_expv_fn)(const float *x, size_t n, float *y);
typedef struct kd_attention_ops {
    float (*scale)(const float *x, size_t n);
    void (*quantize)(const float *x, size_t n, float s, int8_t *q);
    int32_t (*dot)(const int8_t *a, const int8_t *b, size_t n);
    void (*wsum)(const float *p, size_t len, const float *v, size_t stride, size_t dh, float *y);
    void (*quantize_q8)(const float *x, size_t n, int8_t *q, float *d);
    void (*scores_q8)(const int8_t *qq, const float *dq, size_t nb, const uint8_t *k, size_t row, size_t len,
                      float scale, float *sc);
    void (*values_q8)(const float *p, size_t len, const uint8_t *v, size_t row, size_t nb, float *y);
    kd_expv_fn expv;
} kd_attention_ops;
extern const kd_attention_ops kd_attention_ref;
/* A checked Attention node with these pieces; scr holds kernel_scratch_size(d) bytes. */
void kd_attention_run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y, void *scr,
                      const kd_attention_ops *o);

/* Element-wise binary operators with numpy broadcasting (broadcast.c): two f32 operands whose
 * dims, aligned right, equal the f32 output's or are 1. y[i] = kf_canon(f(a[..], b[..])). */
typedef float (*kd_binop)(float a, float b);
int kd_check_broadcast(const kd_desc *d);
void kd_broadcast_run(const kd_desc *d, const float *a, const float *b, float *y, kd_binop f);

#endif
