/* q8.c: Q8_0 activation quantization and the block-scaled dot product (q8.h). */
#include "q8.h"

uint16_t kq8_quantize_block(const float *x, int8_t *q) {
    float m = 0.0f;
    for (int i = 0; i < KD_Q8_BLOCK; i++) {
        float a = kf_from_bits(kf_bits(x[i]) & 0x7FFFFFFFu);
        if (a > m) m = a;
    }
    float id = m > 0.0f ? 127.0f / m : 0.0f;
    for (int i = 0; i < KD_Q8_BLOCK; i++) q[i] = (int8_t)kf_quantize_t(x[i] * id);
    return kf_f32_to_f16(m / 127.0f);
}

void kq8_quantize_row(const float *x, size_t n, int8_t *q, float *d) {
    for (size_t b = 0; b < n / KD_Q8_BLOCK; b++)
        d[b] = kf_f16_to_f32(kq8_quantize_block(x + b * KD_Q8_BLOCK, q + b * KD_Q8_BLOCK));
}

float kq8_dot(const int8_t *q, const float *dx, const uint8_t *w, size_t nb) {
    float acc[KQ8_ACCS] = {0};
    for (size_t b = 0; b < nb; b++, w += KD_Q8_BYTES, q += KD_Q8_BLOCK) {
        const int8_t *wq = (const int8_t *)(w + 2);
        int32_t isum = 0;
        for (int i = 0; i < KD_Q8_BLOCK; i++) isum += (int32_t)q[i] * wq[i];
        acc[b % KQ8_ACCS] = acc[b % KQ8_ACCS] + (float)isum * (kq8_scale(w) * dx[b]);
    }
    return kq8_tree(acc);
}
