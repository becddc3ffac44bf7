/* quant.h: the W8A8 quantization rules of docs/numerics.md, shared by the reference kernels and by
 * the accelerated backends (which must quantize with exactly this code and only replace the
 * integer dot products). */
#ifndef OPML_KERNEL_QUANT_H
#define OPML_KERNEL_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "fmath.h"

/* absmax / 127 over n floats x[0], x[stride], ...: absmax is the largest |x| found by "greater
 * than" comparisons from +0 in index order (NaN never compares greater, so it is skipped). */
float kq_scale(const float *x, size_t n, size_t stride);
/* q[i] = kf_quantize(x[i * stride], scale) for i < n. */
void kq_quantize(const float *x, size_t n, size_t stride, float scale, int8_t *q);
/* The dequantized output: ((float)acc * sa) * sb, plus bias when has_bias, NaN canonical.
 * Inline: it runs once per output element. */
static inline float kq_output(int32_t acc, float sa, float sb, int has_bias, float bias) {
    float y = ((float)acc * sa) * sb;
    if (has_bias) y = y + bias;
    return kf_canon(y);
}

#endif
