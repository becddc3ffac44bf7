/* q8_host.h: the Q8_0 product (OP_Q8LINEAR) on x86-64 with AVX-512 VNNI, giving exactly the bits
 * of the reference kernel (numerics/kernels/q8linear.c, docs/numerics.md "Q8_0 products"):
 *   - activations quantized per block of 32 with kq8's rule, vectorized (max, multiply, clamp,
 *     round-to-nearest-even, F16C conversions: each equal to the scalar operation);
 *   - exact int32 block sums by vpdpbusd (unsigned x signed bytes: the weights' bytes are flipped
 *     by 0x80, i.e. w + 128, and 128 * sum(x) of the block is subtracted: integers, so exact);
 *   - each block's float term (float)isum * (dw * dx) computed lane by lane and added to the
 *     accumulator of its block number mod 16, then the fixed tree: the reference's order.
 * Two shapes of the same arithmetic: few rows (decoding) stream each weight row once, 16 blocks
 * per vector (lane = block; rows of k >= 2048 four at a time, far apart, each prefetched ahead:
 * more streams in flight than one row gives one core); many rows (a prompt) repack 16 weight rows at a time so that a lane
 * is an output row, reused for every activation row; there, on CPUs with AMX-INT8 (and a kernel
 * that grants tile data), the block sums of 16 activation rows x 16 weight rows are one tile
 * product (TDPBSSD: signed bytes, exact int32), finished by the same lane-wise epilogue. Output rows are split over the pool's
 * threads; each output is computed by one thread, so the thread count never changes a bit. */
#ifndef OPML_Q8_HOST_H
#define OPML_Q8_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

typedef struct q8h_work q8h_work;

/* 1 when this CPU has AVX-512 F, BW, VL, VNNI and F16C. */
int q8h_available(void);
q8h_work *q8h_work_new(void);
/* Prompts may use AMX (the default) or not (the VNNI path; for tests: the same bits). */
void q8h_use_amx(q8h_work *w, int on);
void q8h_work_free(q8h_work *w);

/* kq8_quantize_row (q[n], d[n / 32] as floats) and the same rule written as Q8_0 blocks (d's
 * fp16 bits then q, 34 bytes per 32 values), with kq8_quantize_block's bits. Precondition:
 * q8h_available(); n a multiple of 32. */
void q8h_quantize_act(const float *x, size_t n, int8_t *q, float *d);
void q8h_quantize_blocks(const float *x, size_t nblocks, uint8_t *out);

/* y[r * n + o] for r < rows, o < n: x f32 [rows, k], wq Q8_0 [n, k] (k a multiple of 32), as
 * OP_Q8LINEAR. pool may be NULL (one thread). Returns 0, or -1 when out of memory. */
int q8h_linear(q8h_work *w, opml_pool *pool, const float *x, size_t rows, size_t k, const uint8_t *wq, size_t n,
               float *y);

#endif
