/* Bit-exactness of every backend against the reference kernels, for every operator: random
 * shapes plus the edge sizes of the issue (K = 1, 1024, 1025, 4097; 1x1 images; odd channel
 * counts; groups) and inputs sprinkled with -0, subnormals, +-Inf and NaN. The `blas` backend must
 * give the same bytes as `ref`; the `cuda` backend is checked where the build has one (this build
 * reports it as skipped). */
#include "check.h"
#include "backend.h"
#include "fmath.h"
#include "special_floats.h"
#include "quant.h"
#include "quant_simd.h"
#include "fmath_x16.h"
#include "q8_host.h"
#include "keccak.h"
#include "merkle.h"
#include "tensor_root.h"

#include <stdlib.h>

static void fill(float *x, size_t n, int specials) {
    for (size_t i = 0; i < n; i++) x[i] = sf_float(specials);
}

static kd_tensor T(unsigned dtype, unsigned rank, const uint32_t *dims) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {0}};
    for (unsigned i = 0; i < rank; i++) t.dims[i] = dims[i];
    return t;
}

static opml_backend *ref, *blas;
static int cases;

/* Run d on both backends from the same operands; the outputs must be identical bytes. */
static void compare(const char *what, kd_desc *d, const void *const in[KD_MAX_OPERANDS]) {
    size_t nb = (size_t)kd_nbytes(&d->out), sn = kernel_scratch_size(d);
    uint8_t *a = malloc(nb + 1), *b = malloc(nb + 1), *scr = malloc(sn + 1);
    void *cache = NULL;
    int ra = ref->ops->run(ref, d, in, a, scr, sn, NULL);
    int rb = blas->ops->run(blas, d, in, b, scr, sn, &cache);
    /* run blas a second time from its cache: prepared weights must give the same bits */
    uint8_t *b2 = malloc(nb + 1);
    int rb2 = blas->ops->run(blas, d, in, b2, scr, sn, &cache);
    if (cache) blas->ops->release(blas, cache);
    CHECK_EQ_INT(ra, 0);
    CHECK_EQ_INT(rb, 0);
    CHECK_EQ_INT(rb2, 0);
    if (ra == 0 && rb == 0 && (memcmp(a, b, nb) || memcmp(a, b2, nb))) {
        check_failures++;
        fprintf(stderr, "%s: ref and blas differ\n", what);
    }
    cases++;
    free(a), free(b), free(b2), free(scr);
}

static void qlinear(size_t rows, size_t k, size_t n, int bias, int specials) {
    float *x = malloc(rows * k * 4), *sw = malloc(n * 4), *bi = malloc(n * 4);
    int8_t *w = malloc(n * k);
    fill(x, rows * k, specials);
    for (size_t i = 0; i < n * k; i++) w[i] = (int8_t)(sf_rnd() % 255 - 127);
    for (size_t i = 0; i < n; i++) sw[i] = (float)(sf_rnd() % 1000 + 1) / 65536.0f, bi[i] = sf_float(0);
    if (k >= 1024 && rows) { /* a saturated row: partial sums past 2^24 that cancel to a small total */
        x[0] = 1.0f;
        for (size_t i = 1; i < k; i++) x[i] = 1.0f - (float)(sf_rnd() % 8) / 127.0f;
        for (size_t i = 0; i < k; i++) w[i] = (int8_t)((127 - sf_rnd() % 8) * (i < k / 2 ? 1 : -1));
    }
    kd_desc d = {.op = OP_QLINEAR, .noperands = (uint8_t)(bias ? 4 : 3)};
    uint32_t xd[2] = {(uint32_t)rows, (uint32_t)k}, wd[2] = {(uint32_t)n, (uint32_t)k}, od[2] = {(uint32_t)rows, (uint32_t)n},
             nd[1] = {(uint32_t)n};
    d.in[0] = T(KD_F32, 2, xd), d.in[1] = T(KD_I8, 2, wd), d.in[2] = T(KD_F32, 1, nd), d.out = T(KD_F32, 2, od);
    if (bias) d.in[3] = T(KD_F32, 1, nd);
    const void *in[KD_MAX_OPERANDS] = {x, w, sw, bi};
    char what[80];
    snprintf(what, sizeof what, "QLinear rows %zu K %zu N %zu", rows, k, n);
    compare(what, &d, in);
    free(x), free(sw), free(bi), free(w);
}

/* Q8Linear: activation blocks of every kind the rule singles out (all zero with -0, amax at one or
 * both signs, NaN, Inf, only subnormals, a scale that underflows fp16, one that overflows it),
 * weights with any byte (-128 too) and scales of every fp16 kind (0, -0, subnormal, Inf, NaN,
 * negative) */
static void q8linear(size_t rows, size_t k, size_t n, int specials) {
    size_t nb = k / 32;
    float *x = malloc(rows * k * 4);
    uint8_t *w = malloc(n * nb * 34);
    for (size_t i = 0; i < rows * k; i++) x[i] = sf_float(0);
    for (size_t b = 0; specials && b < rows * nb; b++) { /* rows 0, 3, 6, ...: a block's NaN/Inf spoils its row */
        float *blk = x + b * 32;
        if (b / nb % 3) continue;
        switch (sf_rnd() % 14) {
        case 0: for (int i = 0; i < 32; i++) blk[i] = i % 3 ? 0.0f : -0.0f; break;
        case 1: blk[sf_rnd() % 32] = -9.0f; break;
        case 2: blk[3] = -9.0f, blk[20] = 9.0f; break;
        case 3: blk[sf_rnd() % 32] = kf_from_bits(sf_rnd() & 1 ? 0x7FC00000u : 0xFFC00001u); break;
        case 4: blk[sf_rnd() % 32] = kf_from_bits(sf_rnd() & 1 ? 0x7F800000u : 0xFF800000u); break;
        case 5: for (int i = 0; i < 32; i++) blk[i] = kf_from_bits((sf_rnd() & 0x807FFFFFu)); break;
        case 6: for (int i = 0; i < 32; i++) blk[i] *= 1e-36f; break;
        case 7: blk[sf_rnd() % 32] = 2e7f; break;
        case 8: for (int i = 0; i < 32; i++) blk[i] = (float)(int)(blk[i] * 8.0f) / 8.0f; break; /* ties */
        default: break;
        }
    }
    static const uint16_t sp[] = {0x0000, 0x8000, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x7E00, 0xFE01, 0x7BFF};
    for (size_t b = 0; b < n * nb; b++) {
        uint8_t *blk = w + b * 34;
        for (int i = 2; i < 34; i++) blk[i] = (uint8_t)sf_rnd();
        uint16_t d = (uint16_t)((sf_rnd() & 0x8000) | (5 + sf_rnd() % 16) << 10 | (sf_rnd() & 0x3FF));
        if (specials && b / nb % 4 == 1 && sf_rnd() % 8 == 0) d = sp[sf_rnd() % (sizeof sp / sizeof *sp)];
        blk[0] = (uint8_t)d, blk[1] = (uint8_t)(d >> 8);
    }
    kd_desc d = {.op = OP_Q8LINEAR, .noperands = 2};
    uint32_t xd[2] = {(uint32_t)rows, (uint32_t)k}, wd[2] = {(uint32_t)n, (uint32_t)k}, od[2] = {(uint32_t)rows, (uint32_t)n};
    d.in[0] = T(KD_F32, 2, xd), d.in[1] = T(KD_Q8_0, 2, wd), d.out = T(KD_F32, 2, od);
    const void *in[KD_MAX_OPERANDS] = {x, w};
    char what[80];
    snprintf(what, sizeof what, "Q8Linear rows %zu K %zu N %zu", rows, k, n);
    compare(what, &d, in);
    free(x), free(w);
}

/* The 6-operand form of the 4-operand Attention d (the step graph's: the new rows apart, read
 * after the cache's rows below pos): new keys and values with specials in some rows, key values
 * scaled by kscale; ref == blas. */
static void split_form(const kd_desc *d4, const void *const in4[KD_MAX_OPERANDS], const char *what, float kscale) {
    uint32_t t = d4->in[0].dims[0], kvh = d4->in[1].dims[1], dh = d4->in[1].dims[2];
    size_t nn = (size_t)t * kvh * dh;
    float *kn = malloc(nn * 4), *vn = malloc(nn * 4);
    for (size_t i = 0; i < nn; i++) kn[i] = sf_float(i % (3 * dh) < 2) * kscale, vn[i] = sf_float(i % (5 * dh) < 2);
    kd_desc d = *d4;
    uint32_t nd[3] = {t, kvh, dh}, pd[1] = {1};
    d.noperands = 6;
    d.in[3] = d4->in[2], d.in[2] = d.in[4] = T(KD_F32, 3, nd), d.in[5] = T(KD_I32, 1, pd);
    const void *in[KD_MAX_OPERANDS] = {in4[0], in4[1], kn, in4[2], vn, in4[3]};
    char w[140];
    snprintf(w, sizeof w, "%s, new rows apart", what);
    compare(w, &d, in);
    free(kn), free(vn);
}

/* Attention (the blas backend's vectorized version): caches and queries with specials in some
 * rows, grouped heads, head sizes through both vector paths and a tail */
static void attention(uint32_t t, uint32_t h, uint32_t kvh, uint32_t dh, uint32_t s, int32_t pos, int specials) {
    float *q = malloc((size_t)t * h * dh * 4), *k = malloc((size_t)s * kvh * dh * 4), *v = malloc((size_t)s * kvh * dh * 4);
    for (size_t i = 0; i < (size_t)t * h * dh; i++) q[i] = sf_float(specials && i < dh);
    for (size_t i = 0; i < (size_t)s * kvh * dh; i++) /* small keys: O(1) scores, a softmax that is not one-hot */
        k[i] = sf_float(specials && i % (7 * dh) < dh) * 0.03125f, v[i] = sf_float(specials && i % (5 * dh) < 2);
    kd_desc d = {.op = OP_ATTENTION, .noperands = 4, .fa = {0.125f}};
    uint32_t qd[3] = {t, h, dh}, cd[3] = {s, kvh, dh}, pd[1] = {1};
    d.in[0] = d.out = T(KD_F32, 3, qd), d.in[1] = d.in[2] = T(KD_F32, 3, cd), d.in[3] = T(KD_I32, 1, pd);
    const void *in[KD_MAX_OPERANDS] = {q, k, v, &pos};
    char what[96];
    snprintf(what, sizeof what, "Attention T %u H %u/%u Dh %u S %u pos %d", t, h, kvh, dh, s, pos);
    compare(what, &d, in);
    split_form(&d, in, what, 0.03125f);
    free(q), free(k), free(v);
}

/* Attention over Q8_0 caches: random blocks (scales of every fp16 kind in some rows), queries
 * with specials in their first row; keys past 16, 17 and 33 (the 16-key chunks), grouped heads */
static void attention_q8(uint32_t t, uint32_t h, uint32_t kvh, uint32_t dh, uint32_t s, int32_t pos, int specials) {
    size_t cb = (size_t)s * kvh * dh / 32 * 34;
    float *q = malloc((size_t)t * h * dh * 4);
    uint8_t *k = malloc(cb), *v = malloc(cb);
    for (size_t i = 0; i < (size_t)t * h * dh; i++) q[i] = sf_float(specials && i < dh);
    static const uint16_t sp[] = {0x0000, 0x8000, 0x0001, 0x7C00, 0xFC00, 0x7E00, 0x7BFF};
    for (size_t b = 0; b < cb / 34; b++)
        for (int c = 0; c < 2; c++) {
            uint8_t *blk = (c ? v : k) + b * 34;
            for (int i = 2; i < 34; i++) blk[i] = (uint8_t)sf_rnd();
            /* keys' scales near 2^-12 so that the scores are O(1) and the softmax is not one-hot */
            uint16_t d = (uint16_t)((sf_rnd() & 0x8000) | (c ? 8 + sf_rnd() % 10 : 2 + sf_rnd() % 2) << 10 | (sf_rnd() & 0x3FF));
            if (specials && b % 29 == 3) d = sp[sf_rnd() % (sizeof sp / sizeof *sp)];
            blk[0] = (uint8_t)d, blk[1] = (uint8_t)(d >> 8);
        }
    kd_desc d = {.op = OP_ATTENTION, .noperands = 4, .fa = {0.088388f}};
    uint32_t qd[3] = {t, h, dh}, cd[3] = {s, kvh, dh}, pd[1] = {1};
    d.in[0] = d.out = T(KD_F32, 3, qd), d.in[1] = d.in[2] = T(KD_Q8_0, 3, cd), d.in[3] = T(KD_I32, 1, pd);
    const void *in[KD_MAX_OPERANDS] = {q, k, v, &pos};
    char what[100];
    snprintf(what, sizeof what, "Attention/Q8_0 T %u H %u/%u Dh %u S %u pos %d", t, h, kvh, dh, s, pos);
    compare(what, &d, in);
    split_form(&d, in, what, 0.03125f);
    free(q), free(k), free(v);
}

/* KVAppend into a Q8_0 cache: the new rows' blocks with every special (all zero, NaN, Inf,
 * subnormals, tiny and huge amax) quantized by the blas backend's vector rule as by kq8's */
static void kvappend_q8(uint32_t s, uint32_t t, uint32_t kvh, uint32_t dh, int32_t pos) {
    size_t cb = (size_t)s * kvh * dh / 32 * 34, nn = (size_t)t * kvh * dh;
    uint8_t *c = malloc(cb);
    float *x = malloc(nn * 4);
    for (size_t i = 0; i < cb; i++) c[i] = (uint8_t)sf_rnd();
    for (size_t i = 0; i < nn; i++) x[i] = sf_float(1);
    for (size_t b = 0; b < nn / 32; b++) {
        float *blk = x + b * 32;
        if (b % 5 == 1) memset(blk, 0, 128);
        if (b % 7 == 2) for (int i = 0; i < 32; i++) blk[i] = kf_from_bits(sf_rnd() & 0x807FFFFFu);
        if (b % 9 == 3) blk[4] = 3e9f;
        if (b % 11 == 4) for (int i = 0; i < 32; i++) blk[i] *= 1e-35f;
    }
    kd_desc d = {.op = OP_KVAPPEND, .noperands = 3};
    uint32_t cd[3] = {s, kvh, dh}, nd[3] = {t, kvh, dh}, pd[1] = {1};
    d.in[0] = d.out = T(KD_Q8_0, 3, cd), d.in[1] = T(KD_F32, 3, nd), d.in[2] = T(KD_I32, 1, pd);
    const void *in[KD_MAX_OPERANDS] = {c, x, &pos};
    char what[80];
    snprintf(what, sizeof what, "KVAppend/Q8_0 S %u T %u pos %d", s, t, pos);
    compare(what, &d, in);
    free(c), free(x);
}

/* The prompt kernel both ways (AMX tile products where the CPU has them, and vpdpbusd) against
 * the blas backend's result (itself compared with ref above) on a few shapes. */
static void q8_prompt_paths(void) {
    if (!q8h_available()) return;
    /* blocks: 2, 17, 3, 33, 8, 16 (whole groups and rests); rows: one, two and three AMX chunks */
    static const size_t shapes[][3] = {{5, 64, 17}, {16, 544, 33}, {33, 96, 40}, {64, 1056, 50}, {100, 256, 20}, {49, 512, 17}};
    q8h_work *vnni = q8h_work_new(), *amx = q8h_work_new();
    q8h_use_amx(vnni, 0);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        size_t rows = shapes[c][0], k = shapes[c][1], n = shapes[c][2];
        float *x = malloc(rows * k * 4), *y1 = malloc(rows * n * 4), *y2 = malloc(rows * n * 4), *y3 = malloc(rows * n * 4);
        uint8_t *w = malloc(n * k / 32 * 34);
        fill(x, rows * k, 0);
        for (size_t i = 0; i < n * k / 32 * 34; i++) w[i] = (uint8_t)sf_rnd();
        for (size_t b = 0; b < n * k / 32; b++) w[b * 34 + 1] &= 0x3B;
        CHECK_EQ_INT(q8h_linear(vnni, NULL, x, rows, k, w, n, y1), 0);
        CHECK_EQ_INT(q8h_linear(amx, NULL, x, rows, k, w, n, y2), 0);
        kd_desc d = {.op = OP_Q8LINEAR, .noperands = 2};
        uint32_t xd[2] = {(uint32_t)rows, (uint32_t)k}, wd[2] = {(uint32_t)n, (uint32_t)k}, od[2] = {(uint32_t)rows, (uint32_t)n};
        d.in[0] = T(KD_F32, 2, xd), d.in[1] = T(KD_Q8_0, 2, wd), d.out = T(KD_F32, 2, od);
        size_t sn = kernel_scratch_size(&d);
        void *scr = malloc(sn);
        const void *in[KD_MAX_OPERANDS] = {x, w};
        CHECK_EQ_INT(kernel_exec(&d, in, y3, scr, sn), 0);
        CHECK_MEM(y1, y3, rows * n * 4);
        CHECK_MEM(y2, y3, rows * n * 4);
        cases += 2;
        free(x), free(y1), free(y2), free(y3), free(w), free(scr);
    }
    q8h_work_free(vnni), q8h_work_free(amx);
}

static void qconv(uint32_t nb, uint32_t c, uint32_t h, uint32_t wd, uint32_t m, uint32_t kh, uint32_t kw, uint32_t g,
                  int stride, int pad, int dil, int specials) {
    kd_desc d = {.op = OP_QCONV, .noperands = 4, .ia = {(int32_t)g, stride, stride + 1 > 2 ? 2 : stride, pad, pad + 1 > 2 ? 0 : pad + 1, pad, 0, dil, 1}};
    uint32_t xd[4] = {nb, c, h, wd}, wdims[4] = {m, c / g, kh, kw}, md[1] = {m};
    int64_t oh = ((int64_t)h + d.ia[3] + d.ia[5] - (int64_t)d.ia[7] * (kh - 1) - 1), ow = ((int64_t)wd + d.ia[4] + d.ia[6] - (int64_t)d.ia[8] * (kw - 1) - 1);
    if (oh < 0 || ow < 0) return;
    uint32_t od[4] = {nb, m, (uint32_t)(oh / d.ia[1] + 1), (uint32_t)(ow / d.ia[2] + 1)};
    d.in[0] = T(KD_F32, 4, xd), d.in[1] = T(KD_I8, 4, wdims), d.in[2] = d.in[3] = T(KD_F32, 1, md), d.out = T(KD_F32, 4, od);
    size_t xn = (size_t)nb * c * h * wd, wn = (size_t)m * (c / g) * kh * kw;
    float *x = malloc(xn * 4 + 4), *s = malloc(m * 4), *b = malloc(m * 4);
    int8_t *w = malloc(wn + 1);
    fill(x, xn, specials);
    for (size_t i = 0; i < wn; i++) w[i] = (int8_t)(sf_rnd() % 255 - 127);
    for (size_t i = 0; i < m; i++) s[i] = (float)(sf_rnd() % 1000 + 1) / 65536.0f, b[i] = sf_float(0);
    const void *in[KD_MAX_OPERANDS] = {x, w, s, b};
    char what[120];
    snprintf(what, sizeof what, "QConv N%u C%u %ux%u M%u k%ux%u g%u", nb, c, h, wd, m, kh, kw, g);
    CHECK_EQ_INT(kernel_check(&d), 0);
    compare(what, &d, in);
    free(x), free(s), free(b), free(w);
}

static void qmatmul(uint32_t b0, uint32_t b1, uint32_t m, uint32_t k, uint32_t n, int specials) {
    kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
    uint32_t ad[4] = {b0, 1, m, k}, bd[3] = {b1, k, n}, od[4] = {b0, b1, m, n};
    d.in[0] = T(KD_F32, 4, ad), d.in[1] = T(KD_F32, 3, bd), d.out = T(KD_F32, 4, od);
    size_t an = (size_t)b0 * m * k, bn = (size_t)b1 * k * n;
    float *a = malloc(an * 4 + 4), *b = malloc(bn * 4 + 4);
    fill(a, an, specials), fill(b, bn, specials);
    const void *in[KD_MAX_OPERANDS] = {a, b};
    char what[80];
    snprintf(what, sizeof what, "QMatMul %ux1x%ux%u . %ux%ux%u", b0, m, k, b1, k, n);
    compare(what, &d, in);
    free(a), free(b);
}

static void unary(unsigned op, size_t n) {
    float *x = malloc(n * 4 + 4);
    fill(x, n, 1);
    uint32_t dims[3] = {1, (uint32_t)n, 1};
    kd_desc d = {.op = (uint16_t)op, .noperands = 1}; /* each operator's own attributes only */
    if (op == OP_LEAKYRELU || op == OP_ELU || op == OP_CELU || op == OP_THRESHOLDEDRELU) d.fa[0] = 0.1f;
    if (op == OP_CLIP) d.fa[0] = -1.5f, d.fa[1] = 2.0f;
    if (op == OP_SELU || op == OP_SHRINK) d.fa[0] = 1.5f, d.fa[1] = 0.5f;
    if (op == OP_SOFTMAX || op == OP_LOGSOFTMAX || op == OP_HARDMAX || op == OP_CUMSUM) d.ia[0] = 1;
    d.in[0] = d.out = T(KD_F32, 3, dims);
    const void *in[KD_MAX_OPERANDS] = {x};
    compare(kernel_op_name(op), &d, in);
    free(x);
}

/* The blas backend's vector Relu and MaxPool (windows inside the input): every tail of a vector
 * of 16, kernels, strides and dilations, and planes of +0/-0 ties, +-Inf and NaN only, where the
 * first maximum in the reference's scan order must win. */
static void elementwise(void) {
    for (size_t n = 0; n <= 40; n++) unary(OP_RELU, n);
    static const int32_t shapes[][6] = {{2, 2, 2, 2, 1, 1}, {3, 3, 1, 1, 1, 1}, {3, 2, 2, 3, 1, 1}, {2, 2, 1, 1, 2, 3},
                                        {1, 1, 1, 1, 1, 1}, {3, 3, 3, 3, 1, 1}, {2, 3, 1, 2, 2, 1}};
    static const uint32_t sizes[][2] = {{1, 16}, {4, 15}, {5, 17}, {8, 33}, {28, 28}, {14, 14}, {7, 64}};
    char what[96];
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (size_t zi = 0; zi < sizeof sizes / sizeof *sizes; zi++)
            for (int kind = 0; kind < 3; kind++) {
                const int32_t *a = shapes[si];
                uint32_t h = sizes[zi][0], w = sizes[zi][1];
                int64_t oh = ((int64_t)h - (int64_t)(a[0] - 1) * a[4] - 1) / a[2] + 1, ow = ((int64_t)w - (int64_t)(a[1] - 1) * a[5] - 1) / a[3] + 1;
                if (h < (uint32_t)((a[0] - 1) * a[4] + 1) || w < (uint32_t)((a[1] - 1) * a[5] + 1)) continue;
                uint32_t xd[4] = {2, 3, h, w}, od[4] = {2, 3, (uint32_t)oh, (uint32_t)ow};
                size_t n = (size_t)6 * h * w;
                float *x = malloc(n * 4);
                static const uint32_t ties[] = {0x00000000u, 0x80000000u, 0xFF800000u, 0x7F800000u, 0x7FC00001u, 0xFFC00000u};
                for (size_t i = 0; i < n; i++)
                    x[i] = kind == 0 ? sf_float(1) : kf_from_bits(ties[sf_rnd() % (kind == 1 ? 2u : 6u)]);
                kd_desc d = {.op = OP_MAXPOOL, .noperands = 1, .ia = {a[0], a[1], a[2], a[3], 0, 0, 0, 0, a[4], a[5]}};
                d.in[0] = T(KD_F32, 4, xd), d.out = T(KD_F32, 4, od);
                CHECK_EQ_INT(kernel_check(&d), 0);
                const void *in[KD_MAX_OPERANDS] = {x};
                snprintf(what, sizeof what, "MaxPool %ux%u k%dx%d s%dx%d d%dx%d values %d", h, w, a[0], a[1], a[2], a[3], a[4], a[5], kind);
                compare(what, &d, in);
                free(x);
            }
}

/* The vectorized quantization rules against the scalar ones: every tail length, specials. */
static void simd_rules(void) {
    float x[70], qa[70], sb[70], bias[70], ya[70];
    int32_t acc[70];
    int16_t q16[70];
    int8_t q8[70];
    int bad = 0;
    for (size_t n = 0; n <= 70; n++)
        for (int rep = 0; rep < 20; rep++) {
            fill(x, n, 1), fill(sb, n, 1), fill(bias, n, rep & 1);
            for (size_t i = 0; i < n; i++) acc[i] = (int32_t)(sf_rnd() % 4000000u) - 2000000;
            float s = qs_scale(x, n);
            bad += kf_bits(s) != kf_bits(kq_scale(x, n, 1));
            float sc = rep % 3 == 0 ? s : rep % 3 == 1 ? 0.0f : kf_from_bits(0x7F800000u);
            qs_quantize(x, n, sc, qa);
            for (size_t i = 0; i < n; i++) bad += kf_bits(qa[i]) != kf_bits((float)kf_quantize(x[i], sc));
            qs_quantize_i16(x, n, sc, q16);
            qs_quantize_i8(x, n, sc, q8);
            for (size_t i = 0; i < n; i++) bad += (q16[i] != kf_quantize(x[i], sc)) + (q8[i] != kf_quantize(x[i], sc));
            float sa = sf_float(1);
            qs_output_rows(acc, n, sa, sb, rep & 1 ? bias : NULL, ya);
            for (size_t i = 0; i < n; i++) bad += kf_bits(ya[i]) != kf_bits(kq_output(acc[i], sa, sb[i], rep & 1, bias[i]));
            qs_output(acc, n, sa, sb[0], rep & 1, bias[0], ya);
            for (size_t i = 0; i < n; i++) bad += kf_bits(ya[i]) != kf_bits(kq_output(acc[i], sa, sb[0], rep & 1, bias[0]));
        }
    CHECK_EQ_INT(bad, 0);
}

/* The fast tensor roots (merkle_tensor_root) against the portable merkle_root on lengths around
 * every edge. */
static void tensor_roots(void) {
    size_t big = (size_t)1 << 20;
    uint8_t *data = malloc(big + 3), a[32], b[32]; /* the roots below start 3 bytes in */
    for (size_t i = 0; i < big + 3; i++) data[i] = (uint8_t)sf_rnd();
    size_t lens[] = {0, 1, 31, 32, 33, 63, 64, 65, 480, 511, 512, 513, 544, 1000, 1023, 1024, 1025, 4095, 4096, 4097,
                     25088, 32768 - 32, 32768, 32768 + 1, 99999, big - 1, big};
    int bad = 0;
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        merkle_tensor_root(data, lens[i], a);
        merkle_root(data, lens[i], MERKLE_SLOT_DEPTH, b);
        bad += memcmp(a, b, 32) != 0;
    }
    for (size_t len = 1; len < 3000; len += 7) {
        merkle_tensor_root(data + 5, len, a);
        merkle_root(data + 5, len, MERKLE_SLOT_DEPTH, b);
        bad += memcmp(a, b, 32) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    free(data);
}

/* The pieces the engine schedules itself: batched pairs (every count around the group of eight,
 * outputs over their own inputs), chunk roots at every height, many trees folded together. */
static void tensor_root_pieces(void) {
    uint8_t buf[64 * 40], want[40][32], *outs[40];
    const uint8_t *l[40], *r[40];
    int bad = 0;
    for (size_t n = 0; n <= 40; n++) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)sf_rnd();
        for (size_t i = 0; i < n; i++) {
            keccak256_pair(buf + 64 * i, buf + 64 * i + 32, want[i]);
            l[i] = buf + 64 * i, r[i] = buf + 64 * i + 32, outs[i] = buf + 32 * i; /* in place, as a tree level */
        }
        opml_hash_pairs(n, l, r, outs);
        for (size_t i = 0; i < n; i++) bad += memcmp(buf + 32 * i, want[i], 32) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    size_t big = (size_t)32 << 12;
    uint8_t *data = malloc(big + 3), a[32], b[32]; /* the roots below start 3 bytes in */
    for (size_t i = 0; i < big + 3; i++) data[i] = (uint8_t)sf_rnd();
    for (unsigned h = 0; h <= 12; h++) {
        size_t lens[] = {1, 31, 32, 33, 64, 65, ((size_t)32 << h) / 2 + 1, ((size_t)32 << h) - 1, (size_t)32 << h};
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
            if (lens[i] > ((size_t)32 << h)) continue;
            merkle_root(data + 3, lens[i], h, a);
            CHECK_EQ_INT(opml_chunk_root(data + 3, lens[i], h, b), 0);
            bad += memcmp(a, b, 32) != 0;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(opml_chunk_root(data, 0, 3, b), -1);
    CHECK_EQ_INT(opml_chunk_root(data, 257, 3, b), -1);
    CHECK_EQ_INT(opml_chunk_root(data, 32, 24, b), -1);
    /* tensors of 0 .. 11 chunks of 2^4 leaves (512 bytes), and single nodes at their own height */
    enum { T = 12, CH = 512 };
    uint8_t *nodes[T], roots[T][32];
    size_t count[T], lens[T];
    unsigned height[T];
    for (size_t t = 0; t < T; t++) {
        lens[t] = t < 10 ? t * CH - (t & 1) * 100 : 1 + t * 3; /* the last two: one node, height 0 or 1 */
        count[t] = t < 10 ? t : 1;
        height[t] = t < 10 ? 4 : (unsigned)(lens[t] > 32);
        nodes[t] = malloc((count[t] + 1) * 32);
        for (size_t j = 0; j < count[t]; j++) {
            size_t off = j * CH, n = lens[t] - off < CH ? lens[t] - off : CH;
            CHECK_EQ_INT(opml_chunk_root(data + off, n, height[t], nodes[t] + 32 * j), 0);
        }
    }
    CHECK_EQ_INT(opml_fold_roots(T, nodes, count, height, roots), 0);
    for (size_t t = 0; t < T; t++) {
        merkle_tensor_root(data, lens[t], a);
        bad += memcmp(a, roots[t], 32) != 0;
        free(nodes[t]);
    }
    CHECK_EQ_INT(bad, 0);
    size_t one = 2;
    unsigned top = 23;
    CHECK_EQ_INT(opml_fold_roots(1, (uint8_t *const *)&data, &one, &top, roots), -1);
    free(data);
}

int main(void) {
    simd_rules();
    tensor_roots();
    tensor_root_pieces();
    ref = opml_backend_new("ref");
    blas = opml_backend_new("blas");
    CHECK(ref && blas);
    if (!ref || !blas) return check_summary("test_exact");

    /* W8A8 products: K edges around the 1024 chunk, 2^24 partial sums, specials */
    size_t ks[] = {1, 2, 3, 1023, 1024, 1025, 2048, 4097};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        qlinear(3, ks[i], 5, 1, 1);
        qlinear(1, ks[i], 1, 0, 0);
        qlinear(7, ks[i], 3, 0, 1); /* more than two rows: the sgemm path */
    }
    for (int r = 0; r < 20; r++) qlinear(1 + sf_rnd() % 9, 1 + sf_rnd() % 300, 1 + sf_rnd() % 40, (int)(sf_rnd() & 1), (int)(sf_rnd() & 1));
    qlinear(0, 7, 3, 1, 0);
    qlinear(2, 4100, 4100, 1, 1); /* a large matrix-vector product: split over two threads */

    /* convolutions: 1x1 images, odd channels, groups, depthwise, strides, padding, dilation */
    qconv(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1);
    qconv(2, 3, 1, 1, 5, 1, 1, 1, 1, 0, 1, 1);
    qconv(1, 3, 5, 7, 5, 3, 3, 1, 1, 1, 1, 1);
    qconv(1, 6, 9, 9, 9, 3, 3, 3, 2, 1, 1, 1);
    qconv(1, 7, 8, 8, 7, 3, 3, 7, 1, 1, 2, 1);
    qconv(2, 5, 6, 4, 3, 2, 3, 1, 2, 0, 1, 0);
    qconv(1, 128, 3, 3, 4, 3, 3, 1, 1, 1, 1, 0);  /* K = 1152 > 1024 */
    qconv(1, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1, 0);
    /* the integer convolution's edges: filter blocks of 4 (M = 1..9), rows of 31/32/33 pixels and
     * their padded widths, an odd and an even row count, K = 4097 and 4098, dilation 2 on the
     * padded planes, stride 2 through im2col */
    for (uint32_t m = 1; m <= 9; m++) qconv(1, 2, 5, 6, m, 3, 3, 1, 1, 1, 1, m & 1);
    qconv(1, 3, 1, 31, 4, 1, 1, 1, 1, 0, 1, 1);
    qconv(1, 3, 1, 32, 4, 1, 2, 1, 1, 0, 1, 0);
    qconv(2, 3, 2, 33, 5, 1, 3, 1, 1, 1, 1, 1);
    qconv(1, 4097, 1, 1, 3, 1, 1, 1, 1, 0, 1, 1);
    qconv(1, 2049, 1, 2, 3, 1, 2, 1, 1, 0, 1, 0);
    qconv(1, 4, 9, 9, 6, 3, 3, 2, 1, 2, 2, 1);
    qconv(1, 4, 9, 9, 6, 3, 3, 1, 2, 1, 2, 1);
    qconv(1, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1);
    for (int r = 0; r < 10; r++) {
        uint32_t g = 1 + sf_rnd() % 3;
        qconv(1 + sf_rnd() % 2, g * (1 + sf_rnd() % 4), 1 + sf_rnd() % 9, 1 + sf_rnd() % 9, g * (1 + sf_rnd() % 4), 1 + sf_rnd() % 3,
              1 + sf_rnd() % 3, g, 1 + (int)(sf_rnd() % 2), (int)(sf_rnd() % 2), 1 + (int)(sf_rnd() % 2), (int)(sf_rnd() & 1));
    }

    /* the AVX-512 lanes of kf_exp and SiLU: every 97th float of all 2^32 and the specials */
    if (fx16_available()) {
        enum { N = 4096 };
        static float x[N], ye[N], ys[N];
        size_t bad = 0, n = 0;
        for (uint64_t u = 0; u < (1ull << 32); u += 97 * N) {
            for (size_t i = 0; i < N; i++) x[i] = kf_from_bits((uint32_t)(u + 97 * i));
            if (u == 0) x[1] = -0.0f, x[2] = 88.72283935546875f, x[3] = -103.972084045410f, x[4] = 0x1p-126f, x[5] = -87.5f;
            fx16_exp(x, N - (u == 0), ye), fx16_silu(x, N - (u == 0), ys);
            for (size_t i = 0; i + (u == 0) < N; i++, n++) {
                bad += kf_bits(ye[i]) != kf_bits(kf_exp(x[i]));
                bad += kf_bits(ys[i]) != kf_bits(kf_canon(x[i] * kf_sigmoid(x[i])));
            }
        }
        CHECK_EQ_INT(bad, 0);
        printf("kf_exp and SiLU: AVX-512 lanes == scalar on %zu inputs\n", n);
    }
    {
        float a[37], b[37];
        fill(a, 37, 1), fill(b, 37, 1);
        uint32_t ed[2] = {1, 37};
        for (unsigned op = OP_ADD; op <= OP_MUL; op += OP_MUL - OP_ADD) {
            kd_desc d = {.op = (uint16_t)op, .noperands = 2};
            d.in[0] = d.in[1] = d.out = T(KD_F32, 2, ed);
            const void *in[KD_MAX_OPERANDS] = {a, b};
            compare(kernel_op_name(op), &d, in);
        }
        kd_desc s = {.op = OP_SILU, .noperands = 1};
        s.in[0] = s.out = T(KD_F32, 2, ed);
        const void *in[KD_MAX_OPERANDS] = {a};
        compare("SiLU", &s, in);
    }

    /* Q8_0 products: decoding (rows <= 4, lane = block; group tails) and prompts (tiles of 16 rows;
     * row tails), one thread and two */
    static const size_t q8[][3] = {{1, 32, 1},    {1, 32, 17},    {1, 64, 16},   {2, 256, 100}, {3, 544, 33},
                                   {4, 704, 64},  {5, 704, 64},   {17, 1056, 50}, {33, 96, 31}, {1, 4096, 300},
                                   {2, 11008, 97}, {8, 1024, 200}, {64, 256, 1000}};
    for (size_t i = 0; i < sizeof q8 / sizeof *q8; i++) q8linear(q8[i][0], q8[i][1], q8[i][2], 1);
    q8linear(3, 512, 20, 0);
    q8_prompt_paths();
    kvappend_q8(16, 5, 2, 64, 3);
    kvappend_q8(8, 1, 32, 128, 7);
    kvappend_q8(8, 3, 2, 32, 6); /* past the cache: unchanged */
    attention(3, 8, 2, 128, 20, 5, 1);
    attention(1, 4, 4, 32, 64, 40, 1);
    attention(5, 2, 1, 7, 8, 0, 1);
    attention(2, 4, 2, 80, 30, 28, 0);
    attention(2, 4, 2, 16, 30, 29, 0); /* past the cache: NaN */
    attention_q8(1, 32, 32, 128, 40, 15, 1);
    attention_q8(3, 8, 2, 128, 64, 30, 1);
    attention_q8(5, 4, 1, 32, 40, 12, 1);
    attention_q8(2, 4, 2, 64, 80, 70, 0);
    attention_q8(1, 2, 2, 512, 20, 16, 1);
    attention_q8(1, 2, 1, 1024, 20, 16, 1); /* 32 blocks a head: past the host path (16), the reference runs */
    attention_q8(2, 4, 2, 32, 30, 29, 0); /* past the cache: NaN */
    /* prompts from an empty cache: the 6-operand form as the 4-operand one over joined caches */
    attention_q8(16, 4, 2, 64, 40, 0, 1);
    attention_q8(48, 8, 8, 32, 64, 0, 1);
    attention_q8(20, 2, 2, 32, 20, 0, 0);

    /* run-time products (attention scores): broadcast batches, K edges */
    qmatmul(1, 1, 1, 1, 1, 1);
    qmatmul(2, 3, 4, 1025, 3, 1);
    qmatmul(3, 1, 5, 17, 6, 0);
    qmatmul(1, 2, 2, 4097, 2, 1);

    /* every other operator (blas runs the reference kernel: still compared) */
    unsigned ops[] = {OP_RELU,   OP_LEAKYRELU, OP_SIGMOID, OP_TANH,     OP_CLIP,     OP_SOFTMAX, OP_LOGSOFTMAX,
                      OP_EXP,    OP_LOG,       OP_SQRT,    OP_NEG,      OP_ABS,      OP_SIN,     OP_COS,
                      OP_TAN,    OP_ASIN,      OP_ACOS,    OP_ATAN,     OP_SINH,     OP_COSH,    OP_ASINH,
                      OP_ACOSH,  OP_ATANH,     OP_CEIL,    OP_FLOOR,    OP_ROUND,    OP_SIGN,    OP_SOFTPLUS,
                      OP_SOFTSIGN, OP_ELU,     OP_SELU,    OP_CELU,     OP_THRESHOLDEDRELU, OP_SHRINK, OP_HARDMAX,
                      OP_CUMSUM};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) unary(ops[i], 257);
    elementwise();
    {
        float a[24], b[4], p[2 * 3 * 5 * 5];
        fill(a, 24, 1), fill(b, 4, 1), fill(p, 150, 1);
        uint32_t ad[3] = {2, 3, 4}, bd[1] = {4}, pd[4] = {2, 3, 5, 5}, od[4] = {2, 3, 2, 2}, gd[4] = {2, 3, 1, 1}, td[3] = {4, 2, 3};
        unsigned bin[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
        for (int i = 0; i < 4; i++) {
            kd_desc d = {.op = (uint16_t)bin[i], .noperands = 2};
            d.in[0] = d.out = T(KD_F32, 3, ad), d.in[1] = T(KD_F32, 1, bd);
            const void *in[KD_MAX_OPERANDS] = {a, b};
            compare(kernel_op_name(bin[i]), &d, in);
        }
        kd_desc mp = {.op = OP_MAXPOOL, .noperands = 1, .ia = {3, 3, 2, 2, 1, 1, 0, 0, 1, 1}};
        mp.in[0] = T(KD_F32, 4, pd), mp.out = T(KD_F32, 4, od);
        const void *pin[KD_MAX_OPERANDS] = {p};
        compare("MaxPool", &mp, pin);
        kd_desc ap = mp;
        ap.op = OP_AVGPOOL, ap.ia[10] = 1;
        compare("AveragePool", &ap, pin);
        kd_desc gp = {.op = OP_GLOBALAVGPOOL, .noperands = 1};
        gp.in[0] = T(KD_F32, 4, pd), gp.out = T(KD_F32, 4, gd);
        compare("GlobalAveragePool", &gp, pin);
        kd_desc tr = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {2, 0, 1}};
        tr.in[0] = T(KD_F32, 3, ad), tr.out = T(KD_F32, 3, td);
        const void *ain[KD_MAX_OPERANDS] = {a, a};
        compare("Transpose", &tr, ain);
        kd_desc cc = {.op = OP_CONCAT, .noperands = 2, .ia = {1}};
        uint32_t cd[3] = {2, 6, 4};
        cc.in[0] = cc.in[1] = T(KD_F32, 3, ad), cc.out = T(KD_F32, 3, cd);
        compare("Concat", &cc, ain);
        kd_desc sl = {.op = OP_SLICE, .noperands = 1, .ia = {1, 2, 3, 0, 0, 0, 1, -1, -2, 0, 0, 0}};
        uint32_t sd[3] = {1, 2, 2};
        sl.in[0] = T(KD_F32, 3, ad), sl.out = T(KD_F32, 3, sd);
        compare("Slice", &sl, ain);
        unsigned red[] = {OP_REDUCESUM, OP_REDUCEMEAN, OP_REDUCEMAX};
        for (int i = 0; i < 3; i++) {
            kd_desc r = {.op = (uint16_t)red[i], .noperands = 1, .ia = {6}};
            uint32_t rd1[2] = {2, 1};
            r.in[0] = T(KD_F32, 3, ad), r.out = T(KD_F32, 2, rd1);
            compare(kernel_op_name(red[i]), &r, ain);
        }
        kd_desc pad = {.op = OP_PAD, .noperands = 1, .ia = {0, 1, 0, 0, 0, 0, 1, 0, 2}, .fa = {3.0f}};
        uint32_t pdd[3] = {3, 4, 6};
        pad.in[0] = T(KD_F32, 3, ad), pad.out = T(KD_F32, 3, pdd);
        compare("Pad", &pad, ain);
        kd_desc rs = {.op = OP_RESHAPE, .noperands = 1};
        uint32_t rd[2] = {6, 4};
        rs.in[0] = T(KD_F32, 3, ad), rs.out = T(KD_F32, 2, rd);
        compare("Reshape", &rs, ain);
    }
    printf("ref == blas on %d cases\n", cases);
    printf("cuda: not in this build (no nvcc at configure time): skipped\n");
    opml_backend_free(ref);
    opml_backend_free(blas);
    return check_summary("test_exact");
}
