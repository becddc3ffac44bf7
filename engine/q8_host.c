/* q8_host.c: OP_Q8LINEAR with AVX-512 VNNI (q8_host.h). */
#include "q8_host.h"

#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fmath.h"
#include "kernel.h"
#include "q8.h"
#include "q8_simd.h"

#define Q8H_TARGET Q8S_TARGET
#define ARCH_REQ_XCOMP_PERM_ 0x1023 /* arch_prctl: ask for an extended state component */
#define XFEATURE_XTILEDATA_ 18      /* AMX tile data */
#define GROUP 16        /* blocks per vector in the decoding kernel: one per accumulator */
#define TILE 16         /* weight rows per repacked tile in the prompt kernel: one per lane */
#define TILE_TOKENS 4   /* activation rows sharing one load of a tile's block */
#define PREFETCH 2048   /* bytes ahead in each weight row that the decoding kernel asks for (every line) */
#define FEW_ROWS 4      /* up to this many activation rows stream the weights (decoding) */
#define STREAMS 4       /* weight rows a decoding thread reads side by side, a quarter of its chunk apart:
                         * with 4 streams of 2 KiB prefetches ahead one core reads the weights about 15%
                         * faster than one row at a time 8 KiB ahead (docs/llama.md, Speed) */
#define STREAM_BLOCKS 64 /* rows of fewer blocks (k < 2048) are read one at a time: side by side, the
                          * tiny model's cache-resident rows decode ~8% slower */
#define THREAD_MACS (1u << 20) /* multiply-adds below which one thread does it all */

/* The decoding kernel's lane i holds block PERM[i] of a group (the order its int32 reduction
 * leaves them in); dx and cx are stored in that order, the gather reads dw in it, and the
 * accumulators are put back in block order before the tree. */
#define PERM Q8S_PERM

struct q8h_work {
    int8_t *q;          /* an arena: the quantized activations, rows x kpad (zero past k), then: */
    float *dx, *dxp;    /* block scales, rows x nbpad: in block order, and permuted per group */
    int32_t *cx, *cxp;  /* 128 * the block's sum of q, likewise */
    size_t nq;
    uint8_t *tiles;     /* per thread: a repacked tile (nb x 512 bytes) and its scales (nb x 64) */
    size_t ntiles;
    int use_amx;        /* prompts may use AMX where the CPU and the kernel allow it */
};

int q8h_available(void) {
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
                 __builtin_cpu_supports("f16c");
    return cached;
}

q8h_work *q8h_work_new(void) {
    q8h_work *w = calloc(1, sizeof(q8h_work));
    if (w) w->use_amx = 1;
    return w;
}

void q8h_use_amx(q8h_work *w, int on) { w->use_amx = on; }

void q8h_work_free(q8h_work *w) {
    if (!w) return;
    free(w->q), free(w->tiles);
    free(w);
}

static int grow(void **p, size_t *have, size_t need) {
    if (need <= *have) return 0;
    void *n = aligned_alloc(64, (need + 63) & ~(size_t)63);
    if (!n) return -1;
    free(*p);
    *p = n, *have = need;
    return 0;
}

/* ---- activations: kq8_quantize_block lane by lane ---- */

/* One block: q[0..32), d's bits in *d; returns 128 * the sum of q (the vpdpbusd correction). */
Q8H_TARGET static inline int32_t quantize_block(const float *x, int8_t *q, uint16_t *d) {
    const __m512 hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    /* max_ps(a, m) is a > m ? a : m: the reference's scan per lane (NaN skipped); the lanes'
     * maxima are non-negative and not NaN, so their maximum does not depend on the order */
    __m512 m = _mm512_max_ps(_mm512_abs_ps(v1), _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps()));
    float amax = _mm512_reduce_max_ps(m);
    float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    *d = (uint16_t)_cvtss_sh(amax / 127.0f, 0);
    __m512 s = _mm512_set1_ps(id);
    __m512i sum = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        __m512 t = _mm512_mul_ps(h ? v1 : v0, s);
        t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q), _mm512_setzero_ps());
        t = _mm512_max_ps(_mm512_min_ps(t, hi), lo);
        __m512i i = _mm512_cvtps_epi32(_mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        sum = _mm512_add_epi32(sum, i);
        _mm_storeu_si128((__m128i *)(q + 16 * h), _mm512_cvtepi32_epi8(i));
    }
    return 128 * _mm512_reduce_add_epi32(sum);
}

Q8H_TARGET static void quantize_row(const float *x, size_t nb, int8_t *q, float *dx, int32_t *cx) {
    for (size_t b = 0; b < nb; b++, x += KD_Q8_BLOCK, q += KD_Q8_BLOCK) {
        uint16_t d;
        cx[b] = quantize_block(x, q, &d);
        dx[b] = _cvtsh_ss(d);
    }
}

Q8H_TARGET void q8h_quantize_act(const float *x, size_t n, int8_t *q, float *d) {
    for (size_t b = 0; b < n / KD_Q8_BLOCK; b++) {
        uint16_t h;
        quantize_block(x + b * KD_Q8_BLOCK, q + b * KD_Q8_BLOCK, &h);
        d[b] = _cvtsh_ss(h);
    }
}

Q8H_TARGET void q8h_quantize_blocks(const float *x, size_t nblocks, uint8_t *out) {
    for (size_t b = 0; b < nblocks; b++, x += KD_Q8_BLOCK, out += KD_Q8_BYTES) {
        uint16_t h;
        quantize_block(x, (int8_t *)(out + 2), &h);
        out[0] = (uint8_t)h, out[1] = (uint8_t)(h >> 8);
    }
}

/* ---- decoding: one weight row at a time, 16 blocks per vector ---- */

typedef struct job {
    const q8h_work *w;
    const uint8_t *wq;
    size_t rows, k, n, nb, nbpad, kpad;
    float *y;
    __mmask16 tail;     /* decoding: the lanes of a row's last group when nb is not a multiple of GROUP */
} job;

/* The lanes of a group of m blocks that hold a block (lane i holds block PERM[i]). */
static __mmask16 group_lanes(size_t m) {
    __mmask16 valid = 0;
    for (int i = 0; i < GROUP; i++) valid |= (__mmask16)((size_t)PERM[i] < m) << i;
    return valid;
}

/* One group of one weight row (its blocks g.. at wg) into acc[0..R), for R activation rows (R <=
 * FEW_ROWS, a constant after inlining: the accumulators stay in registers). A full group loads
 * without masks; the last group of a row whose block count is not a multiple of GROUP loads and adds
 * only its blocks' lanes. */
Q8H_TARGET __attribute__((always_inline)) static inline void decode_group(const job *j, const uint8_t *wg, size_t g,
                                                                          __m512 *acc, const size_t R) {
    const size_t nb = j->nb, full = nb / GROUP * GROUP;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512i gidx = _mm512_mullo_epi32(q8s_perm(), _mm512_set1_epi32(KD_Q8_BYTES));
    const int whole = g < full;
    size_t m = whole ? GROUP : nb - g; /* blocks in this group */
    for (int l = 0; l < 9; l++) /* every line of the group ahead (every other: 3-8% slower) */
        _mm_prefetch((const char *)wg + PREFETCH + 64 * l, _MM_HINT_T0);
    __m512i wv[8];
    for (size_t p = 0; p < 8; p++) {
        __m256i a, b;
        if (whole) {
            a = _mm256_loadu_si256((const __m256i *)(wg + 2 * p * KD_Q8_BYTES + 2));
            b = _mm256_loadu_si256((const __m256i *)(wg + (2 * p + 1) * KD_Q8_BYTES + 2));
        } else {
            a = _mm256_maskz_loadu_epi8(2 * p < m ? ~0u : 0, wg + 2 * p * KD_Q8_BYTES + 2);
            b = _mm256_maskz_loadu_epi8(2 * p + 1 < m ? ~0u : 0, wg + (2 * p + 1) * KD_Q8_BYTES + 2);
        }
        wv[p] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1), flip);
    }
    __mmask16 valid = whole ? (__mmask16)0xFFFF : j->tail;
    __m512i dwi = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, gidx, wg, 1);
    __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dwi));
    for (size_t r = 0; r < R; r++) {
        const int8_t *xq = j->w->q + r * j->kpad + g * KD_Q8_BLOCK;
        __m512i s[8];
        for (int p = 0; p < 8; p++)
            s[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[p], _mm512_loadu_si512(xq + 64 * p));
        __m512i isum = _mm512_sub_epi32(q8s_reduce8(s), _mm512_loadu_si512(j->w->cxp + r * j->nbpad + g));
        __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps(j->w->dxp + r * j->nbpad + g));
        acc[r] = _mm512_mask_add_ps(acc[r], valid, acc[r], _mm512_mul_ps(_mm512_cvtepi32_ps(isum), sc));
    }
}

/* output o of the R activation rows from their accumulators: lanes back in block order, the tree */
Q8H_TARGET __attribute__((always_inline)) static inline void decode_store(const job *j, size_t o, const __m512 *acc,
                                                                          const size_t R) {
    for (size_t r = 0; r < R; r++) {
        float lanes[GROUP], a[GROUP];
        _mm512_storeu_ps(lanes, acc[r]);
        for (int i = 0; i < GROUP; i++) a[PERM[i]] = lanes[i];
        j->y[r * j->n + o] = kf_canon(kq8_tree(a));
    }
}

/* outputs o + t * span for t < S (S, R constants after inlining: the accumulators stay in registers) */
Q8H_TARGET __attribute__((always_inline)) static inline void decode_outputs(const job *j, size_t o, size_t span,
                                                                            const size_t S, const size_t R) {
    const size_t rowbytes = j->nb * KD_Q8_BYTES;
    __m512 acc[STREAMS * FEW_ROWS];
    for (size_t i = 0; i < S * R; i++) acc[i] = _mm512_setzero_ps();
    for (size_t g = 0; g < j->nb; g += GROUP)
        for (size_t t = 0; t < S; t++)
            decode_group(j, j->wq + (o + t * span) * rowbytes + g * KD_Q8_BYTES, g, acc + t * R, R);
    for (size_t t = 0; t < S; t++) decode_store(j, o + t * span, acc + t * R, R);
}

/* outputs o0..o1-1 of R activation rows: rows of STREAM_BLOCKS blocks or more STREAMS at a time,
 * (o1 - o0) / STREAMS rows apart, group by group, then the rows left over (or all, for shorter
 * rows) one at a time. Each output's arithmetic is the same whichever rows it is computed beside. */
Q8H_TARGET __attribute__((always_inline)) static inline void decode_rows(const job *j, size_t o0, size_t o1,
                                                                        const size_t R) {
    const size_t span = j->nb >= STREAM_BLOCKS ? (o1 - o0) / STREAMS : 0;
    for (size_t o = o0; o < o0 + span; o++) decode_outputs(j, o, span, STREAMS, R);
    for (size_t o = o0 + STREAMS * span; o < o1; o++) decode_outputs(j, o, 0, 1, R);
}

/* outputs o0..o1-1 of every row (rows <= FEW_ROWS; none for no rows) */
Q8H_TARGET static void decode_range(const job *j, size_t o0, size_t o1) {
    switch (j->rows) {
    case 1: decode_rows(j, o0, o1, 1); break;
    case 2: decode_rows(j, o0, o1, 2); break;
    case 3: decode_rows(j, o0, o1, 3); break;
    case 4: decode_rows(j, o0, o1, 4); break;
    default: break;
    }
}

/* ---- prompts: 16 weight rows repacked so that a lane is an output row ---- */

/* kq8_tree on 16 accumulator vectors (each lane an output row), NaN canonical, stored to the
 * lanes in `rows` of y */
Q8H_TARGET static inline void store_tree(__m512 *f, __mmask16 rows, float *y) {
    for (int w = 8; w >= 1; w /= 2)
        for (int a = 0; a < w; a++) f[a] = _mm512_add_ps(f[a], f[a + w]);
    __m512 v = _mm512_mask_mov_ps(f[0], _mm512_cmp_ps_mask(f[0], f[0], _CMP_UNORD_Q),
                                  _mm512_castsi512_ps(_mm512_set1_epi32((int)KF_CANON_NAN)));
    _mm512_mask_storeu_ps(y, rows, v);
}

/* tile: for each block b, 8 vectors (group g: lane r = bytes 4g..4g+3 of row o0 + r's block b,
 * flipped by 0x80 for vpdpbusd, as they are for AMX: the 8 x 64-byte B tile of a K = 32 product),
 * then per block the 16 rows' scales; rows past n are zero (scale 0) */
Q8H_TARGET static void repack(const job *j, size_t o0, uint8_t *tile, int flip_bytes) {
    const size_t nb = j->nb, rowbytes = nb * KD_Q8_BYTES;
    size_t nr = j->n - o0 < TILE ? j->n - o0 : TILE;
    __mmask16 rows = (__mmask16)((1u << nr) - 1);
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)rowbytes));
    const __m512i flip = flip_bytes ? _mm512_set1_epi8((char)0x80) : _mm512_setzero_si512();
    __m512i *tq = (__m512i *)tile;
    float *td = (float *)(tile + nb * 512);
    const uint8_t *base = j->wq + o0 * rowbytes;
    for (size_t b = 0; b < nb; b++, base += KD_Q8_BYTES) {
        for (int g = 0; g < 8; g++)
            tq[b * 8 + (size_t)g] = _mm512_xor_si512(
                _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rows, idx, base + 2 + 4 * g, 1), flip);
        __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rows, idx, base, 1);
        _mm512_store_ps(td + b * TILE, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
    }
}

Q8H_TARGET static void prompt_tile(const job *j, size_t o0, const uint8_t *tile) {
    const size_t nb = j->nb;
    const __m512i *tq = (const __m512i *)tile;
    const float *td = (const float *)(tile + nb * 512);
    size_t nr = j->n - o0 < TILE ? j->n - o0 : TILE;
    __mmask16 rows = (__mmask16)((1u << nr) - 1);
    for (size_t t0 = 0; t0 < j->rows; t0 += TILE_TOKENS) {
        size_t rr = j->rows - t0 < TILE_TOKENS ? j->rows - t0 : TILE_TOKENS;
        __m512 f[TILE_TOKENS][KQ8_ACCS];
        for (size_t r = 0; r < rr; r++)
            for (int a = 0; a < KQ8_ACCS; a++) f[r][a] = _mm512_setzero_ps();
        for (size_t b = 0; b < nb; b++) {
            __m512i wv[8];
            for (int g = 0; g < 8; g++) wv[g] = _mm512_load_si512(tq + b * 8 + (size_t)g);
            __m512 dw = _mm512_load_ps(td + b * TILE);
            for (size_t r = 0; r < rr; r++) {
                const int32_t *xq = (const int32_t *)(j->w->q + (t0 + r) * j->kpad + b * KD_Q8_BLOCK);
                __m512i i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512();
                for (int g = 0; g < 8; g += 2) {
                    i0 = _mm512_dpbusd_epi32(i0, wv[g], _mm512_set1_epi32(xq[g]));
                    i1 = _mm512_dpbusd_epi32(i1, wv[g + 1], _mm512_set1_epi32(xq[g + 1]));
                }
                size_t at = (t0 + r) * j->nbpad + b;
                __m512i isum = _mm512_sub_epi32(_mm512_add_epi32(i0, i1), _mm512_set1_epi32(j->w->cx[at]));
                __m512 term = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(j->w->dx[at])));
                f[r][b % KQ8_ACCS] = _mm512_add_ps(f[r][b % KQ8_ACCS], term);
            }
        }
        for (size_t r = 0; r < rr; r++) store_tree(f[r], rows, j->y + (t0 + r) * j->n + o0);
    }
}

/* ---- prompts with AMX: the block sums of 16 tokens x 16 rows by one tile product ----
 * TDPBSSD multiplies signed bytes by signed bytes into int32: no flip; A = 16 tokens' block b
 * (16 x 32 bytes), B = the tile's block b (8 x 64 bytes, 4 consecutive k per row and output),
 * C = 16 x 16 exact block sums, stored and finished with the same lane-wise epilogue (lane = row). */
#define AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c,amx-tile,amx-int8")))
#define AMX_TOKENS 16
#define AMX_CHUNK (3 * AMX_TOKENS) /* tokens per pass: three independent tile products per block */

typedef struct tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

/* AMX-TILE and AMX-INT8 on the CPU and the kernel's permission to use tile data (once). */
static int amx_ready(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
        cached = (d >> 24 & 1) && (d >> 25 & 1) && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM_, XFEATURE_XTILEDATA_) == 0;
    }
    return cached;
}

/* Tile 0: B, int8 [8][16 rows x 4] (block b of the weight tile); tiles 1-3: A, int8 [16 tokens][32]
 * (block b of three groups of 16 tokens); tiles 4-6: their C, int32 [16 tokens][16 rows]. A static
 * object: GCC 12 drops stores to a local one as dead before ldtilecfg reads it. */
static const tilecfg amx_cfg = {.palette = 1,
                                .colsb = {64, KD_Q8_BLOCK, KD_Q8_BLOCK, KD_Q8_BLOCK, 64, 64, 64},
                                .rows = {KD_Q8_BLOCK / 4, AMX_TOKENS, AMX_TOKENS, AMX_TOKENS, AMX_TOKENS, AMX_TOKENS,
                                         AMX_TOKENS}};

AMX_TARGET static void amx_start(void) { _tile_loadconfig(&amx_cfg); }

AMX_TARGET static void amx_end(void) { _tile_release(); }

/* The block sums of the chunk of up to 48 tokens from t0 against the tile: for each block b, B
 * loaded once and three independent tile products (one per 16 tokens) stored into
 * c[b][48 tokens][16 rows]. */
AMX_TARGET static void amx_products(const job *j, size_t t0, const uint8_t *tile, int32_t *c) {
    const size_t nb = j->nb, kp = j->kpad;
    size_t rr = j->rows - t0 < AMX_CHUNK ? j->rows - t0 : AMX_CHUNK, groups = (rr + AMX_TOKENS - 1) / AMX_TOKENS;
    const int8_t *a = j->w->q + t0 * kp; /* rows past `rows` are zero */
    for (size_t b = 0; b < nb; b++) {
        int32_t *cb = c + b * AMX_CHUNK * 16;
        const int8_t *ab = a + b * KD_Q8_BLOCK;
        _tile_loadd(0, tile + b * 512, 64);
        _tile_zero(4);
        _tile_loadd(1, ab, (long)kp);
        _tile_dpbssd(4, 1, 0);
        if (groups > 1) {
            _tile_zero(5);
            _tile_loadd(2, ab + AMX_TOKENS * kp, (long)kp);
            _tile_dpbssd(5, 2, 0);
        }
        if (groups > 2) {
            _tile_zero(6);
            _tile_loadd(3, ab + 2 * AMX_TOKENS * kp, (long)kp);
            _tile_dpbssd(6, 3, 0);
        }
        _tile_stored(4, cb, 64);
        if (groups > 1) _tile_stored(5, cb + AMX_TOKENS * 16, 64);
        if (groups > 2) _tile_stored(6, cb + 2 * AMX_TOKENS * 16, 64);
    }
}

/* Per token of the chunk from t0 the epilogue over all blocks of its sums in c: whole groups of
 * 16 blocks, then the rest = nb mod 16 (a constant where inlined: one straight path per count).
 * The 16 accumulators are named variables, not an array: GCC keeps a 1 KiB array of vectors in
 * memory (no scalarization at that size), which made this loop twice slower. Then kq8_tree as
 * store_tree does it; outputs o0.. of the token's row of y. */
AMX_TARGET static inline __attribute__((always_inline)) void amx_epilogue_rest(const job *j, size_t o0, size_t t0,
                                                                            const float *td, const int32_t *c, int rest) {
    const size_t nb = j->nb, full = nb - (size_t)rest;
    size_t nr = j->n - o0 < TILE ? j->n - o0 : TILE, rr = j->rows - t0 < AMX_CHUNK ? j->rows - t0 : AMX_CHUNK;
    __mmask16 rows = (__mmask16)((1u << nr) - 1);
    for (size_t r = 0; r < rr; r++) {
        const float *dx = j->w->dx + (t0 + r) * j->nbpad;
        __m512 f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15;
        f0 = f1 = f2 = f3 = f4 = f5 = f6 = f7 = f8 = f9 = f10 = f11 = f12 = f13 = f14 = f15 = _mm512_setzero_ps();
#define AMX_BLOCK(i, b0)                                                                                 \
    do {                                                                                                 \
        size_t bb = (b0) + (i);                                                                          \
        __m512 sc = _mm512_mul_ps(_mm512_load_ps(td + bb * TILE), _mm512_set1_ps(dx[bb]));               \
        __m512i isum = _mm512_load_si512(c + (bb * AMX_CHUNK + r) * 16);                                 \
        f##i = _mm512_add_ps(f##i, _mm512_mul_ps(_mm512_cvtepi32_ps(isum), sc));                         \
    } while (0)
#define AMX_BLOCKS(m, b0)                                                                                \
    do {                                                                                                 \
        if ((m) > 0) AMX_BLOCK(0, b0);                                                                   \
        if ((m) > 1) AMX_BLOCK(1, b0);                                                                   \
        if ((m) > 2) AMX_BLOCK(2, b0);                                                                   \
        if ((m) > 3) AMX_BLOCK(3, b0);                                                                   \
        if ((m) > 4) AMX_BLOCK(4, b0);                                                                   \
        if ((m) > 5) AMX_BLOCK(5, b0);                                                                   \
        if ((m) > 6) AMX_BLOCK(6, b0);                                                                   \
        if ((m) > 7) AMX_BLOCK(7, b0);                                                                   \
        if ((m) > 8) AMX_BLOCK(8, b0);                                                                   \
        if ((m) > 9) AMX_BLOCK(9, b0);                                                                   \
        if ((m) > 10) AMX_BLOCK(10, b0);                                                                 \
        if ((m) > 11) AMX_BLOCK(11, b0);                                                                 \
        if ((m) > 12) AMX_BLOCK(12, b0);                                                                 \
        if ((m) > 13) AMX_BLOCK(13, b0);                                                                 \
        if ((m) > 14) AMX_BLOCK(14, b0);                                                                 \
        if ((m) > 15) AMX_BLOCK(15, b0);                                                                 \
    } while (0)
        for (size_t b0 = 0; b0 < full; b0 += KQ8_ACCS) AMX_BLOCKS(KQ8_ACCS, b0);
        AMX_BLOCKS(rest, full);
#undef AMX_BLOCKS
#undef AMX_BLOCK
        __m512 f[KQ8_ACCS] = {f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15};
        store_tree(f, rows, j->y + (t0 + r) * j->n + o0);
    }
}

AMX_TARGET static void amx_epilogue(const job *j, size_t o0, size_t t0, const float *td, const int32_t *c) {
    switch (j->nb % KQ8_ACCS) {
#define AMX_REST(m) \
    case m: amx_epilogue_rest(j, o0, t0, td, c, m); break;
        AMX_REST(0) AMX_REST(1) AMX_REST(2) AMX_REST(3) AMX_REST(4) AMX_REST(5) AMX_REST(6) AMX_REST(7)
        AMX_REST(8) AMX_REST(9) AMX_REST(10) AMX_REST(11) AMX_REST(12) AMX_REST(13) AMX_REST(14) AMX_REST(15)
#undef AMX_REST
    }
}

/* Per chunk of 48 tokens, the tile products into c, then the epilogue. (Issuing the next chunk's
 * products before this chunk's epilogue, from two buffers, gained a few % on the tiny model and
 * lost about as much on 7B-sized rows, whose two buffers outgrow the L2 cache.) */
AMX_TARGET static void prompt_tile_amx(const job *j, size_t o0, const uint8_t *tile, int32_t *c) {
    const float *td = (const float *)(tile + j->nb * 512);
    for (size_t t0 = 0; t0 < j->rows; t0 += AMX_CHUNK) {
        amx_products(j, t0, tile, c);
        amx_epilogue(j, o0, t0, td, c);
    }
}

/* Threads claim chunks of outputs (decoding: DECODE_CHUNK weight rows; prompts: one tile) from a
 * shared counter, so that a thread slowed by a busy machine simply claims fewer. */
#define DECODE_CHUNK 64

typedef struct share {
    const job *j;
    int prompt, amx;
    size_t chunks;
    _Atomic size_t next;
} share;

static void run_share(void *arg, int i, int n) {
    share *s = arg;
    const job *j = s->j;
    (void)n;
    size_t tile_bytes = j->nb * (512 + 4 * TILE + (s->amx ? AMX_CHUNK * 64 : 0)); /* + the AMX products */
    uint8_t *tile = s->prompt ? j->w->tiles + (size_t)i * tile_bytes : NULL;
    if (s->amx) amx_start();
    for (size_t c; (c = atomic_fetch_add(&s->next, 1)) < s->chunks;) {
        if (!s->prompt) {
            size_t o0 = c * DECODE_CHUNK, o1 = o0 + DECODE_CHUNK < j->n ? o0 + DECODE_CHUNK : j->n;
            decode_range(j, o0, o1);
            continue;
        }
        repack(j, c * TILE, tile, !s->amx);
        if (s->amx) prompt_tile_amx(j, c * TILE, tile, (int32_t *)(tile + j->nb * (512 + 4 * TILE)));
        else prompt_tile(j, c * TILE, tile);
    }
    if (s->amx) amx_end();
}

int q8h_linear(q8h_work *w, opml_pool *pool, const float *x, size_t rows, size_t k, const uint8_t *wq, size_t n,
               float *y) {
    size_t nb = k / KD_Q8_BLOCK, nbpad = (nb + GROUP - 1) / GROUP * GROUP, kpad = nbpad * KD_Q8_BLOCK;
    int prompt = rows > FEW_ROWS, amx = prompt && w->use_amx && amx_ready();
    size_t qrows = amx ? (rows + AMX_CHUNK - 1) / AMX_CHUNK * AMX_CHUNK : rows; /* whole A tiles */
    double macs = (double)rows * (double)n * (double)k;
    int threads = macs < THREAD_MACS ? 1 : pool_threads(pool);
    size_t scales = rows * nbpad * 4, tile_bytes = nb * (512 + 4 * TILE + (amx ? AMX_CHUNK * 64 : 0));
    /* one arena: q, then dx, dxp, cx, cxp */
    if (grow((void **)&w->q, &w->nq, qrows * kpad + 4 * scales) ||
        (prompt && grow((void **)&w->tiles, &w->ntiles, (size_t)threads * tile_bytes)))
        return -1;
    w->dx = (float *)(w->q + qrows * kpad), w->dxp = w->dx + rows * nbpad;
    w->cx = (int32_t *)(w->dxp + rows * nbpad), w->cxp = w->cx + rows * nbpad;
    memset(w->q, 0, qrows * kpad + 4 * scales); /* the padding blocks and rows: q = 0, cx = 0, dx = 0 */
    for (size_t r = 0; r < rows; r++) {
        quantize_row(x + r * k, nb, w->q + r * kpad, w->dx + r * nbpad, w->cx + r * nbpad);
        if (prompt) continue;
        for (size_t g = 0; g < nbpad; g += GROUP)
            for (int i = 0; i < GROUP; i++) {
                w->dxp[r * nbpad + g + (size_t)i] = w->dx[r * nbpad + g + (size_t)PERM[i]];
                w->cxp[r * nbpad + g + (size_t)i] = w->cx[r * nbpad + g + (size_t)PERM[i]];
            }
    }
    job j = {w, wq, rows, k, n, nb, nbpad, kpad, y, group_lanes(nb % GROUP)};
    share s = {&j, prompt, amx, prompt ? (n + TILE - 1) / TILE : (n + DECODE_CHUNK - 1) / DECODE_CHUNK, 0};
    pool_run(pool, threads, run_share, &s);
    return 0;
}
