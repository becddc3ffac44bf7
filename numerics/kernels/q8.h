/* q8.h: the Q8_0 block arithmetic of docs/numerics.md ("Q8_0 products"), shared by the reference
 * kernels and the accelerated backends (which must quantize activations with exactly this code
 * and may only reorganise the integer block sums). A Q8_0 block is 34 bytes: an fp16 scale d
 * (little-endian) then 32 int8 q. */
#ifndef OPML_KERNEL_Q8_H
#define OPML_KERNEL_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "fmath.h"
#include "kernel.h"

#define KQ8_ACCS 16 /* float accumulators of a Q8_0 dot product: block b is added to b mod 16 */

/* The scale of the block at blk, as an exact float. */
static inline float kq8_scale(const uint8_t *blk) { return kf_f16_to_f32((uint16_t)(blk[0] | blk[1] << 8)); }

/* Quantize one block of 32 activations: amax = the largest |x_i| by "greater than" from +0 in
 * index order (NaN skipped); d = fp16(amax / 127); q_i = kf_quantize_t(x_i * id) with
 * id = 127 / amax (0 when amax is 0). Returns d's bits. */
uint16_t kq8_quantize_block(const float *x, int8_t *q);
/* Quantize n values (n a multiple of 32) block by block: q[n] and each block's d as a float. */
void kq8_quantize_row(const float *x, size_t n, int8_t *q, float *d);

/* The fixed tree over the 16 accumulators: a[i] += a[i + 8] (i < 8), a[i] += a[i + 4] (i < 4),
 * a[i] += a[i + 2] (i < 2), result a[0] + a[1]. Modifies a. */
static inline float kq8_tree(float *a) {
    for (int w = 8; w >= 2; w /= 2)
        for (int i = 0; i < w; i++) a[i] = a[i] + a[i + w];
    return a[0] + a[1];
}

/* The dot product of a quantized activation row (q: nb * 32 int8, dx: nb block scales) with a
 * Q8_0 weight row of nb blocks at w: isum_b exact in int32; term_b = (float)isum_b * (dw_b * dx_b);
 * acc[b mod 16] = acc[b mod 16] + term_b in order of b from +0; then kq8_tree. Not canonical. */
float kq8_dot(const int8_t *q, const float *dx, const uint8_t *w, size_t nb);

#endif
