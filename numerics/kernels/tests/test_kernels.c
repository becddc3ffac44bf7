/* The reference kernels on small cases checked against independent formulas (quantization by
 * nearbyintf, i.e. round half to even, written separately from quant.c), the descriptor's byte
 * round trip and its rejections, and kernel_run's errors on inconsistent shapes. The ONNX
 * conformance tests (convert/tests) cover each operator's meaning more widely. */
#include "check.h"
#include "fmath.h"
#include "kernel.h"
#include "sample.h"

#include <math.h>
#include <stdlib.h>

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, d2, d3, 0, 0}};
    return t;
}

static uint8_t scratch[1 << 16];

static int run(kd_desc *d, const void *const in[12], void *out) {
    uint8_t buf[KD_BYTES];
    kd_encode(d, buf);
    return kernel_run(buf, sizeof buf, in, out, scratch, sizeof scratch);
}

/* ---- Q8_0, written independently of q8.c: _Float16 conversions, nearbyintf, the tree spelled out ---- */
static uint16_t h16(float x) {
    _Float16 h = (_Float16)x;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}
static float f16(uint16_t u) {
    _Float16 h;
    memcpy(&h, &u, 2);
    return (float)h;
}

/* a Q8_0 weight row of nb blocks from floats, by ggml's reference rule */
static void q8_weights(const float *x, size_t nb, uint8_t *w) {
    for (size_t b = 0; b < nb; b++, x += 32, w += 34) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        uint16_t dh = h16(d);
        memcpy(w, &dh, 2);
        for (int i = 0; i < 32; i++) w[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

static float q8_expected(const float *x, const uint8_t *w, size_t nb) {
    float acc[16] = {0};
    for (size_t b = 0; b < nb; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++)
            if (fabsf(x[b * 32 + i]) > amax) amax = fabsf(x[b * 32 + i]);
        float id = amax > 0 ? 127.0f / amax : 0, dx = f16(h16(amax / 127.0f));
        int32_t isum = 0;
        for (int i = 0; i < 32; i++) {
            float t = x[b * 32 + i] * id;
            t = t != t ? 0 : t > 127 ? 127 : t < -127 ? -127 : t;
            isum += (int32_t)nearbyintf(t) * (int8_t)w[b * 34 + 2 + i];
        }
        uint16_t dw;
        memcpy(&dw, w + b * 34, 2);
        acc[b % 16] += (float)isum * (f16(dw) * dx);
    }
    float *a = acc;
    return (((a[0] + a[8]) + (a[4] + a[12])) + ((a[2] + a[10]) + (a[6] + a[14]))) +
           (((a[1] + a[9]) + (a[5] + a[13])) + ((a[3] + a[11]) + (a[7] + a[15])));
}

static void test_q8(void) {
    static const size_t ks[] = {32, 64, 512, 544, 1056};
    static float x[3 * 1056], wf[5 * 1056], y[15];
    static uint8_t w[5 * 33 * 34];
    uint32_t seed = 7;
    for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
        size_t k = ks[c], nb = k / 32;
        for (size_t i = 0; i < 3 * k; i++) {
            seed = seed * 1103515245u + 12345u;
            x[i] = (float)((int)(seed >> 16 & 0x7FFF) - 16384) / 1024.0f;
        }
        for (size_t i = 0; i < 5 * k; i++) {
            seed = seed * 1103515245u + 12345u;
            wf[i] = (float)((int)(seed >> 16 & 0x7FFF) - 16384) / 65536.0f;
        }
        if (k >= 64) { /* special blocks: all zero, amax at both signs, -0 and subnormals, a tiny amax */
            for (int i = 0; i < 32; i++) x[i] = i & 1 ? -0.0f : 0.0f;
            x[32] = -3.0f, x[33] = 3.0f, x[34] = 1.5f, x[35] = kf_from_bits(1), x[36] = -kf_from_bits(0x7FFFFF);
        }
        if (k >= 512) x[k + 40] = kf_from_bits(0x00000003); /* a block whose amax is subnormal */
        for (size_t n = 0; n < 5; n++) q8_weights(wf + n * k, nb, w + n * nb * 34);
        kd_desc d = {.op = OP_Q8LINEAR, .noperands = 2};
        d.in[0] = T(KD_F32, 2, 3, (uint32_t)k, 0, 0), d.in[1] = T(KD_Q8_0, 2, 5, (uint32_t)k, 0, 0);
        d.out = T(KD_F32, 2, 3, 5, 0, 0);
        const void *in[12] = {x, w};
        CHECK_EQ_INT(run(&d, in, y), 0);
        for (size_t r = 0; r < 3; r++)
            for (size_t n = 0; n < 5; n++) CHECK(kf_bits(y[r * 5 + n]) == kf_bits(q8_expected(x + r * k, w + n * nb * 34, nb)));
    }
    /* NaN in a row: the row's outputs are the canonical NaN only through an Inf block scale; a NaN
     * activation is quantized to 0 like any other kernel */
    x[5] = NAN, x[6] = INFINITY;
    kd_desc d = {.op = OP_Q8LINEAR, .noperands = 2};
    d.in[0] = T(KD_F32, 2, 1, 64, 0, 0), d.in[1] = T(KD_Q8_0, 2, 5, 64, 0, 0), d.out = T(KD_F32, 2, 1, 5, 0, 0);
    const void *in[12] = {x, w};
    CHECK_EQ_INT(run(&d, in, y), 0);
    for (int n = 0; n < 5; n++) CHECK(kf_bits(y[n]) == KF_CANON_NAN); /* Inf amax: d = Inf, 0 * Inf */
    /* shapes: K not a multiple of 32 cannot even be described; a K mismatch is a shape error */
    d.in[1] = T(KD_Q8_0, 2, 5, 96, 0, 0);
    CHECK_EQ_INT(run(&d, in, y), KD_ESHAPE);
    d.in[1] = T(KD_Q8_0, 2, 5, 48, 0, 0);
    d.in[0] = T(KD_F32, 2, 1, 48, 0, 0);
    CHECK_EQ_INT(run(&d, in, y), KD_EFORMAT);
    /* Embedding from a Q8_0 table in two parts: rows 0..2 and 3..4 */
    int32_t ids[4] = {4, 0, -1, 5};
    float e[4 * 64];
    kd_desc em = {.op = OP_EMBEDDING, .noperands = 3};
    em.in[0] = T(KD_I32, 1, 4, 0, 0, 0), em.in[1] = T(KD_Q8_0, 2, 3, 64, 0, 0), em.in[2] = T(KD_Q8_0, 2, 2, 64, 0, 0);
    em.out = T(KD_F32, 2, 4, 64, 0, 0);
    const void *ein[12] = {ids, w, w + 3 * 2 * 34};
    CHECK_EQ_INT(run(&em, ein, e), 0);
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 64; i++) {
            const uint8_t *blk = w + ((size_t)ids[t] * 2 + (size_t)i / 32) * 34;
            uint16_t dh;
            memcpy(&dh, blk, 2);
            float want = ids[t] < 0 || ids[t] > 4 ? kf_from_bits(KF_CANON_NAN) : (float)(int8_t)blk[2 + i % 32] * f16(dh);
            CHECK(kf_bits(e[t * 64 + i]) == kf_bits(want));
        }
    em.in[2] = T(KD_Q8_0, 2, 2, 96, 0, 0); /* parts of different widths */
    CHECK_EQ_INT(run(&em, ein, e), KD_ESHAPE);
    /* the element-moving operators refuse Q8_0 (its elements are not bytes); Reshape takes it */
    kd_desc tr = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0}};
    tr.in[0] = T(KD_Q8_0, 2, 32, 32, 0, 0), tr.out = T(KD_Q8_0, 2, 32, 32, 0, 0);
    CHECK_EQ_INT(run(&tr, in, y), KD_ESHAPE);
    kd_desc rs = {.op = OP_RESHAPE, .noperands = 1};
    rs.in[0] = T(KD_Q8_0, 2, 2, 64, 0, 0), rs.out = T(KD_Q8_0, 2, 4, 32, 0, 0);
    uint8_t moved[4 * 34];
    const void *rin[12] = {w};
    CHECK_EQ_INT(run(&rs, rin, moved), 0);
    CHECK_MEM(moved, w, sizeof moved);
    kd_tensor t = T(KD_Q8_0, 2, 3, 64, 0, 0);
    CHECK_EQ_INT(kd_nbytes(&t), 3 * 2 * 34);
}

/* KVAppend into a Q8_0 cache and Attention over Q8_0 caches, against q8_expected's arithmetic */
static void test_q8_cache(void) {
    enum { S = 6, KVH = 2, H = 4, DH = 64, TN = 2 };
    static uint8_t kc[S * KVH * DH / 32 * 34], vc[sizeof kc], k2[sizeof kc], v2[sizeof kc];
    static float kn[TN * KVH * DH], vn[TN * KVH * DH], q[TN * H * DH], y[TN * H * DH];
    uint32_t seed = 11;
    for (size_t i = 0; i < sizeof kc; i++) seed = seed * 1103515245u + 12345u, kc[i] = vc[i] = (uint8_t)(seed >> 16);
    for (size_t b = 0; b < sizeof kc / 34; b++) kc[b * 34 + 1] &= 0x3B, vc[b * 34 + 1] = kc[b * 34 + 1] & 0x37;
    for (int i = 0; i < TN * KVH * DH; i++) seed = seed * 1103515245u + 12345u, kn[i] = (float)((int)(seed >> 16 & 0xFFF) - 2048) / 512.0f, vn[i] = -kn[i] / 3;
    for (int i = 0; i < TN * H * DH; i++) seed = seed * 1103515245u + 12345u, q[i] = (float)((int)(seed >> 16 & 0xFFF) - 2048) / 1024.0f;
    int32_t pos = 3;
    kd_desc a = {.op = OP_KVAPPEND, .noperands = 3};
    a.in[0] = a.out = T(KD_Q8_0, 3, S, KVH, DH, 0), a.in[1] = T(KD_F32, 3, TN, KVH, DH, 0), a.in[2] = T(KD_I32, 1, 1, 0, 0, 0);
    const void *ik[12] = {kc, kn, &pos}, *iv[12] = {vc, vn, &pos};
    CHECK_EQ_INT(run(&a, ik, k2), 0);
    CHECK_EQ_INT(run(&a, iv, v2), 0);
    size_t row = KVH * DH / 32 * 34;
    CHECK_MEM(k2, kc, pos * row);
    CHECK_MEM(k2 + (pos + TN) * row, kc + (pos + TN) * row, (S - pos - TN) * row);
    for (int b = 0; b < TN * KVH * DH / 32; b++) { /* the new rows: d = fp16(amax / 127), q = round-even(x * 127/amax) */
        const float *x = kn + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
        const uint8_t *blk = k2 + pos * row + (size_t)b * 34;
        CHECK_EQ_INT(blk[0] | blk[1] << 8, h16(amax / 127.0f));
        for (int i = 0; i < 32; i++) CHECK_EQ_INT((int8_t)blk[2 + i], (int)nearbyintf(x[i] * (127.0f / amax)));
    }
    kd_desc d = {.op = OP_ATTENTION, .noperands = 4, .fa = {0.125f}};
    d.in[0] = d.out = T(KD_F32, 3, TN, H, DH, 0), d.in[1] = d.in[2] = T(KD_Q8_0, 3, S, KVH, DH, 0);
    d.in[3] = T(KD_I32, 1, 1, 0, 0, 0);
    const void *ia[12] = {q, k2, v2, &pos};
    CHECK_EQ_INT(run(&d, ia, y), 0);
    for (int t = 0; t < TN; t++)
        for (int h = 0; h < H; h++) {
            int g = h / (H / KVH), len = pos + t + 1;
            float sc[S], m = -INFINITY, z = 0;
            for (int j = 0; j < len; j++) {
                sc[j] = q8_expected(q + (t * H + h) * DH, k2 + j * row + (size_t)g * DH / 32 * 34, DH / 32) * 0.125f;
                m = sc[j] > m ? sc[j] : m;
            }
            for (int j = 0; j < len; j++) z += sc[j] = kf_exp(sc[j] - m);
            for (int i = 0; i < DH; i++) {
                float o = 0;
                for (int j = 0; j < len; j++) {
                    const uint8_t *blk = v2 + j * row + ((size_t)g * DH + (size_t)i) / 32 * 34;
                    uint16_t dh;
                    memcpy(&dh, blk, 2);
                    o += (sc[j] / z) * ((float)(int8_t)blk[2 + i % 32] * f16(dh));
                }
                CHECK(kf_bits(y[(t * H + h) * DH + i]) == kf_bits(o));
            }
        }
    a.in[0] = a.out = T(KD_Q8_0, 3, S, KVH, DH, 0), a.in[1] = T(KD_F32, 3, TN, KVH, DH - 32, 0);
    CHECK_EQ_INT(run(&a, ik, k2), KD_ESHAPE);
    d.in[2] = T(KD_F32, 3, S, KVH, DH, 0); /* keys and values of different dtypes */
    CHECK_EQ_INT(run(&d, ia, y), KD_ESHAPE);
}

/* The 6-operand Attention (the step graph's: caches before the step and the new rows apart) gives
 * the bits of the 4-operand one over KVAppend's output, for f32 and Q8_0 caches, at several
 * positions; the cache's rows from pos on are ignored (garbage there changes nothing). */
static void test_split_attention(unsigned dtype) {
    enum { S = 7, KVH = 2, H = 4, DH = 32, TN = 2 };
    size_t row = dtype == KD_Q8_0 ? KVH * DH / 32 * 34 : KVH * DH * 4;
    static uint8_t kc[S * KVH * DH * 4], vc[sizeof kc], k2[sizeof kc], v2[sizeof kc];
    static float kn[TN * KVH * DH], vn[TN * KVH * DH], q[TN * H * DH], y4[TN * H * DH], y6[TN * H * DH];
    uint32_t seed = 5;
    for (int pos = 0; pos + TN <= S; pos += 2) {
        for (size_t i = 0; i < S * row; i++) seed = seed * 1103515245u + 12345u, kc[i] = (uint8_t)(seed >> 16), vc[i] = (uint8_t)(seed >> 8);
        if (dtype == KD_Q8_0)
            for (size_t b = 0; b < S * row / 34; b++) kc[b * 34 + 1] &= 0x3B, vc[b * 34 + 1] &= 0x37;
        else
            for (size_t i = 0; i < S * row / 4; i++) {
                float a = (float)(int8_t)kc[4 * i] / 64.0f, b = (float)(int8_t)vc[4 * i] / 32.0f;
                memcpy(kc + 4 * i, &a, 4), memcpy(vc + 4 * i, &b, 4);
            }
        for (int i = 0; i < TN * KVH * DH; i++) seed = seed * 1103515245u + 12345u, kn[i] = (float)((int)(seed >> 16 & 0xFFF) - 2048) / 512.0f, vn[i] = kn[i] / 3;
        for (int i = 0; i < TN * H * DH; i++) seed = seed * 1103515245u + 12345u, q[i] = (float)((int)(seed >> 16 & 0xFFF) - 2048) / 1024.0f;
        int32_t p = pos;
        kd_desc a = {.op = OP_KVAPPEND, .noperands = 3};
        a.in[0] = a.out = T(dtype, 3, S, KVH, DH, 0), a.in[1] = T(KD_F32, 3, TN, KVH, DH, 0), a.in[2] = T(KD_I32, 1, 1, 0, 0, 0);
        const void *ik[12] = {kc, kn, &p}, *iv[12] = {vc, vn, &p};
        CHECK_EQ_INT(run(&a, ik, k2), 0);
        CHECK_EQ_INT(run(&a, iv, v2), 0);
        kd_desc d4 = {.op = OP_ATTENTION, .noperands = 4, .fa = {0.125f}};
        d4.in[0] = d4.out = T(KD_F32, 3, TN, H, DH, 0), d4.in[1] = d4.in[2] = T(dtype, 3, S, KVH, DH, 0);
        d4.in[3] = T(KD_I32, 1, 1, 0, 0, 0);
        const void *i4[12] = {q, k2, v2, &p};
        CHECK_EQ_INT(run(&d4, i4, y4), 0);
        kd_desc d6 = {.op = OP_ATTENTION, .noperands = 6, .fa = {0.125f}};
        d6.in[0] = d6.out = T(KD_F32, 3, TN, H, DH, 0), d6.in[1] = d6.in[3] = T(dtype, 3, S, KVH, DH, 0);
        d6.in[2] = d6.in[4] = T(KD_F32, 3, TN, KVH, DH, 0), d6.in[5] = T(KD_I32, 1, 1, 0, 0, 0);
        const void *i6[12] = {q, kc, kn, vc, vn, &p};
        CHECK_EQ_INT(run(&d6, i6, y6), 0);
        CHECK_MEM(y4, y6, sizeof y4);
        if (pos == 2) { /* the shapes of the new rows are checked */
            d6.in[4] = T(KD_F32, 3, TN, KVH, DH - 32 + 16, 0);
            CHECK_EQ_INT(run(&d6, i6, y6), KD_ESHAPE);
            d6.in[2] = d6.in[4] = T(KD_F32, 3, TN + 1, KVH, DH, 0);
            CHECK_EQ_INT(run(&d6, i6, y6), KD_ESHAPE);
        }
    }
    int32_t bad = S - TN + 1; /* past the cache: NaN, as the 4-operand form */
    kd_desc d6 = {.op = OP_ATTENTION, .noperands = 6, .fa = {0.125f}};
    d6.in[0] = d6.out = T(KD_F32, 3, TN, H, DH, 0), d6.in[1] = d6.in[3] = T(dtype, 3, S, KVH, DH, 0);
    d6.in[2] = d6.in[4] = T(KD_F32, 3, TN, KVH, DH, 0), d6.in[5] = T(KD_I32, 1, 1, 0, 0, 0);
    const void *i6[12] = {q, kc, kn, vc, vn, &bad};
    CHECK_EQ_INT(run(&d6, i6, y6), 0);
    CHECK(kf_bits(y6[0]) == KF_CANON_NAN && kf_bits(y6[TN * H * DH - 1]) == KF_CANON_NAN);
}

/* Sample: the last row of the logits; greedy at temperature 0 (+0 or -0), the draw with the
 * state given (words 0 and 1), as kd_sample computes it (the arithmetic itself is tested with
 * textgen's sampler) */
static void test_sample(void) {
    float l[2][6] = {{9, 9, 9, 9, 9, 9}, {0.5f, 2, NAN, 2, -1, 1.5f}};
    int32_t tok = -1;
    uint32_t p[5] = {0, 0, 0, 0, 0x3F800000u};
    kd_desc d = {.op = OP_SAMPLE, .noperands = 2};
    d.in[0] = T(KD_F32, 2, 2, 6, 0, 0), d.in[1] = T(KD_I32, 1, 5, 0, 0, 0), d.out = T(KD_I32, 1, 1, 0, 0, 0);
    const void *in[12] = {l, p};
    CHECK_EQ_INT(run(&d, in, &tok), 0);
    CHECK_EQ_INT(tok, 1); /* greedy over the last row: the first maximum */
    p[2] = 0x80000000u;   /* -0: greedy too */
    CHECK_EQ_INT(run(&d, in, &tok), 0);
    CHECK_EQ_INT(tok, 1);
    int seen[6] = {0};
    for (uint32_t st = 0; st < 64; st++) {
        p[0] = st * 0x9E3779B9u, p[1] = st, p[2] = 0x3F800000u, p[3] = st % 3;
        CHECK_EQ_INT(run(&d, in, &tok), 0);
        kd_sampler ks = {(uint64_t)p[1] << 32 | p[0], 1.0f, 1.0f, p[3]};
        uint32_t order[6];
        float e[6];
        CHECK_EQ_INT(tok, kd_sample(l[1], 6, &ks, order, e));
        seen[tok]++;
    }
    CHECK(seen[1] > 0 && seen[3] > 0 && seen[2] == 0); /* both maxima drawn, NaN never */
    d.in[1] = T(KD_I32, 1, 4, 0, 0, 0);
    CHECK_EQ_INT(run(&d, in, &tok), KD_ESHAPE);
    d.in[1] = T(KD_I32, 1, 5, 0, 0, 0), d.out = T(KD_I32, 1, 2, 0, 0, 0);
    CHECK_EQ_INT(run(&d, in, &tok), KD_ESHAPE);
}

static float qref(float x, float s) {
    float t = x / s;
    if (t != t) return 0;
    t = t > 127 ? 127 : t < -127 ? -127 : t;
    return nearbyintf(t);
}

/* Gather, Cast, Equal, Where, Not, Expand on small cases written out by hand. */
static void test_integer_ops(void) {
    float data[12];
    for (int i = 0; i < 12; i++) data[i] = (float)i;
    int64_t idx[4] = {2, -1, 0, 5};
    float g[16];
    kd_desc d = {.op = OP_GATHER, .noperands = 2}; /* rows of [3,4] by [2,2] indices: [2,2,4] */
    d.in[0] = T(KD_F32, 2, 3, 4, 0, 0), d.in[1] = T(KD_I64, 2, 2, 2, 0, 0), d.out = T(KD_F32, 3, 2, 2, 4, 0);
    const void *gin[12] = {data, idx};
    CHECK_EQ_INT(run(&d, gin, g), 0);
    CHECK(g[0] == 8 && g[3] == 11 && g[4] == 8 && g[7] == 11 && g[8] == 0 && g[11] == 3);
    CHECK(kf_bits(g[12]) == KF_CANON_NAN && kf_bits(g[15]) == KF_CANON_NAN); /* index 5 of 3 rows */
    int32_t idx32[2] = {3, -4};
    d.ia[0] = 1, d.in[1] = T(KD_I32, 1, 2, 0, 0, 0), d.out = T(KD_F32, 2, 3, 2, 0, 0); /* columns */
    const void *gin2[12] = {data, idx32};
    CHECK_EQ_INT(run(&d, gin2, g), 0);
    CHECK(g[0] == 3 && g[1] == 0 && g[2] == 7 && g[3] == 4 && g[4] == 11 && g[5] == 8);
    d.out = T(KD_F32, 2, 3, 3, 0, 0);
    CHECK_EQ_INT(run(&d, gin2, g), KD_ESHAPE);
    d.ia[0] = 2;
    CHECK_EQ_INT(run(&d, gin2, g), KD_EATTR);

    /* Cast */
    float cf[6] = {-2.75f, 1e30f, NAN, -0.0f, 3.5f, -1e30f};
    int64_t ci[6];
    int32_t c32[6];
    uint8_t cb[6];
    kd_desc c = {.op = OP_CAST, .noperands = 1};
    c.in[0] = T(KD_F32, 1, 6, 0, 0, 0), c.out = T(KD_I64, 1, 6, 0, 0, 0);
    const void *cin[12] = {cf};
    CHECK_EQ_INT(run(&c, cin, ci), 0);
    CHECK(ci[0] == -2 && ci[1] == INT64_MAX && ci[2] == 0 && ci[3] == 0 && ci[4] == 3 && ci[5] == INT64_MIN);
    c.out.dtype = KD_I32;
    CHECK_EQ_INT(run(&c, cin, c32), 0);
    CHECK(c32[0] == -2 && c32[1] == INT32_MAX && c32[5] == INT32_MIN);
    c.out.dtype = KD_BOOL;
    CHECK_EQ_INT(run(&c, cin, cb), 0);
    CHECK(cb[0] == 1 && cb[2] == 1 && cb[3] == 0 && cb[4] == 1);
    int64_t big[3] = {(1ll << 53) + 1, 4294967297ll, -1};
    float bf[3];
    c.in[0] = T(KD_I64, 1, 3, 0, 0, 0), c.out = T(KD_F32, 1, 3, 0, 0, 0);
    const void *bin[12] = {big};
    CHECK_EQ_INT(run(&c, bin, bf), 0);
    CHECK(bf[0] == 9007199254740992.0f && bf[1] == 4294967296.0f && bf[2] == -1.0f);
    c.out.dtype = KD_I32;
    CHECK_EQ_INT(run(&c, bin, c32), 0);
    CHECK(c32[0] == 1 && c32[1] == 1 && c32[2] == -1); /* the low 32 bits */
    c.out.dtype = KD_I8 + 40; /* not a dtype at all: the descriptor is refused */
    CHECK_EQ_INT(run(&c, bin, c32), KD_EFORMAT);

    /* Equal with broadcasting: int64 [2,3] == [1]; float NaN and signed zeros */
    int64_t ea[6] = {0, 7, 0, 3, 0, -1}, eb[1] = {0};
    uint8_t eq[6];
    kd_desc e = {.op = OP_EQUAL, .noperands = 2};
    e.in[0] = T(KD_I64, 2, 2, 3, 0, 0), e.in[1] = T(KD_I64, 1, 1, 0, 0, 0), e.out = T(KD_BOOL, 2, 2, 3, 0, 0);
    const void *ein[12] = {ea, eb};
    CHECK_EQ_INT(run(&e, ein, eq), 0);
    CHECK(eq[0] == 1 && eq[1] == 0 && eq[2] == 1 && eq[3] == 0 && eq[4] == 1 && eq[5] == 0);
    float fa[3] = {NAN, -0.0f, 1.0f}, fb[3] = {NAN, 0.0f, 1.0f};
    e.in[0] = e.in[1] = T(KD_F32, 1, 3, 0, 0, 0), e.out = T(KD_BOOL, 1, 3, 0, 0, 0);
    const void *fin[12] = {fa, fb};
    CHECK_EQ_INT(run(&e, fin, eq), 0);
    CHECK(eq[0] == 0 && eq[1] == 1 && eq[2] == 1);
    e.in[1].dtype = KD_I64;
    CHECK_EQ_INT(run(&e, fin, eq), KD_ESHAPE);

    /* Where: cond [2,1] (a non-zero byte other than 1 is true), x a scalar, y [2,3]; Not */
    uint8_t cond[2] = {0, 2}, notc[2];
    float wx = -1e9f, wy[6] = {1, 2, 3, 4, 5, 6}, wo[6];
    kd_desc w = {.op = OP_WHERE, .noperands = 3};
    w.in[0] = T(KD_BOOL, 2, 2, 1, 0, 0), w.in[1] = T(KD_F32, 0, 0, 0, 0, 0), w.in[2] = T(KD_F32, 2, 2, 3, 0, 0);
    w.out = T(KD_F32, 2, 2, 3, 0, 0);
    const void *win[12] = {cond, &wx, wy};
    CHECK_EQ_INT(run(&w, win, wo), 0);
    CHECK(wo[0] == 1 && wo[2] == 3 && wo[3] == -1e9f && wo[5] == -1e9f);
    w.out = T(KD_F32, 2, 2, 4, 0, 0);
    CHECK_EQ_INT(run(&w, win, wo), KD_ESHAPE);
    kd_desc nt = {.op = OP_NOT, .noperands = 1};
    nt.in[0] = nt.out = T(KD_BOOL, 1, 2, 0, 0, 0);
    const void *nin[12] = {cond};
    CHECK_EQ_INT(run(&nt, nin, notc), 0);
    CHECK(notc[0] == 1 && notc[1] == 0);

    /* Expand [3,1] -> [2,3,4] */
    int64_t xv[3] = {5, 6, 7}, xo[24];
    kd_desc x = {.op = OP_EXPAND, .noperands = 1};
    x.in[0] = T(KD_I64, 2, 3, 1, 0, 0), x.out = T(KD_I64, 3, 2, 3, 4, 0);
    const void *xin[12] = {xv};
    CHECK_EQ_INT(run(&x, xin, xo), 0);
    for (int i = 0; i < 24; i++) CHECK(xo[i] == 5 + (i / 4) % 3);
    x.in[0] = T(KD_I64, 2, 3, 2, 0, 0);
    CHECK_EQ_INT(run(&x, xin, xo), KD_ESHAPE);
}

/* Runs one node of operator op on operands a (and b) shaped ta (tb) into y shaped ty. */
static void run2(unsigned op, kd_tensor ta, const void *a, kd_tensor tb, const void *b, kd_tensor ty, void *y, int32_t ia0) {
    kd_desc d = {.op = (uint16_t)op, .noperands = (uint8_t)(b ? 2 : 1), .ia = {ia0}};
    d.in[0] = ta, d.in[1] = b ? tb : T(KD_NONE, 0, 0, 0, 0, 0), d.out = ty;
    const void *in[12] = {a, b};
    CHECK_EQ_INT(run(&d, in, y), 0);
}

/* LayerNorm and Gelu give exactly the bits of the chains PyTorch exports for them (each step a
 * kernel of its own), and are close to a computation in double; Pow broadcasts. */
static void test_transformer_ops(void) {
    enum { R = 5, D = 24 };
    static float x[R * D], gam[D], bet[D], y[R * D], mean[R], c[R * D], sq[R * D], var[R], ve[R], sd[R], q[R * D],
        m1[R * D], chain[R * D];
    for (int i = 0; i < R * D; i++) x[i] = (float)((i * 7919) % 1000) / 37.0f - 13.0f + (i % D == 3 ? 1e3f : 0.0f);
    for (int i = 0; i < D; i++) gam[i] = 0.5f + (float)i / 16.0f, bet[i] = (float)(i % 5) - 2.0f;
    float two = 2.0f, eps = 1e-5f;
    kd_desc ln = {.op = OP_LAYERNORM, .noperands = 3, .ia = {1}, .fa = {eps}};
    ln.in[0] = ln.out = T(KD_F32, 2, R, D, 0, 0), ln.in[1] = ln.in[2] = T(KD_F32, 1, D, 0, 0, 0);
    const void *lin[12] = {x, gam, bet};
    CHECK_EQ_INT(run(&ln, lin, y), 0);
    kd_tensor tx = T(KD_F32, 2, R, D, 0, 0), tr = T(KD_F32, 2, R, 1, 0, 0), ts = T(KD_F32, 0, 0, 0, 0, 0), tg = T(KD_F32, 1, D, 0, 0, 0);
    run2(OP_REDUCEMEAN, tx, x, ts, NULL, tr, mean, 2);
    run2(OP_SUB, tx, x, tr, mean, tx, c, 0);
    run2(OP_POW, tx, c, ts, &two, tx, sq, 0);
    run2(OP_REDUCEMEAN, tx, sq, ts, NULL, tr, var, 2);
    run2(OP_ADD, tr, var, ts, &eps, tr, ve, 0);
    run2(OP_SQRT, tr, ve, ts, NULL, tr, sd, 0);
    run2(OP_DIV, tx, c, tr, sd, tx, q, 0);
    run2(OP_MUL, tx, q, tg, gam, tx, m1, 0);
    run2(OP_ADD, tx, m1, tg, bet, tx, chain, 0);
    CHECK_MEM(y, chain, sizeof y);
    for (int r = 0; r < R; r++) {
        double s = 0, v = 0;
        for (int i = 0; i < D; i++) s += x[r * D + i];
        s /= D;
        for (int i = 0; i < D; i++) v += (x[r * D + i] - s) * (x[r * D + i] - s);
        v /= D;
        for (int i = 0; i < D; i++) {
            double want = (x[r * D + i] - s) / sqrt(v + eps) * gam[i] + bet[i];
            CHECK(fabs(y[r * D + i] - want) <= 1e-5 * (1 + fabs(want)));
        }
    }
    ln.noperands = 2, ln.in[2] = T(KD_NONE, 0, 0, 0, 0, 0), ln.ia[0] = 0; /* no bias, both dims one row: D != numel */
    CHECK_EQ_INT(run(&ln, lin, y), KD_ESHAPE);
    ln.in[1] = T(KD_F32, 2, R, D, 0, 0); /* a scale of all R * D elements (x itself serves) */
    const void *lin2[12] = {x, x};
    CHECK_EQ_INT(run(&ln, lin2, y), 0);
    ln.fa[0] = INFINITY;
    CHECK_EQ_INT(run(&ln, lin2, y), KD_EATTR);

    /* Gelu exact == Div sqrt2, Erf, Add 1, Mul x, Mul 0.5; the tanh form against double */
    float sqrt2 = 1.41421353816986083984375f, one = 1.0f, half = 0.5f;
    run2(OP_GELU, tx, x, ts, NULL, tx, y, 0);
    run2(OP_DIV, tx, x, ts, &sqrt2, tx, q, 0);
    run2(OP_ERF, tx, q, ts, NULL, tx, c, 0);
    run2(OP_ADD, tx, c, ts, &one, tx, sq, 0);
    run2(OP_MUL, tx, x, tx, sq, tx, m1, 0);
    run2(OP_MUL, tx, m1, ts, &half, tx, chain, 0);
    CHECK_MEM(y, chain, sizeof y);
    run2(OP_GELU, tx, x, ts, NULL, tx, y, 1);
    for (int i = 0; i < R * D; i++) {
        double v = x[i], want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        CHECK(fabs(y[i] - want) <= 1e-5 * (1 + fabs(want)));
    }
    kd_desc ge = {.op = OP_GELU, .noperands = 1, .ia = {2}};
    ge.in[0] = ge.out = tx;
    const void *gin[12] = {x};
    CHECK_EQ_INT(run(&ge, gin, y), KD_EATTR);

    /* Pow with a broadcast exponent row */
    float base[6] = {2, -3, 0.5f, 4, 9, -8}, ex[3] = {2, 3, -0.5f}, po[6];
    run2(OP_POW, T(KD_F32, 2, 2, 3, 0, 0), base, T(KD_F32, 1, 3, 0, 0, 0), ex, T(KD_F32, 2, 2, 3, 0, 0), po, 0);
    CHECK(po[0] == 4 && po[1] == -27 && po[3] == 16 && po[4] == 729 && kf_bits(po[5]) == KF_CANON_NAN);
    CHECK(fabsf(po[2] - 1.41421356f) < 1e-6f);
}

int main(void) {
    test_q8();
    test_q8_cache();
    test_split_attention(KD_Q8_0);
    test_split_attention(KD_F32);
    test_sample();
    /* QLinear: 3 rows, K = 5, N = 4, with bias; compared with the formula of docs/numerics.md */
    float x[15], sw[4], bias[4], y[12];
    int8_t w[20];
    for (int i = 0; i < 15; i++) x[i] = (float)((i * 37) % 11) - 5.25f;
    x[7] = 2.5f * (x[5] / 127.0f);
    for (int i = 0; i < 20; i++) w[i] = (int8_t)((i * 53) % 255 - 127);
    for (int i = 0; i < 4; i++) sw[i] = 0.01f * (float)(i + 1), bias[i] = (float)i - 1.5f;
    kd_desc d = {.op = OP_QLINEAR, .noperands = 4};
    d.out = T(KD_F32, 2, 3, 4, 0, 0);
    d.in[0] = T(KD_F32, 2, 3, 5, 0, 0);
    d.in[1] = T(KD_I8, 2, 4, 5, 0, 0);
    d.in[2] = T(KD_F32, 1, 4, 0, 0, 0);
    d.in[3] = T(KD_F32, 1, 4, 0, 0, 0);
    const void *in[12] = {x, w, sw, bias};
    CHECK_EQ_INT(run(&d, in, y), 0);
    for (int r = 0; r < 3; r++) {
        float m = 0;
        for (int k = 0; k < 5; k++) m = fabsf(x[r * 5 + k]) > m ? fabsf(x[r * 5 + k]) : m;
        float s = m / 127.0f;
        for (int n = 0; n < 4; n++) {
            int32_t acc = 0;
            for (int k = 0; k < 5; k++) acc += (int32_t)qref(x[r * 5 + k], s) * w[n * 5 + k];
            float want = ((float)acc * s) * sw[n] + bias[n];
            CHECK(kf_bits(y[r * 4 + n]) == kf_bits(want));
        }
    }
    /* wrong K is a shape error, a bad magic a format error */
    d.in[1] = T(KD_I8, 2, 4, 6, 0, 0);
    CHECK_EQ_INT(run(&d, in, y), KD_ESHAPE);
    uint8_t buf[KD_BYTES];
    d.in[1] = T(KD_I8, 2, 4, 5, 0, 0);
    kd_encode(&d, buf);
    kd_desc back;
    CHECK_EQ_INT(kd_decode(buf, sizeof buf, &back), 0);
    uint8_t buf2[KD_BYTES];
    kd_encode(&back, buf2);
    CHECK_MEM(buf, buf2, KD_BYTES);
    CHECK_EQ_INT(kd_decode(buf, sizeof buf - 1, &back), KD_EFORMAT);
    buf[0] ^= 1;
    CHECK_EQ_INT(kd_decode(buf, sizeof buf, &back), KD_EFORMAT);
    buf[0] ^= 1;
    buf[40 + 28 * 5] = KD_F32; /* a shape on an unused operand */
    CHECK_EQ_INT(kd_decode(buf, sizeof buf, &back), KD_EFORMAT);
    d.op = 999;
    CHECK_EQ_INT(run(&d, in, y), KD_EOP);
    /* the integer dtypes: int64 (8 bytes) and bool (1 byte) round-trip; unknown dtypes are refused */
    kd_tensor ti = T(KD_I64, 2, 3, 5, 0, 0), tb = T(KD_BOOL, 1, 7, 0, 0, 0), back_t;
    CHECK_EQ_INT((int)kd_nbytes(&ti), 120);
    CHECK_EQ_INT((int)kd_nbytes(&tb), 7);
    uint8_t rec[28];
    kd_encode_tensor(rec, &ti);
    CHECK_EQ_INT(kd_decode_tensor(rec, &back_t), KD_OK);
    CHECK(kd_same(&ti, &back_t));
    kd_encode_tensor(rec, &tb);
    CHECK_EQ_INT(kd_decode_tensor(rec, &back_t), KD_OK);
    CHECK(kd_same(&tb, &back_t));
    for (unsigned dt = 7; dt < 256; dt += 31) {
        rec[0] = (uint8_t)dt;
        CHECK_EQ_INT(kd_decode_tensor(rec, &back_t), KD_EFORMAT);
    }

    /* one node, one descriptor (kernel.h): an attribute slot the operator does not read must be
     * zero, a float slot +0.0 by its bits, a NaN float attribute the canonical one */
    kd_desc ua = {.op = OP_LEAKYRELU, .noperands = 1, .fa = {0.1f}};
    ua.in[0] = ua.out = T(KD_F32, 1, 4, 0, 0, 0);
    CHECK_EQ_INT(kernel_check(&ua), KD_OK);
    ua.ia[15] = 1;
    CHECK_EQ_INT(kernel_check(&ua), KD_EATTR);
    ua.ia[15] = 0, ua.fa[1] = kf_from_bits(0x80000000u); /* -0.0 in an unused slot */
    CHECK_EQ_INT(kernel_check(&ua), KD_EATTR);
    ua.fa[1] = 0, ua.fa[0] = kf_from_bits(0x7FC00001u); /* a NaN with a payload */
    CHECK_EQ_INT(kernel_check(&ua), KD_EATTR);
    ua.fa[0] = kf_from_bits(0x7FC00000u);
    CHECK_EQ_INT(kernel_check(&ua), KD_OK);
    kd_desc tp = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0}}; /* slots past the rank */
    tp.in[0] = T(KD_F32, 2, 2, 3, 0, 0), tp.out = T(KD_F32, 2, 3, 2, 0, 0);
    CHECK_EQ_INT(kernel_check(&tp), KD_OK);
    tp.ia[2] = 2;
    CHECK_EQ_INT(kernel_check(&tp), KD_EATTR);
    kd_desc sl = {.op = OP_SLICE, .noperands = 1, .ia = {0, 0, 0, 0, 0, 0, 1, 1}};
    sl.in[0] = sl.out = T(KD_F32, 2, 2, 3, 0, 0);
    CHECK_EQ_INT(kernel_check(&sl), KD_OK);
    sl.ia[6 + 2] = 1;
    CHECK_EQ_INT(kernel_check(&sl), KD_EATTR);

    /* QConv: 1 image 2x4x4, 3 filters 2x3x3, stride 1, pad 1 */
    float cx[32], cs[3] = {0.5f, 0.25f, 0.125f}, cy[48];
    int8_t cw[54];
    for (int i = 0; i < 32; i++) cx[i] = (float)(i % 7) * 0.3f - 0.8f;
    for (int i = 0; i < 54; i++) cw[i] = (int8_t)((i * 29) % 200 - 100);
    kd_desc c = {.op = OP_QCONV, .noperands = 3, .ia = {1, 1, 1, 1, 1, 1, 1, 1, 1}};
    c.out = T(KD_F32, 4, 1, 3, 4, 4);
    c.in[0] = T(KD_F32, 4, 1, 2, 4, 4);
    c.in[1] = T(KD_I8, 4, 3, 2, 3, 3);
    c.in[2] = T(KD_F32, 1, 3, 0, 0, 0);
    const void *cin[12] = {cx, cw, cs};
    CHECK_EQ_INT(run(&c, cin, cy), 0);
    float m = 0;
    for (int i = 0; i < 32; i++) m = fabsf(cx[i]) > m ? fabsf(cx[i]) : m;
    float s = m / 127.0f;
    for (int o = 0; o < 3; o++)
        for (int py = 0; py < 4; py++)
            for (int px = 0; px < 4; px++) {
                int32_t acc = 0;
                for (int ci = 0; ci < 2; ci++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = py - 1 + ky, ix = px - 1 + kx;
                            if (iy >= 0 && iy < 4 && ix >= 0 && ix < 4)
                                acc += (int32_t)qref(cx[ci * 16 + iy * 4 + ix], s) * cw[((o * 2 + ci) * 3 + ky) * 3 + kx];
                        }
                CHECK(kf_bits(cy[(o * 4 + py) * 4 + px]) == kf_bits(((float)acc * s) * cs[o]));
            }
    c.out.dims[2] = 5; /* wrong output height */
    CHECK_EQ_INT(run(&c, cin, cy), KD_ESHAPE);

    /* element-wise: relu of -0 is +0, NaN canonical, broadcasting Add [2,3] + [3] */
    float a[6] = {-0.0f, 1.5f, -2.0f, NAN, INFINITY, -INFINITY}, b[3] = {1, 2, 3}, e[6];
    kd_desc u = {.op = OP_RELU, .noperands = 1};
    u.out = u.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    const void *uin[12] = {a};
    CHECK_EQ_INT(run(&u, uin, e), 0);
    CHECK(kf_bits(e[0]) == 0 && e[1] == 1.5f && e[2] == 0 && kf_bits(e[3]) == KF_CANON_NAN && e[4] == INFINITY && e[5] == 0);
    kd_desc ad = {.op = OP_ADD, .noperands = 2};
    ad.out = ad.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    ad.in[1] = T(KD_F32, 1, 3, 0, 0, 0);
    const void *ain[12] = {a, b};
    CHECK_EQ_INT(run(&ad, ain, e), 0);
    CHECK(e[0] == 1 && e[1] == 3.5f && e[2] == 1 && kf_bits(e[3]) == KF_CANON_NAN && e[4] == INFINITY && e[5] == -INFINITY);
    ad.in[1] = T(KD_F32, 1, 2, 0, 0, 0);
    CHECK_EQ_INT(run(&ad, ain, e), KD_ESHAPE);

    /* Softmax over the last axis sums to 1; Transpose [2,3] -> [3,2] */
    float sx[6] = {1, 2, 3, -1, 0, 1000}, sy[6];
    kd_desc sm = {.op = OP_SOFTMAX, .noperands = 1, .ia = {1, 0}};
    sm.out = sm.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    const void *sin[12] = {sx};
    CHECK_EQ_INT(run(&sm, sin, sy), 0);
    CHECK(fabsf(sy[0] + sy[1] + sy[2] - 1) < 1e-6f && sy[5] == 1.0f && sy[3] == 0.0f);
    CHECK(fabsf(sy[2] - 0.66524096f) < 1e-6f);
    kd_desc tr = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0}};
    tr.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    tr.out = T(KD_F32, 2, 3, 2, 0, 0);
    CHECK_EQ_INT(run(&tr, sin, sy), 0);
    CHECK(sy[0] == 1 && sy[1] == -1 && sy[2] == 2 && sy[3] == 0 && sy[4] == 3 && sy[5] == 1000);
    tr.ia[1] = 1;
    CHECK_EQ_INT(run(&tr, sin, sy), KD_EATTR);

    /* MaxPool 2x2 stride 2 on 1x1x2x4, AveragePool with padding counted or not */
    float px[8] = {1, 5, 2, 0, -3, 4, 8, -1}, py[4];
    kd_desc mp = {.op = OP_MAXPOOL, .noperands = 1, .ia = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1}};
    mp.in[0] = T(KD_F32, 4, 1, 1, 2, 4);
    mp.out = T(KD_F32, 4, 1, 1, 1, 2);
    const void *pin[12] = {px};
    CHECK_EQ_INT(run(&mp, pin, py), 0);
    CHECK(py[0] == 5 && py[1] == 8);
    kd_desc ap = {.op = OP_AVGPOOL, .noperands = 1, .ia = {2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1}};
    ap.in[0] = T(KD_F32, 4, 1, 1, 2, 4);
    ap.out = T(KD_F32, 4, 1, 1, 2, 3);
    float ay[6];
    CHECK_EQ_INT(run(&ap, pin, ay), 0);
    CHECK(ay[0] == 0.25f && ay[1] == 1.75f);
    ap.ia[10] = 0;
    CHECK_EQ_INT(run(&ap, pin, ay), 0);
    CHECK(ay[0] == 1.0f && ay[1] == 3.5f);
    test_integer_ops();
    test_transformer_ops();
    return check_summary("test_kernels");
}
