/* guest_selftest.c: one program built twice, natively and for the RV32IM guest (run under
 * qemu-riscv32, Linux user mode). It generates the same pseudo-random cases on both sides (every
 * operator, shapes with K = 1 and K > 1024, inputs with -0, subnormals, +-Inf and NaN; sweeps of
 * sqrt, exp, expm1, sigmoid, tanh, log, erf, pow, the int64 conversions and quantization over bit
 * patterns), runs the reference kernels
 * and prints one FNV-1a hash of the output bytes per case. guest_selftest.sh compares the two
 * transcripts: the host's SSE arithmetic and the guest's libgcc soft-float must agree bit for bit
 * (docs/numerics.md). Like the kernels, this file uses no libc beyond string.h on the guest. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fmath.h"
#include "kernel.h"

#ifdef __riscv
static long sys3(long n, long a, long b, long c) {
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c, a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}
static void out(const char *s, size_t n) { sys3(64, 1, (long)s, (long)n); }
#else
#include <stdio.h>
static void out(const char *s, size_t n) { fwrite(s, 1, n, stdout); }
#endif

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 20);
}

static float rnd_float(void) {
    uint32_t r = rnd() % 1000;
    static const uint32_t sp[] = {0x80000000u, 0x00000001u, 0x807FFFFFu, 0x7F800000u, 0xFF800000u,
                                  0x7FC00000u, 0xFFC00001u, 0x00400000u, 0x7F7FFFFFu, 0x0};
    if (r < 30) return kf_from_bits(sp[r % 10]);
    if (r < 60) return kf_from_bits(rnd() << 12 ^ rnd()); /* any bit pattern */
    return (float)((int32_t)(rnd() % 2000001u) - 1000000) / 131072.0f;
}

static uint64_t hash;
static void fnv(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) hash = (hash ^ b[i]) * 0x100000001B3ull;
}

static void line(const char *name, int rc) {
    char buf[64];
    size_t n = 0;
    while (*name && n < 40) buf[n++] = *name++;
    buf[n++] = ' ';
    for (int i = 15; i >= 0; i--) buf[n++] = "0123456789abcdef"[(hash >> (4 * i)) & 15];
    buf[n++] = ' ';
    buf[n++] = rc ? 'E' : 'k';
    buf[n++] = '\n';
    out(buf, n);
}

#define MAXF 24000
static float in0[MAXF], in1[MAXF], in2[512], in3[512], outbuf[MAXF];
static int8_t w8[MAXF];
static uint8_t scratch[MAXF];

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {a, b, c, d, 0, 0}};
    return t;
}

static void fill(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = rnd_float();
}

/* encode, run through kernel_run exactly as the guest dispatcher does, hash the output */
static void run(const char *name, kd_desc *d, const void *const in[KD_MAX_OPERANDS]) {
    uint8_t desc[KD_BYTES];
    kd_encode(d, desc);
    uint64_t nb = kd_nbytes(&d->out);
    if (nb > sizeof outbuf) nb = 0;
    memset(outbuf, 0, sizeof outbuf);
    int rc = kernel_run(desc, KD_BYTES, in, outbuf, scratch, sizeof scratch);
    hash = 0xCBF29CE484222325ull;
    fnv(outbuf, (size_t)nb);
    line(name, rc);
}

int main(void) {
    const void *ops[KD_MAX_OPERANDS] = {in0, w8, in2, in3};
    for (int c = 0; c < 12; c++) { /* QLinear */
        uint32_t rows = 1 + rnd() % 4, k = c < 3 ? 1 : c < 6 ? 1025 + rnd() % 40 : 1 + rnd() % 300, n = 1 + rnd() % 9;
        fill(in0, rows * k), fill(in2, n), fill(in3, n);
        for (uint32_t i = 0; i < n; i++) in2[i] = kf_from_bits(kf_bits(in2[i]) & 0x3FFFFFFFu); /* finite scales */
        for (uint32_t i = 0; i < n * k; i++) w8[i] = (int8_t)(rnd() % 255 - 127);
        kd_desc d = {.op = OP_QLINEAR, .noperands = (uint8_t)(3 + (c & 1))};
        d.in[0] = T(KD_F32, 2, rows, k, 0, 0), d.in[1] = T(KD_I8, 2, n, k, 0, 0), d.in[2] = T(KD_F32, 1, n, 0, 0, 0);
        d.in[3] = c & 1 ? T(KD_F32, 1, n, 0, 0, 0) : T(0, 0, 0, 0, 0, 0);
        d.out = T(KD_F32, 2, rows, n, 0, 0);
        run("QLinear", &d, ops);
    }
    for (int c = 0; c < 8; c++) { /* QConv, groups, strides, pads, dilations */
        uint32_t g = 1 + rnd() % 2, ci = g * (1 + rnd() % 3), m = g * (1 + rnd() % 3), h = 1 + rnd() % 8, wd = 1 + rnd() % 8;
        uint32_t kh = 1 + rnd() % 3, kw = 1 + rnd() % 3;
        kd_desc d = {.op = OP_QCONV, .noperands = 4,
                     .ia = {(int32_t)g, 1 + (int32_t)(rnd() % 2), 1, (int32_t)(rnd() % 2), 1, 0, (int32_t)(rnd() % 2), 1, 1 + (int32_t)(rnd() % 2)}};
        int32_t oh = ((int32_t)h + d.ia[3] + d.ia[5] - d.ia[7] * ((int32_t)kh - 1) - 1), ow = ((int32_t)wd + d.ia[4] + d.ia[6] - d.ia[8] * ((int32_t)kw - 1) - 1);
        if (oh < 0 || ow < 0) continue;
        fill(in0, ci * h * wd), fill(in3, m);
        for (uint32_t i = 0; i < m; i++) in2[i] = (float)(1 + rnd() % 1000) / 4096.0f;
        for (uint32_t i = 0; i < m * (ci / g) * kh * kw; i++) w8[i] = (int8_t)(rnd() % 255 - 127);
        d.in[0] = T(KD_F32, 4, 1, ci, h, wd), d.in[1] = T(KD_I8, 4, m, ci / g, kh, kw);
        d.in[2] = d.in[3] = T(KD_F32, 1, m, 0, 0, 0);
        d.out = T(KD_F32, 4, 1, m, (uint32_t)(oh / d.ia[1] + 1), (uint32_t)(ow / d.ia[2] + 1));
        run("QConv", &d, ops);
    }
    for (int c = 0; c < 4; c++) { /* QMatMul with a broadcast batch */
        uint32_t b = 1 + rnd() % 3, m = 1 + rnd() % 5, k = c == 0 ? 1 : 1 + rnd() % 70, n = 1 + rnd() % 5;
        fill(in0, b * m * k), fill(in1, k * n);
        kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
        d.in[0] = T(KD_F32, 3, b, m, k, 0), d.in[1] = T(KD_F32, 2, k, n, 0, 0), d.out = T(KD_F32, 3, b, m, n, 0);
        const void *mm[KD_MAX_OPERANDS] = {in0, in1};
        run("QMatMul", &d, mm);
    }
    for (int c = 0; c < 10; c++) { /* Q8Linear: random blocks, scales of any bit pattern (NaN, Inf, subnormal) */
        uint32_t rows = 1 + rnd() % 3, k = 32 * (c < 2 ? 1 : 1 + rnd() % 40), n = 1 + rnd() % 8;
        fill(in0, rows * k);
        if (c == 3) memset(in0, 0, 32 * sizeof *in0); /* an all-zero block */
        for (uint32_t i = 0; c % 3 && i < rows * k; i++) /* |x| > 65504 * 127 (fp16(amax / 127) = Inf) makes */
            if ((kf_bits(in0[i]) & 0x7FFFFFFFu) > 0x4A000000u && !kf_isnan(in0[i])) in0[i] = 2.0f; /* NaN outputs */
        for (uint32_t i = 0; i < n * k / 32 * 34; i++) w8[i] = (int8_t)rnd();
        for (uint32_t i = 0; i < n * k / 32; i++) /* finite scales but a few in the even cases */
            if (c & 1 || i % 7) w8[i * 34 + 1] &= 0x3F;
        kd_desc d = {.op = OP_Q8LINEAR, .noperands = 2};
        d.in[0] = T(KD_F32, 2, rows, k, 0, 0), d.in[1] = T(KD_Q8_0, 2, n, k, 0, 0), d.out = T(KD_F32, 2, rows, n, 0, 0);
        run("Q8Linear", &d, ops);
    }
    {
        static int32_t ids[6] = {0, 5, 2, -3, 9, 6};
        for (uint32_t i = 0; i < 7 * 64 / 32 * 34; i++) w8[i] = (int8_t)rnd();
        kd_desc d = {.op = OP_EMBEDDING, .noperands = 3};
        d.in[0] = T(KD_I32, 1, 6, 0, 0, 0), d.in[1] = T(KD_Q8_0, 2, 4, 64, 0, 0), d.in[2] = T(KD_Q8_0, 2, 3, 64, 0, 0);
        d.out = T(KD_F32, 2, 6, 64, 0, 0);
        const void *eo[KD_MAX_OPERANDS] = {ids, w8, w8 + 4 * 2 * 34};
        run("Embedding/Q8_0", &d, eo);
    }
    { /* Q8_0 caches: KVAppend quantizes two rows in, Attention (grouped heads) reads them */
        static uint8_t cache[8 * 2 * 64 / 32 * 34], vcache[sizeof cache];
        for (size_t i = 0; i < sizeof cache; i++) cache[i] = (uint8_t)rnd(), vcache[i] = (uint8_t)rnd();
        for (size_t b = 0; b < sizeof cache / 34; b++) cache[b * 34 + 1] &= 0x3F, vcache[b * 34 + 1] &= 0x3F;
        fill(in0, 2 * 2 * 64), fill(in1, 2 * 4 * 64);
        static int32_t pos = 5;
        kd_desc a = {.op = OP_KVAPPEND, .noperands = 3};
        a.in[0] = a.out = T(KD_Q8_0, 3, 8, 2, 64, 0), a.in[1] = T(KD_F32, 3, 2, 2, 64, 0), a.in[2] = T(KD_I32, 1, 1, 0, 0, 0);
        const void *ao[KD_MAX_OPERANDS] = {cache, in0, &pos};
        run("KVAppend/Q8_0", &a, ao);
        memcpy(cache, outbuf, sizeof cache);
        kd_desc at = {.op = OP_ATTENTION, .noperands = 4, .fa = {0.125f}};
        at.in[0] = at.out = T(KD_F32, 3, 2, 4, 64, 0), at.in[1] = at.in[2] = T(KD_Q8_0, 3, 8, 2, 64, 0);
        at.in[3] = T(KD_I32, 1, 1, 0, 0, 0);
        const void *tao[KD_MAX_OPERANDS] = {in1, cache, vcache, &pos};
        run("Attention/Q8_0", &at, tao);
        /* the step graph's form: the caches before the step and the new rows apart */
        static float kn[2 * 2 * 64], vn[2 * 2 * 64];
        for (size_t i = 0; i < 2 * 2 * 64; i++) kn[i] = rnd_float() * 0.001f, vn[i] = rnd_float();
        kd_desc a6 = at;
        a6.noperands = 6;
        a6.in[3] = at.in[2], a6.in[2] = a6.in[4] = T(KD_F32, 3, 2, 2, 64, 0), a6.in[5] = T(KD_I32, 1, 1, 0, 0, 0);
        const void *o6[KD_MAX_OPERANDS] = {in1, cache, kn, vcache, vn, &pos};
        run("Attention/Q8_0 new rows apart", &a6, o6);
    }
    { /* Sample: greedy and drawn, top-k and top-p, NaN and Inf logits */
        static uint32_t sp[5];
        for (int c = 0; c < 7; c++) {
            for (int i = 0; i < 3 * 500; i++) /* finite logits with ties, a few NaN and -Inf; +Inf in case 6 */
                in0[i] = (float)(int)(rnd() % 4000) / 256.0f - 8.0f;
            for (int i = 0; i < 10; i++) in0[1000 + rnd() % 500] = kf_from_bits(i & 1 ? 0x7FC00000u : 0xFF800000u);
            if (c == 6) in0[1000 + rnd() % 500] = kf_from_bits(0x7F800000u);
            sp[0] = rnd(), sp[1] = rnd(), sp[2] = c ? 0x3F000000u + (uint32_t)c * 0x00400000u : 0, sp[3] = (uint32_t)c * 7 % 20;
            sp[4] = c & 1 ? 0x3F666666u : 0x3F800000u;
            kd_desc d = {.op = OP_SAMPLE, .noperands = 2};
            d.in[0] = T(KD_F32, 2, 3, 500, 0, 0), d.in[1] = T(KD_I32, 1, 5, 0, 0, 0), d.out = T(KD_I32, 1, 1, 0, 0, 0);
            const void *so[KD_MAX_OPERANDS] = {in0, sp};
            run("Sample", &d, so);
        }
    }
    static const uint16_t unary[] = {OP_RELU, OP_LEAKYRELU, OP_SIGMOID, OP_TANH, OP_CLIP, OP_SOFTMAX, OP_LOGSOFTMAX,
                                     OP_EXP, OP_LOG, OP_SQRT, OP_NEG, OP_ABS};
    for (unsigned u = 0; u < sizeof unary / sizeof *unary; u++) {
        fill(in0, 2000);
        for (int i = 0; i < 400; i++) in0[i] = (float)((int32_t)(rnd() % 200000u) - 100000) / 900.0f; /* exp's range */
        kd_desc d = {.op = unary[u], .noperands = 1}; /* each operator's own attributes only */
        if (unary[u] == OP_LEAKYRELU) d.fa[0] = 0.1f;
        if (unary[u] == OP_CLIP) d.fa[0] = -1.5f, d.fa[1] = 2.5f;
        if (unary[u] == OP_SOFTMAX || unary[u] == OP_LOGSOFTMAX) d.ia[0] = 1;
        d.in[0] = d.out = T(KD_F32, 2, 20, 100, 0, 0);
        run(kernel_op_name(unary[u]), &d, ops);
    }
    {
        fill(in0, 2 * 3 * 9 * 7);
        kd_desc mp = {.op = OP_MAXPOOL, .noperands = 1, .ia = {3, 2, 2, 1, 1, 0, 1, 1, 1, 2}};
        mp.in[0] = T(KD_F32, 4, 2, 3, 9, 7), mp.out = T(KD_F32, 4, 2, 3, 5, 6);
        run("MaxPool", &mp, ops);
        kd_desc ap = mp;
        ap.op = OP_AVGPOOL, ap.ia[8] = ap.ia[9] = 1, ap.ia[10] = 1;
        ap.out = T(KD_F32, 4, 2, 3, 5, 7);
        run("AveragePool", &ap, ops);
        kd_desc gp = {.op = OP_GLOBALAVGPOOL, .noperands = 1};
        gp.in[0] = T(KD_F32, 4, 2, 3, 9, 7), gp.out = T(KD_F32, 4, 2, 3, 1, 1);
        run("GlobalAveragePool", &gp, ops);
        fill(in1, 7);
        static const uint16_t bin[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
        for (int i = 0; i < 4; i++) {
            kd_desc b = {.op = bin[i], .noperands = 2};
            b.in[0] = b.out = T(KD_F32, 3, 6, 9, 7, 0), b.in[1] = T(KD_F32, 1, 7, 0, 0, 0);
            const void *bo[KD_MAX_OPERANDS] = {in0, in1};
            run(kernel_op_name(bin[i]), &b, bo);
        }
        kd_desc tr = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {2, 0, 1}};
        tr.in[0] = T(KD_F32, 3, 6, 9, 7, 0), tr.out = T(KD_F32, 3, 7, 6, 9, 0);
        run("Transpose", &tr, ops);
        kd_desc cc = {.op = OP_CONCAT, .noperands = 2, .ia = {1}};
        cc.in[0] = cc.in[1] = T(KD_F32, 3, 6, 9, 7, 0), cc.out = T(KD_F32, 3, 6, 18, 7, 0);
        const void *co[KD_MAX_OPERANDS] = {in0, in1};
        run("Concat", &cc, co);
        static const uint16_t red[] = {OP_REDUCESUM, OP_REDUCEMEAN, OP_REDUCEMAX};
        for (int i = 0; i < 3; i++) {
            kd_desc r = {.op = red[i], .noperands = 1, .ia = {5}}; /* axes 0 and 2 */
            r.in[0] = T(KD_F32, 3, 6, 9, 7, 0), r.out = T(KD_F32, 1, 9, 0, 0, 0);
            run(kernel_op_name(red[i]), &r, ops);
        }
        kd_desc pd = {.op = OP_PAD, .noperands = 1, .ia = {1, 0, 2, 0, 0, 0, 0, 3, 1}, .fa = {-0.5f}};
        pd.in[0] = T(KD_F32, 3, 6, 9, 7, 0), pd.out = T(KD_F32, 3, 7, 12, 10, 0);
        run("Pad", &pd, ops);
        kd_desc sl = {.op = OP_SLICE, .noperands = 1, .ia = {5, 1, 6, 0, 0, 0, -2, 3, -1}};
        sl.in[0] = T(KD_F32, 3, 6, 9, 7, 0), sl.out = T(KD_F32, 3, 3, 3, 7, 0);
        run("Slice", &sl, ops);
    }
    { /* the integer, mask and transformer operators of ONNX exports */
        int64_t *i64 = (int64_t *)(void *)in1;
        uint8_t *b8 = (uint8_t *)(void *)in2;
        fill(in0, 6 * 9 * 7);
        for (int i = 0; i < 40; i++) i64[i] = (int64_t)(rnd() % 21) - 10; /* in range, negative, out of range */
        kd_desc g = {.op = OP_GATHER, .noperands = 2, .ia = {1}};
        g.in[0] = T(KD_F32, 3, 6, 9, 7, 0), g.in[1] = T(KD_I64, 2, 4, 5, 0, 0), g.out = T(KD_F32, 4, 6, 4, 5, 7);
        const void *go[KD_MAX_OPERANDS] = {in0, in1};
        run("Gather", &g, go);
        for (int i = 0; i < 512; i++) b8[i] = (uint8_t)(rnd() % 3); /* 2: a non-canonical true */
        kd_desc w = {.op = OP_WHERE, .noperands = 3};
        w.in[0] = T(KD_BOOL, 3, 6, 1, 7, 0), w.in[1] = T(KD_F32, 0, 0, 0, 0, 0), w.in[2] = T(KD_F32, 3, 6, 9, 7, 0);
        w.out = T(KD_F32, 3, 6, 9, 7, 0);
        const void *wo[KD_MAX_OPERANDS] = {in2, in3, in0};
        run("Where", &w, wo);
        kd_desc nt = {.op = OP_NOT, .noperands = 1};
        nt.in[0] = nt.out = T(KD_BOOL, 1, 500, 0, 0, 0);
        const void *no[KD_MAX_OPERANDS] = {in2};
        run("Not", &nt, no);
        kd_desc eq = {.op = OP_EQUAL, .noperands = 2};
        eq.in[0] = T(KD_I64, 2, 8, 5, 0, 0), eq.in[1] = T(KD_I64, 1, 5, 0, 0, 0), eq.out = T(KD_BOOL, 2, 8, 5, 0, 0);
        const void *eo[KD_MAX_OPERANDS] = {in1, in1};
        run("Equal/i64", &eq, eo);
        eq.in[0] = T(KD_F32, 2, 60, 7, 0, 0), eq.in[1] = T(KD_F32, 1, 7, 0, 0, 0), eq.out = T(KD_BOOL, 2, 60, 7, 0, 0);
        const void *ef[KD_MAX_OPERANDS] = {in0, in0};
        run("Equal/f32", &eq, ef);
        kd_desc ex = {.op = OP_EXPAND, .noperands = 1};
        ex.in[0] = T(KD_I64, 2, 5, 1, 0, 0), ex.out = T(KD_I64, 3, 3, 5, 4, 0);
        run("Expand", &ex, eo);
        static const uint8_t types[] = {KD_F32, KD_I8, KD_I32, KD_I64, KD_BOOL};
        for (int i = 0; i < 40; i++) { /* one draw per statement: C leaves the order within one open */
            uint64_t hi = rnd(), mid = rnd(), lo = rnd();
            i64[i] = (int64_t)(hi << 44 ^ mid << 22 ^ lo) >> (rnd() % 64);
        }
        for (unsigned a = 0; a < 5; a++)
            for (unsigned b = 0; b < 5; b++) {
                kd_desc c = {.op = OP_CAST, .noperands = 1};
                c.in[0] = T(types[a], 1, 40, 0, 0, 0), c.out = T(types[b], 1, 40, 0, 0, 0);
                const void *co[KD_MAX_OPERANDS] = {types[a] == KD_F32 ? (const void *)in0 : (const void *)in1};
                run("Cast", &c, co);
            }
        fill(in2, 63), fill(in3, 63);
        kd_desc ln = {.op = OP_LAYERNORM, .noperands = 3, .ia = {2}, .fa = {1e-5f}};
        ln.in[0] = ln.out = T(KD_F32, 3, 6, 9, 7, 0), ln.in[1] = ln.in[2] = T(KD_F32, 1, 7, 0, 0, 0);
        for (int i = 0; i < 6 * 9 * 7; i++) in0[i] = (float)((int32_t)(rnd() % 2000001u) - 1000000) / 4096.0f;
        const void *lo[KD_MAX_OPERANDS] = {in0, in2, in3};
        run("LayerNorm", &ln, lo);
        fill(in0, 2000);
        for (int i = 0; i < 1000; i++) in0[i] = (float)((int32_t)(rnd() % 2000001u) - 1000000) / 100000.0f;
        static const uint16_t un[] = {OP_ERF, OP_GELU, OP_GELU};
        for (int i = 0; i < 3; i++) {
            kd_desc u = {.op = un[i], .noperands = 1, .ia = {i == 2}};
            u.in[0] = u.out = T(KD_F32, 2, 20, 100, 0, 0);
            run(kernel_op_name(un[i]), &u, ops);
        }
        for (int i = 0; i < 100; i++) in1[i] = i < 50 ? (float)((int32_t)(rnd() % 21) - 10) : rnd_float();
        kd_desc pw = {.op = OP_POW, .noperands = 2};
        pw.in[0] = T(KD_F32, 2, 20, 100, 0, 0), pw.in[1] = T(KD_F32, 1, 100, 0, 0, 0), pw.out = T(KD_F32, 2, 20, 100, 0, 0);
        const void *po[KD_MAX_OPERANDS] = {in0, in1};
        run("Pow", &pw, po);
    }
    /* scalar sweeps over bit patterns */
    struct { const char *name; int f; } sweeps[] = {{"sqrt", 0}, {"exp", 1}, {"expm1", 2}, {"sigmoid", 3}, {"tanh", 4},
                                                    {"quantize", 5}, {"log", 6}, {"erf", 7}, {"pow", 8}, {"i64", 9},
                                                    {"f32_to_f16", 10}};
    for (unsigned s = 0; s < sizeof sweeps / sizeof *sweeps; s++) {
        hash = 0xCBF29CE484222325ull;
        for (uint64_t u = 0; u < (1ull << 32); u += 65521) {
            float x = kf_from_bits((uint32_t)u), y;
            switch (sweeps[s].f) {
            case 0: y = kf_sqrt(x); break;
            case 1: y = kf_exp(x); break;
            case 2: y = kf_expm1(x); break;
            case 3: y = kf_sigmoid(x); break;
            case 4: y = kf_tanh(x); break;
            case 5: y = (float)kf_quantize(x, 0.0123f); break;
            case 6: y = kf_log(x); break;
            case 7: y = kf_erf(x); break;
            case 8: { /* a random exponent and an integer one, each canonical as the kernel makes it */
                float p = kf_canon(kf_pow(x, (float)(int32_t)(u % 33) - 16.0f));
                y = kf_canon(kf_pow(x, kf_from_bits((uint32_t)(u * 2654435761u))));
                fnv(&p, 4);
                break;
            }
            case 10: y = (float)kf_f32_to_f16(x); break;
            default: { /* both conversions: the bits as an int64 to float, the float to int64 */
                int64_t v = (int64_t)(u * 0x9E3779B97F4A7C15ull) >> (u % 64), back = kf_f32_to_i64(x);
                y = kf_i64_to_f32(v);
                fnv(&back, 8);
            }
            }
            fnv(&y, 4);
        }
        line(sweeps[s].name, 0);
    }
    hash = 0xCBF29CE484222325ull;
    for (uint32_t h = 0; h < 65536; h++) {
        float y = kf_f16_to_f32((uint16_t)h);
        fnv(&y, 4);
    }
    line("f16_to_f32", 0);
    return 0;
}

#ifdef __riscv
void _start(void);
void _start(void) {
    sys3(93, main(), 0, 0);
    for (;;) {
    }
}
#endif
