/* ops.h: the small shape helpers the operator sources share (each source defines its operator's
 * kernel_op, kernel.h, for the dispatcher's table in kernel.c). Internal to numerics/kernels/ (and
 * the engine's accelerated backends, which reuse the quantization helpers of quant.h so that every
 * backend quantizes with the same code). */
#ifndef OPML_KERNEL_OPS_H
#define OPML_KERNEL_OPS_H

#include "kernel.h"

/* The check of a float32 map y = f(x): one f32 operand shaped like the f32 output. */
int kd_check_unary_f32(const kd_desc *d);
/* Softmax and LogSoftmax (ia[0] axis, ia[1] 1 = every dimension from the axis on is one row):
 * their check, and the row geometry: `outer` groups of `inner` interleaved rows of `len`. */
int kd_check_softmax(const kd_desc *d);
void kd_softmax_rows(const kd_desc *d, size_t *outer, size_t *len, size_t *inner);
/* The maximum of the row xr[0], xr[inner], ..., xr[(len - 1) * inner] by "greater than" from
 * -Inf; any NaN in the row makes it NaN (the first NaN met, scanning in index order). */
float kd_softmax_row_max(const float *xr, size_t len, size_t inner);
/* row(xr, yr, len, inner) for every row of x (and the same place in y), in index order: the loop
 * of Softmax, LogSoftmax and Hardmax. */
typedef void (*kd_row_fn)(const float *xr, float *yr, size_t len, size_t inner);
void kd_softmax_each_row(const kd_desc *d, const float *x, float *y, kd_row_fn row);
/* The reductions (reduce.c: sum, mean, max, min, product): one f32 operand, ia[0] a bit mask of
 * the reduced axes (only bits below the rank), an f32 output with the kept dimensions' element
 * count (keepdims or not). Each output element, in index order, visits its reduced positions in
 * row-major order. */
enum kd_reduce { KD_REDUCE_SUM, KD_REDUCE_MEAN, KD_REDUCE_MAX, KD_REDUCE_MIN, KD_REDUCE_PROD };
int kd_check_reduce(const kd_desc *d);
void kd_reduce_run(const kd_desc *d, const float *x, float *y, enum kd_reduce mode);
/* The operands of QConv and QConvTranspose (qconv.c): X f32 [N, C, H, W], W i8 [M, C/G, KH, KW],
 * scale f32 [M], bias f32 [M] optional, output f32 [N, M, .., ..]; ia[0] group, ia[1..8] strides,
 * pads, dilations in range (pads may be negative for the transposed one); K = C/G * KH * KW at
 * most KD_MAX_K. The output's spatial size is the operator's own check. */
int kd_check_qconv_operands(const kd_desc *d, int negative_pads);
/* Their scratch (qconv.c): one image's int8 copy. Each keeps its own run loop: the reference
 * QConv's is the VM's hot loop (a shared loop through a per-pixel function pointer took
 * fashion_cnn's second convolution past its 2^23-step budget). */
size_t kd_qconv_scratch(const kd_desc *d);
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

/* numpy broadcasting (broadcast.c). kd_check_bcast_shapes: operands 0..n-1 (any dtype) have
 * dims that, aligned right, equal the output's or are 1, and each output dim is the largest of
 * the operands' there (Expand's larger output: `grow` set). */
#define KD_BCAST_MAX 3
int kd_check_bcast_shapes(const kd_desc *d, unsigned n, int grow);
/* The walk of the output in index order with each operand's element offset: after
 * kd_bcast_init, off[j] is operand j's element for output element 0; kd_bcast_next moves every
 * offset to the next output element (odometer style, stride 0 on broadcast dims). */
typedef struct kd_bcast {
    unsigned n, rank;
    const uint32_t *dims;
    size_t st[KD_BCAST_MAX][KD_MAX_RANK], idx[KD_MAX_RANK], off[KD_BCAST_MAX];
} kd_bcast;
void kd_bcast_init(kd_bcast *b, const kd_desc *d, unsigned n);
static inline void kd_bcast_next(kd_bcast *b) {
    for (int k = (int)b->rank - 1; k >= 0; k--) {
        b->idx[k]++;
        for (unsigned j = 0; j < b->n; j++) b->off[j] += b->st[j][k];
        if (b->idx[k] < b->dims[k]) return;
        for (unsigned j = 0; j < b->n; j++) b->off[j] -= b->st[j][k] * b->idx[k];
        b->idx[k] = 0;
    }
}
/* Element-wise binary f32 operators (Add, Sub, Mul, Div, Pow): two f32 operands broadcast to the
 * f32 output. y[i] = kf_canon(f(a[..], b[..])). */
typedef float (*kd_binop)(float a, float b);
int kd_check_broadcast(const kd_desc *d);
void kd_broadcast_run(const kd_desc *d, const float *a, const float *b, float *y, kd_binop f);
/* The check of a map between two dtypes of one shape: one operand of dtype `in` shaped like the
 * output of dtype `out`. */
int kd_check_unary(const kd_desc *d, unsigned in, unsigned out);

#endif
