/* quant.c: per-row int8 quantization and dequantization (quant.h, docs/numerics.md). */
#include "quant.h"

#include "fmath.h"

float kq_scale(const float *x, size_t n, size_t stride) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = kf_from_bits(kf_bits(x[i * stride]) & 0x7FFFFFFFu);
        if (a > m) m = a;
    }
    return m / 127.0f;
}

void kq_quantize(const float *x, size_t n, size_t stride, float scale, int8_t *q) {
    for (size_t i = 0; i < n; i++) q[i] = (int8_t)kf_quantize(x[i * stride], scale);
}
