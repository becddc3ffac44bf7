/* attention_host.c: OP_ATTENTION for the host backends with the reference kernel's bits
 * (actors/kernels/attention.c, docs/numerics.md "Transformer operators"): the keys and queries
 * quantized by quant_simd.h (equal to kq_scale / kq_quantize), the int8 score sums by qs_dot_i8
 * (integers: any order), the scores, maximum and the exponentials' sum exactly in the
 * reference's scalar order, the exponentials lane by lane (fmath_x16.h), and the output sums y[i] = ((+0 + p_0 v_0[i]) + p_1 v_1[i]) + ...
 * vectorized across i (AVX-512: each lane is one i, adding j in order; multiply then add, no FMA). */
#include "attention_host.h"

#include <immintrin.h>

#include "fmath.h"
#include "fmath_x16.h"
#include "quant.h"
#include "quant_simd.h"

/* y[0..dh) = sum over j < len of p[j] * v_j[0..dh), in order of j, from +0 (v_j at v + j * stride) */
__attribute__((target("avx512f"))) static void weighted_sum(const float *p, size_t len, const float *v, size_t stride,
                                                            size_t dh, float *y) {
    size_t i = 0;
    for (; i + 64 <= dh; i += 64) { /* four vectors at a time: 128-wide heads in two passes */
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < len; j++) {
            const float *vr = v + j * stride + i;
            __m512 pj = _mm512_set1_ps(p[j]);
            a0 = _mm512_add_ps(a0, _mm512_mul_ps(pj, _mm512_loadu_ps(vr)));
            a1 = _mm512_add_ps(a1, _mm512_mul_ps(pj, _mm512_loadu_ps(vr + 16)));
            a2 = _mm512_add_ps(a2, _mm512_mul_ps(pj, _mm512_loadu_ps(vr + 32)));
            a3 = _mm512_add_ps(a3, _mm512_mul_ps(pj, _mm512_loadu_ps(vr + 48)));
        }
        _mm512_storeu_ps(y + i, a0), _mm512_storeu_ps(y + i + 16, a1);
        _mm512_storeu_ps(y + i + 32, a2), _mm512_storeu_ps(y + i + 48, a3);
    }
    for (; i < dh; i += 16) {
        __mmask16 k = dh - i >= 16 ? 0xFFFF : (__mmask16)((1u << (dh - i)) - 1);
        __m512 a = _mm512_setzero_ps();
        for (size_t j = 0; j < len; j++)
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(k, v + j * stride + i)));
        _mm512_mask_storeu_ps(y + i, k, a);
    }
}

int attention_host_available(void) { return __builtin_cpu_supports("avx512f"); }

void attention_host_run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y, void *scr) {
    const float *q = in[0], *k = in[1], *v = in[2];
    int32_t pos = *(const int32_t *)in[3];
    float scale = d->fa[0];
    size_t t_n = d->in[0].dims[0], heads = d->in[0].dims[1], dh = d->in[0].dims[2];
    size_t s_n = d->in[1].dims[0], kvh = d->in[1].dims[1], group = heads / kvh, n = (size_t)kd_numel(&d->out);
    if (pos < 0 || (size_t)pos > s_n || t_n > s_n - (size_t)pos) {
        for (size_t i = 0; i < n; i++) y[i] = kf_from_bits(KF_CANON_NAN);
        return;
    }
    size_t visible = (size_t)pos + t_n, row = kvh * dh;
    float *sc = scr, *ks = sc + s_n; /* the reference kernel's scratch layout and size */
    int8_t *kq = (int8_t *)(ks + s_n * kvh), *qq = kq + s_n * kvh * dh;
    for (size_t r = 0; r < visible * kvh; r++) {
        ks[r] = qs_scale(k + r * dh, dh);
        qs_quantize_i8(k + r * dh, dh, ks[r], kq + r * dh);
    }
    for (size_t t = 0; t < t_n; t++) {
        size_t len = (size_t)pos + t + 1;
        for (size_t h = 0; h < heads; h++) {
            size_t g = h / group;
            const float *qr = q + (t * heads + h) * dh;
            float sq = qs_scale(qr, dh);
            qs_quantize_i8(qr, dh, sq, qq);
            float m = kf_from_bits(0xFF800000u);
            for (size_t j = 0; j < len; j++) {
                float s = kf_canon(kq_output(qs_dot_i8(qq, kq + (j * kvh + g) * dh, dh), sq, ks[j * kvh + g], 0, 0.0f) * scale);
                sc[j] = s;
                if (kf_isnan(s)) m = s;
                else if (!kf_isnan(m) && s > m) m = s;
            }
            for (size_t j = 0; j < len; j++) sc[j] = sc[j] - m;
            fx16_exp(sc, len, sc); /* kf_exp lane by lane */
            float z = 0.0f;
            for (size_t j = 0; j < len; j++) z = z + sc[j];
            for (size_t j = 0; j < len; j++) sc[j] = sc[j] / z;
            float *yr = y + (t * heads + h) * dh;
            weighted_sum(sc, len, v + g * dh, row, dh, yr);
            for (size_t i = 0; i < dh; i++) yr[i] = kf_canon(yr[i]);
        }
    }
}
