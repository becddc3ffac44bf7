/* attention_host.c: OP_ATTENTION for the host backends with the reference kernel's bits: the
 * reference's own loop (kd_attention_run, numerics/kernels/attention.c) with vectorized pieces.
 * f32 caches: keys and queries quantized by quant_simd.h (equal to kq_scale / kq_quantize), the
 * int8 sums by qs_dot_i8 (integers: any order), the output sums y[i] = ((+0 + p_0 v_0[i]) +
 * p_1 v_1[i]) + ... lane by lane across i (AVX-512; multiply then add, no FMA). Q8_0 caches: the
 * query by q8_host's rule (and the step's new rows of a prompt from an empty cache: run_joined),
 * the Q8_0 product's order with keys as lanes (scores_q8), the values dequantized exactly and
 * summed lane by lane (values_q8). The exponentials of the softmax lane by
 * lane (fmath_x16.h); the softmax's maximum and sum stay the reference's scalar loops. */
#include "attention_host.h"

#include <immintrin.h>
#include <string.h>

#include "fmath.h"
#include "fmath_x16.h"
#include "ops.h"
#include "q8.h"
#include "q8_host.h"
#include "q8_simd.h"
#include "quant.h"
#include "quant_simd.h"

/* y[0..dh) += sum over j < len of p[j] * v_j[0..dh), in order of j, onto y's values (v_j at
 * v + j * stride): the reference's wsum */
__attribute__((target("avx512f"))) static void weighted_sum(const float *p, size_t len, const float *v, size_t stride,
                                                            size_t dh, float *y) {
    size_t i = 0;
    for (; i + 64 <= dh; i += 64) { /* four vectors at a time: 128-wide heads in two passes */
        __m512 a0 = _mm512_loadu_ps(y + i), a1 = _mm512_loadu_ps(y + i + 16), a2 = _mm512_loadu_ps(y + i + 32),
               a3 = _mm512_loadu_ps(y + i + 48);
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
        __m512 a = _mm512_maskz_loadu_ps(k, y + i);
        for (size_t j = 0; j < len; j++)
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(k, v + j * stride + i)));
        _mm512_mask_storeu_ps(y + i, k, a);
    }
}

/* ---- Q8_0 caches ---- */

/* sc[j] = kf_canon(kq8_dot(query, key j) * scale) for j < len, 16 keys at a time: lane = key
 * (in Q8S_PERM order within 16, put back before the store), 16 accumulator registers (block b
 * into register b mod 16, the tree on registers): kq8_dot's order lane by lane. Keys' block sums
 * by vpdpbusd on the key bytes XOR 0x80 minus 128 * the query block's sum. k: kv head g's blocks
 * at position 0; key j's at k + j * row. Precondition: nb <= 16. */
Q8S_TARGET static void scores_q8(const int8_t *qq, const float *dq, size_t nb, const uint8_t *k, size_t row, size_t len,
                                 float scale, float *sc) {
    const __m512i flip = _mm512_set1_epi8((char)0x80), unperm = q8s_unperm();
    const __m512i gidx = _mm512_mullo_epi32(q8s_perm(), _mm512_set1_epi32((int)row));
    __m512i xb[16];
    int32_t cx[16];
    for (size_t b = 0; b < nb; b++) {
        xb[b] = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qq + b * KD_Q8_BLOCK)));
        int32_t sum = 0;
        for (int i = 0; i < KD_Q8_BLOCK; i++) sum += qq[b * KD_Q8_BLOCK + (size_t)i];
        cx[b] = 128 * sum;
    }
    for (size_t j0 = 0; j0 < len; j0 += 16) {
        size_t cnt = len - j0 < 16 ? len - j0 : 16;
        __mmask16 valid = 0;
        for (int i = 0; i < 16; i++) valid |= (__mmask16)((size_t)Q8S_PERM[i] < cnt) << i;
        __m512 a[KQ8_ACCS];
        for (int i = 0; i < KQ8_ACCS; i++) a[i] = _mm512_setzero_ps();
        const uint8_t *kj = k + j0 * row;
        for (size_t b = 0; b < nb; b++) {
            __m512i s[8];
            for (size_t p = 0; p < 8; p++) {
                const uint8_t *lo = kj + 2 * p * row + b * KD_Q8_BYTES + 2, *hi = lo + row;
                __m256i l = 2 * p < cnt ? _mm256_loadu_si256((const __m256i *)lo) : _mm256_setzero_si256();
                __m256i h = 2 * p + 1 < cnt ? _mm256_loadu_si256((const __m256i *)hi) : _mm256_setzero_si256();
                __m512i w = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1), flip);
                s[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, xb[b]);
            }
            __m512i isum = _mm512_sub_epi32(q8s_reduce8(s), _mm512_set1_epi32(cx[b]));
            __m512i dki = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, gidx, kj + b * KD_Q8_BYTES, 1);
            __m512 sc16 = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(dki)), _mm512_set1_ps(dq[b]));
            a[b % KQ8_ACCS] = _mm512_add_ps(a[b % KQ8_ACCS], _mm512_mul_ps(_mm512_cvtepi32_ps(isum), sc16));
        }
        q8s_tree(a, nb);
        __m512 v = _mm512_mul_ps(a[0], _mm512_set1_ps(scale));
        v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_castsi512_ps(_mm512_set1_epi32((int)KF_CANON_NAN)));
        _mm512_mask_storeu_ps(sc + j0, (__mmask16)((1u << cnt) - 1), _mm512_permutexvar_ps(unperm, v));
    }
}

/* y[0..dh) += sum over j < len of p[j] * ((float)q * d) of value row j, in order of j, onto y's
 * values: 8 blocks (256 lanes) at a time. v: kv head g's blocks at position 0; row j's at v + j * row. */
Q8S_TARGET static void values_q8(const float *p, size_t len, const uint8_t *v, size_t row, size_t nb, float *y) {
    for (size_t b0 = 0; b0 < nb; b0 += 8) {
        size_t nbc = nb - b0 < 8 ? nb - b0 : 8;
        __m512 a[16];
        for (size_t i = 0; i < 2 * nbc; i++) a[i] = _mm512_loadu_ps(y + b0 * KD_Q8_BLOCK + 16 * i);
        for (size_t j = 0; j < len; j++) {
            __m512 pj = _mm512_set1_ps(p[j]);
            const uint8_t *blk = v + j * row + b0 * KD_Q8_BYTES;
            for (size_t b = 0; b < nbc; b++, blk += KD_Q8_BYTES) {
                __m512 d = _mm512_set1_ps(_cvtsh_ss((unsigned short)(blk[0] | blk[1] << 8))); /* = kq8_scale */
                __m256i q = _mm256_loadu_si256((const __m256i *)(blk + 2));
                __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q)));
                __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1)));
                a[2 * b] = _mm512_add_ps(a[2 * b], _mm512_mul_ps(pj, _mm512_mul_ps(q0, d)));
                a[2 * b + 1] = _mm512_add_ps(a[2 * b + 1], _mm512_mul_ps(pj, _mm512_mul_ps(q1, d)));
            }
        }
        for (size_t i = 0; i < 2 * nbc; i++) _mm512_storeu_ps(y + b0 * KD_Q8_BLOCK + 16 * i, a[i]);
    }
}

int attention_host_available(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c");
}

static const kd_attention_ops host = {qs_scale, qs_quantize_i8, qs_dot_i8, weighted_sum, q8h_quantize_act, scores_q8,
                                      values_q8, fx16_exp};

/* The 6-operand form over Q8_0 caches as the 4-operand form over caches of pos + T rows built in
 * scratch: the cache's rows below pos, then the step's new rows quantized by q8_host (kq8's bits,
 * vectorized; the reference loop would quantize them block by block in scalar code). The two forms
 * give the same bits (attention.c). Only where both joined caches fit in the scratch beside the
 * 4-operand form's own (the 6-operand scratch has room for the new rows): a prompt from an empty
 * cache (pos = 0) always does; later steps in practice not. 0: not taken. */
static int run_joined(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y, void *scr) {
    const kd_tensor *k = &d->in[1];
    if (d->noperands != 6 || k->dtype != KD_Q8_0) return 0;
    int32_t pos = *(const int32_t *)in[5];
    size_t t = d->in[0].dims[0], s = k->dims[0], row = (size_t)k->dims[1] * (k->dims[2] / KD_Q8_BLOCK) * KD_Q8_BYTES;
    if (pos < 0 || (size_t)pos > s || t > s - (size_t)pos) return 0;
    size_t rows = (size_t)pos + t;
    kd_desc d4 = *d;
    d4.noperands = 4;
    d4.in[1].dims[0] = (uint32_t)rows, d4.in[2] = d4.in[1], d4.in[3] = d->in[5];
    size_t own = kernel_scratch_size(&d4);
    if (own + 2 * rows * row > kernel_scratch_size(d)) return 0;
    uint8_t *kc = (uint8_t *)scr + own, *vc = kc + rows * row;
    memcpy(kc, in[1], (size_t)pos * row), memcpy(vc, in[3], (size_t)pos * row);
    q8h_quantize_blocks(in[2], t * row / KD_Q8_BYTES, kc + (size_t)pos * row);
    q8h_quantize_blocks(in[4], t * row / KD_Q8_BYTES, vc + (size_t)pos * row);
    const void *in4[KD_MAX_OPERANDS] = {in[0], kc, vc, in[5]};
    kd_attention_run(&d4, in4, y, scr, &host);
    return 1;
}

void attention_host_run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y, void *scr) {
    if (!run_joined(d, in, y, scr)) kd_attention_run(d, in, y, scr, &host);
}
