/* backend_blas.c: the `blas` backend (backend.h). The W8A8 products run as OpenBLAS sgemm on
 * int8-valued floats: every product of two int8 values is exact in binary32, and K is cut into
 * chunks of at most BLAS_KCHUNK so that every partial sum (at most 1024 * 127 * 127 < 2^24) is an
 * exactly representable integer whatever order or FMA sgemm uses. Chunk results are converted to
 * int32 and summed: the same int32 accumulator as the reference, hence the same bits after the
 * dequantization. Quantization and dequantization follow quant.h's rules, vectorized by
 * quant_simd.h with the same bits. Weights are widened to float once per node and kept in the
 * node's cache slot. A QLinear of at most two rows (a matrix-vector product, memory-bound) reads
 * the int8 weights directly with exact int8 dot products instead. The Q8_0 product runs with
 * AVX-512 VNNI on the weights in place (q8_host.h), its output rows over a pool of threads.
 * Every other operator runs the reference kernel. */
#include "backend.h"

#include <cblas.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attention_host.h"
#include "fmath.h"
#include "fmath_x16.h"
#include "pool.h"
#include "q8_host.h"
#include "quant.h"
#include "quant_simd.h"

#define BLAS_KCHUNK 1024
#define BLAS_THREADED_MACS (1 << 24) /* multiply-adds below which one thread is faster */

typedef struct work {
    float *a, *b, *c;   /* quantized left operand, quantized right operand (QMatMul/im2col), chunk product */
    int32_t *acc, *off; /* int32 sums; the integer convolution's row offsets */
    float *sa, *sb;
    size_t na, nb, nc, nacc, noff, nsa, nsb;
    int threads, max_threads; /* OpenBLAS threads now, and as configured at start */
    opml_pool *pool;          /* the threads of the Q8_0 product */
    q8h_work *q8;
} work;

static int grow(void **p, size_t *have, size_t need, size_t elsize) {
    if (need <= *have) return 0;
    void *q = realloc(*p, need * elsize);
    if (!q) return -1;
    *p = q, *have = need;
    return 0;
}

static int blas_init(opml_backend *b) {
    work *w = calloc(1, sizeof(work));
    if (!w) return -1;
    w->threads = w->max_threads = openblas_get_num_threads();
    w->q8 = q8h_work_new();
    w->pool = pool_new(0);
    if (!w->q8 || !w->pool) {
        q8h_work_free(w->q8), pool_free(w->pool), free(w);
        return -1;
    }
    b->state = w;
    return 0;
}

static void blas_destroy(opml_backend *b) {
    work *w = b->state;
    if (w) free(w->a), free(w->b), free(w->c), free(w->acc), free(w->off), free(w->sa), free(w->sb);
    if (w) q8h_work_free(w->q8), pool_free(w->pool);
    free(w);
}

static void blas_release(opml_backend *b, void *cached) {
    (void)b;
    free(cached);
}

/* The node's int8 weights as floats, from the cache slot or converted now (into *tmp when there
 * is no slot; the caller frees *tmp). */
static const float *float_weights(const int8_t *w, size_t n, void **cache, float **tmp) {
    if (cache && *cache) return *cache;
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < n; i++) f[i] = (float)w[i];
    if (cache) *cache = f;
    else *tmp = f;
    return f;
}

/* acc[M x N] = A[M x K] (row stride lda) . B, exact, K in chunks. transb: B is [N x K] (row stride
 * ldb), else [K x N]. */
static int exact_gemm(work *w, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                      int transb, int32_t *acc) {
    if (grow((void **)&w->c, &w->nc, m * n, sizeof(float))) return -1;
    /* small products run on one thread: OpenBLAS's idle workers spin after a threaded call and
     * would slow the commitment hashing that follows (the results are the same either way) */
    int threads = (double)m * (double)n * (double)k < BLAS_THREADED_MACS ? 1 : w->max_threads;
    if (threads != w->threads) openblas_set_num_threads(w->threads = threads);
    memset(acc, 0, m * n * sizeof *acc);
    for (size_t k0 = 0; k0 < k; k0 += BLAS_KCHUNK) {
        size_t kc = k - k0 < BLAS_KCHUNK ? k - k0 : BLAS_KCHUNK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)kc, 1.0f,
                    a + k0, (int)lda, transb ? b + k0 : b + k0 * ldb, (int)ldb, 0.0f, w->c, (int)n);
        for (size_t i = 0; i < m * n; i++) acc[i] += (int32_t)w->c[i];
    }
    return 0;
}

/* A QLinear of one or two rows: memory-bound, so the int8 weights are read directly (4x fewer
 * bytes than floats) with exact int8 dot products; large ones split the outputs over two
 * threads. */
typedef struct matvec {
    const int8_t *q, *w;
    const float *sa, *sw, *bias;
    float *y;
    size_t rows, k, n, o0, o1;
} matvec;

static void matvec_range(const matvec *mv) {
    int32_t acc[64];
    for (size_t r = 0; r < mv->rows; r++)
        for (size_t o = mv->o0; o < mv->o1; o += 64) {
            size_t cnt = mv->o1 - o < 64 ? mv->o1 - o : 64;
            for (size_t i = 0; i < cnt; i++) acc[i] = qs_dot_i8(mv->q + r * mv->k, mv->w + (o + i) * mv->k, mv->k);
            qs_output_rows(acc, cnt, mv->sa[r], mv->sw + o, mv->bias ? mv->bias + o : NULL, mv->y + r * mv->n + o);
        }
}

static void *matvec_worker(void *arg) {
    matvec_range(arg);
    return NULL;
}

static int run_matvec(work *w, const kd_desc *d, const void *const in[], float *y) {
    const float *x = in[0];
    size_t k = d->in[0].dims[d->in[0].rank - 1], n = d->in[1].dims[0], rows = (size_t)(kd_numel(&d->in[0]) / k);
    if (grow((void **)&w->b, &w->nb, (rows * k + 3) / 4 + 1, sizeof(float)) || grow((void **)&w->sa, &w->nsa, rows + 1, sizeof(float)))
        return KD_ESCRATCH;
    int8_t *q = (int8_t *)w->b;
    for (size_t r = 0; r < rows; r++) {
        w->sa[r] = qs_scale(x + r * k, k);
        qs_quantize_i8(x + r * k, k, w->sa[r], q + r * k);
    }
    matvec all = {q, in[1], w->sa, in[2], d->noperands == 4 ? in[3] : NULL, y, rows, k, n, 0, n};
    if ((double)n * (double)k < BLAS_THREADED_MACS || n < 128) {
        matvec_range(&all);
        return KD_OK;
    }
    matvec half = all;
    half.o1 = all.o0 = (n / 2) & ~(size_t)63;
    pthread_t t;
    int threaded = pthread_create(&t, NULL, matvec_worker, &half) == 0;
    matvec_range(&all);
    if (threaded) pthread_join(t, NULL);
    else matvec_range(&half);
    return KD_OK;
}

static int run_qlinear(work *w, const kd_desc *d, const void *const in[], float *y, void **cache) {
    const float *x = in[0], *sw = in[2], *bias = d->noperands == 4 ? in[3] : NULL;
    size_t k = d->in[0].dims[d->in[0].rank - 1], n = d->in[1].dims[0], rows = (size_t)(kd_numel(&d->in[0]) / k);
    float *tmp = NULL;
    const float *wf = float_weights(in[1], n * k, cache, &tmp);
    if (!wf || grow((void **)&w->a, &w->na, rows * k, sizeof(float)) || grow((void **)&w->sa, &w->nsa, rows, sizeof(float)) ||
        grow((void **)&w->acc, &w->nacc, rows * n, sizeof(int32_t)) || grow((void **)&w->b, &w->nb, k, sizeof(float))) {
        free(tmp);
        return KD_ESCRATCH;
    }
    for (size_t r = 0; r < rows; r++) {
        w->sa[r] = qs_scale(x + r * k, k);
        qs_quantize(x + r * k, k, w->sa[r], w->a + r * k);
    }
    int rc = exact_gemm(w, rows, n, k, w->a, k, wf, k, 1, w->acc);
    free(tmp);
    if (rc) return KD_ESCRATCH;
    for (size_t r = 0; r < rows; r++) qs_output_rows(w->acc + r * n, n, w->sa[r], sw, bias, y + r * n);
    return KD_OK;
}

/* ---- QConv on AVX-512BW: integer products, no floats ----
 * The image is quantized to int16 and multiplied with vpmaddwd: each instruction multiplies two
 * rows' pixels pairwise with a filter's two weights and adds the pair in int32 (|sum| <=
 * 2 * 127 * 127, no saturation); the int32 accumulators are the reference's acc exactly (integer
 * addition in any order). A row is the input seen by one (ci, ky, kx) at every output pixel:
 *   - stride 1: the image is laid out zero-padded, Hp x Wp per channel; outputs are computed for
 *     Wp columns per output row (the last Wp - OW are discarded), so the row of (ci, ky, kx) is
 *     the padded plane itself from offset ci Hp Wp + ky dh Wp + kx dw: nothing is copied;
 *   - other strides: the rows are unrolled (im2col) as the float path does.
 * An odd row count is paired with a row of zeros. */
#define CONV_MB 4 /* filters per block: 8 accumulators in registers */

static int have_avx512bw(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
    return cached;
}

/* The filters' weights as int32 pairs (w[2j] low, w[2j + 1] high, 0 past K), groups of mg filters
 * padded with zero filters to mg4, from the cache slot or made now (into *tmp without a slot). */
static const int32_t *pair_weights(const int8_t *w, size_t g, size_t mg, size_t mg4, size_t k, void **cache, int32_t **tmp) {
    if (cache && *cache) return *cache;
    size_t kp = (k + 1) / 2, n = g * mg4 * kp;
    int32_t *wp = calloc(n ? n : 1, sizeof *wp);
    if (!wp) return NULL;
    for (size_t gi = 0; gi < g; gi++)
        for (size_t o = 0; o < mg; o++)
            for (size_t j = 0; j < kp; j++) {
                const int8_t *f = w + (gi * mg + o) * k;
                uint32_t lo = (uint16_t)(int16_t)f[2 * j], hi = 2 * j + 1 < k ? (uint16_t)(int16_t)f[2 * j + 1] : 0;
                wp[(gi * mg4 + o) * kp + j] = (int32_t)(lo | hi << 16);
            }
    if (cache) *cache = wp;
    else *tmp = wp;
    return wp;
}

/* acc[o * np + p] = sum over k < 2 kp of base[off[k] + p] * w_o[k], for o < mg4 (a multiple of
 * CONV_MB), p < np (a multiple of 32); every base[off[k] + p] must be readable */
__attribute__((target("avx512f,avx512bw"))) static void conv_i16(const int32_t *wp, size_t mg4, size_t kp,
                                                                 const int16_t *base, const int32_t *off, size_t np,
                                                                 int32_t *acc) {
    /* unpacklo/hi work per 128-bit lane: lo holds pixels 0-3, 8-11, 16-19, 24-27, hi the rest */
    const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i second = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (size_t p = 0; p < np; p += 32)
        for (size_t o0 = 0; o0 < mg4; o0 += CONV_MB) {
            __m512i lo[CONV_MB], hi[CONV_MB];
#pragma GCC unroll 4 /* the accumulators must be registers */
            for (int o = 0; o < CONV_MB; o++) lo[o] = hi[o] = _mm512_setzero_si512();
            for (size_t j = 0; j < kp; j++) {
                __m512i r0 = _mm512_loadu_si512(base + off[2 * j] + p), r1 = _mm512_loadu_si512(base + off[2 * j + 1] + p);
                __m512i a = _mm512_unpacklo_epi16(r0, r1), b = _mm512_unpackhi_epi16(r0, r1);
#pragma GCC unroll 4
                for (int o = 0; o < CONV_MB; o++) {
                    __m512i wv = _mm512_set1_epi32(wp[(o0 + (size_t)o) * kp + j]);
                    lo[o] = _mm512_add_epi32(lo[o], _mm512_madd_epi16(a, wv));
                    hi[o] = _mm512_add_epi32(hi[o], _mm512_madd_epi16(b, wv));
                }
            }
#pragma GCC unroll 4
            for (int o = 0; o < CONV_MB; o++) {
                int32_t *dst = acc + (o0 + (size_t)o) * np + p;
                _mm512_storeu_si512(dst, _mm512_permutex2var_epi32(lo[o], first, hi[o]));
                _mm512_storeu_si512(dst + 16, _mm512_permutex2var_epi32(lo[o], second, hi[o]));
            }
        }
}

static int run_qconv(work *w, const kd_desc *d, const void *const in[], float *y, void **cache);

static int run_qconv_int(work *w, const kd_desc *d, const void *const in[], float *y, void **cache) {
    const kd_tensor *tx = &d->in[0], *tw = &d->in[1], *ty = &d->out;
    const float *x = in[0], *sw = in[2], *bias = d->noperands == 4 ? in[3] : NULL;
    size_t nb = tx->dims[0], c = tx->dims[1], h = tx->dims[2], wd = tx->dims[3];
    size_t m = tw->dims[0], cg = tw->dims[1], kh = tw->dims[2], kw = tw->dims[3];
    size_t oh = ty->dims[2], ow = ty->dims[3], g = (size_t)d->ia[0], mg = m / g, kg = cg * kh * kw;
    size_t mg4 = (mg + CONV_MB - 1) / CONV_MB * CONV_MB, kp = (kg + 1) / 2;
    int64_t sh = d->ia[1], sv = d->ia[2], pt = d->ia[3], pl = d->ia[4], dh = d->ia[7], dv = d->ia[8];
    /* direct: the padded planes (Hp x Wp; outputs row-major with stride Wp); else im2col rows */
    size_t hp = h + (size_t)pt + (size_t)d->ia[5], wp_ = wd + (size_t)pl + (size_t)d->ia[6];
    int direct = sh == 1 && sv == 1 && hp == oh + (kh - 1) * (size_t)dh && wp_ == ow + (kw - 1) * (size_t)dv;
    if (!direct) wp_ = ow;
    size_t np = oh * wp_, np32 = (np + 31) / 32 * 32, img = c * h * wd;
    size_t plane = direct ? c * hp * wp_ : kg * np32, rows_len = plane + np32 + 64; /* a zero row after the plane */
    if (rows_len > INT32_MAX) return run_qconv(w, d, in, y, NULL); /* offsets are int32 */
    int32_t *tmp = NULL;
    const int32_t *wp = pair_weights(in[1], g, mg, mg4, kg, cache, &tmp);
    /* w->a: the quantized image (int16), w->b: the rows, w->acc: one group's sums, w->c: one
     * filter's outputs over the padded width */
    if (!wp || grow((void **)&w->a, &w->na, (img + 1) / 2 + 1, sizeof(float)) ||
        grow((void **)&w->b, &w->nb, rows_len / 2 + 1, sizeof(float)) ||
        grow((void **)&w->acc, &w->nacc, mg4 * np32, sizeof(int32_t)) || grow((void **)&w->off, &w->noff, 2 * kp, sizeof(int32_t)) ||
        grow((void **)&w->c, &w->nc, np, sizeof(float))) {
        free(tmp);
        return KD_ESCRATCH;
    }
    int16_t *q = (int16_t *)w->a, *rows = (int16_t *)w->b;
    for (size_t n = 0; n < nb; n++) {
        float sx = qs_scale(x + n * img, img);
        memset(rows, 0, rows_len * sizeof *rows);
        qs_quantize_i16(x + n * img, img, sx, q);
        if (direct) /* each input row at (ci, pt + iy, pl) of the padded planes */
            for (size_t ci = 0; ci < c; ci++)
                for (size_t iy = 0; iy < h; iy++)
                    memcpy(rows + (ci * hp + (size_t)pt + iy) * wp_ + (size_t)pl, q + (ci * h + iy) * wd, wd * sizeof *q);
        for (size_t gi = 0; gi < g; gi++) {
            int32_t *off = w->off;
            size_t k = 0;
            for (size_t ci = 0; ci < cg; ci++)
                for (size_t ky = 0; ky < kh; ky++)
                    for (size_t kx = 0; kx < kw; kx++, k++) {
                        if (direct) {
                            off[k] = (int32_t)(((gi * cg + ci) * hp + ky * (size_t)dh) * wp_ + kx * (size_t)dv);
                            continue;
                        }
                        off[k] = (int32_t)(k * np32); /* im2col, as run_qconv */
                        int16_t *col = rows + k * np32;
                        int64_t o = (int64_t)kx * dv - pl;
                        int64_t lo = o >= 0 ? 0 : (-o + sv - 1) / sv;
                        int64_t hi = (int64_t)wd - o <= 0 ? 0 : ((int64_t)wd - o + sv - 1) / sv;
                        if (hi > (int64_t)ow) hi = (int64_t)ow;
                        if (lo > hi) lo = hi;
                        for (size_t py = 0; py < oh; py++) {
                            int64_t iy = (int64_t)py * sh - pt + (int64_t)ky * dh;
                            if (iy < 0 || iy >= (int64_t)h) continue; /* rows start zeroed */
                            const int16_t *qrow = q + ((gi * cg + ci) * h + (size_t)iy) * wd;
                            for (int64_t px = lo; px < hi; px++) col[py * ow + (size_t)px] = qrow[px * sv + o];
                        }
                    }
            if (kg & 1) off[kg] = (int32_t)plane; /* the zero row */
            conv_i16(wp + gi * mg4 * kp, mg4, kp, rows, off, np32, w->acc);
            for (size_t o = 0; o < mg; o++) {
                size_t mo = gi * mg + o;
                float *yo = y + (n * m + mo) * oh * ow;
                if (!direct || wp_ == ow) { /* the sums are the output rows */
                    qs_output(w->acc + o * np32, oh * ow, sx, sw[mo], bias != NULL, bias ? bias[mo] : 0.0f, yo);
                    continue;
                }
                /* all Wp columns at once (the extra ones are discarded), then the rows moved */
                float *t = w->c;
                qs_output(w->acc + o * np32, np, sx, sw[mo], bias != NULL, bias ? bias[mo] : 0.0f, t);
                for (size_t py = 0; py < oh; py++) memcpy(yo + py * ow, t + py * wp_, ow * sizeof *yo);
            }
        }
    }
    free(tmp);
    return KD_OK;
}

void opml_im2col_f32(const kd_desc *d, const float *img, size_t gi, float *col) {
    const kd_tensor *tx = &d->in[0], *tw = &d->in[1], *ty = &d->out;
    size_t h = tx->dims[2], wd = tx->dims[3], cg = tw->dims[1], kh = tw->dims[2], kw = tw->dims[3];
    size_t oh = ty->dims[2], ow = ty->dims[3], p = oh * ow;
    int64_t sh = d->ia[1], sv = d->ia[2], pt = d->ia[3], pl = d->ia[4], dh = d->ia[7], dv = d->ia[8];
    /* the columns whose input pixel lies inside the image form one run [lo, hi) per output row */
    for (size_t ci = 0; ci < cg; ci++)
        for (size_t ky = 0; ky < kh; ky++)
            for (size_t kx = 0; kx < kw; kx++, col += p) {
                int64_t off = (int64_t)kx * dv - pl; /* ix = px * sv + off */
                int64_t lo = off >= 0 ? 0 : (-off + sv - 1) / sv;
                int64_t hi = (int64_t)wd - off <= 0 ? 0 : ((int64_t)wd - off + sv - 1) / sv;
                if (hi > (int64_t)ow) hi = (int64_t)ow;
                if (lo > hi) lo = hi;
                for (size_t py = 0; py < oh; py++) {
                    int64_t iy = (int64_t)py * sh - pt + (int64_t)ky * dh;
                    float *dst = col + py * ow;
                    if (iy < 0 || iy >= (int64_t)h) {
                        memset(dst, 0, ow * sizeof *dst);
                        continue;
                    }
                    const float *row = img + ((gi * cg + ci) * h + (size_t)iy) * wd;
                    for (int64_t px = 0; px < lo; px++) dst[px] = 0.0f;
                    if (sv == 1) memcpy(dst + lo, row + lo + off, (size_t)(hi - lo) * sizeof *dst);
                    else
                        for (int64_t px = lo; px < hi; px++) dst[px] = row[px * sv + off];
                    for (int64_t px = hi; px < (int64_t)ow; px++) dst[px] = 0.0f;
                }
            }
}

static int run_qconv(work *w, const kd_desc *d, const void *const in[], float *y, void **cache) {
    const kd_tensor *tx = &d->in[0], *tw = &d->in[1], *ty = &d->out;
    const float *x = in[0], *sw = in[2], *bias = d->noperands == 4 ? in[3] : NULL;
    size_t nb = tx->dims[0], c = tx->dims[1], h = tx->dims[2], wd = tx->dims[3];
    size_t m = tw->dims[0], cg = tw->dims[1], kh = tw->dims[2], kw = tw->dims[3];
    size_t oh = ty->dims[2], ow = ty->dims[3], g = (size_t)d->ia[0], mg = m / g, p = oh * ow, kg = cg * kh * kw;
    size_t img = c * h * wd;
    float *tmp = NULL;
    const float *wf = float_weights(in[1], m * kg, cache, &tmp);
    if (!wf || grow((void **)&w->a, &w->na, img, sizeof(float)) || grow((void **)&w->b, &w->nb, kg * p, sizeof(float)) ||
        grow((void **)&w->acc, &w->nacc, mg * p, sizeof(int32_t))) {
        free(tmp);
        return KD_ESCRATCH;
    }
    float *qf = w->a; /* the quantized image as floats, converted once */
    for (size_t n = 0; n < nb; n++) {
        float sx = qs_scale(x + n * img, img);
        qs_quantize(x + n * img, img, sx, qf);
        for (size_t gi = 0; gi < g; gi++) {
            opml_im2col_f32(d, qf, gi, w->b);
            if (exact_gemm(w, mg, p, kg, wf + gi * mg * kg, kg, w->b, p, 0, w->acc)) {
                free(tmp);
                return KD_ESCRATCH;
            }
            for (size_t o = 0; o < mg; o++) {
                size_t mo = gi * mg + o;
                qs_output(w->acc + o * p, p, sx, sw[mo], bias != NULL, bias ? bias[mo] : 0.0f, y + (n * m + mo) * p);
            }
        }
    }
    free(tmp);
    return KD_OK;
}

static int run_qmatmul(work *w, const kd_desc *d, const void *const in[], float *y) {
    const kd_tensor *ta = &d->in[0], *tb = &d->in[1], *ty = &d->out;
    size_t m = ta->dims[ta->rank - 2], k = ta->dims[ta->rank - 1], n = tb->dims[tb->rank - 1];
    if (m == 0 || n == 0) return KD_OK;
    size_t batches = (size_t)(kd_numel(ty) / (m * n));
    size_t qlen = k > m ? k : m;
    if (grow((void **)&w->a, &w->na, m * k, sizeof(float)) || grow((void **)&w->b, &w->nb, k * n, sizeof(float)) ||
        grow((void **)&w->sa, &w->nsa, m, sizeof(float)) || grow((void **)&w->sb, &w->nsb, n, sizeof(float)) ||
        grow((void **)&w->acc, &w->nacc, m * n + (qlen + 3) / 4, sizeof(int32_t)))
        return KD_ESCRATCH;
    int8_t *q = (int8_t *)(w->acc + m * n);
    for (size_t bi = 0; bi < batches; bi++) {
        const float *a = (const float *)in[0] + kd_batch_offset(ta, ty, bi);
        const float *b = (const float *)in[1] + kd_batch_offset(tb, ty, bi);
        for (size_t r = 0; r < m; r++) {
            w->sa[r] = qs_scale(a + r * k, k);
            qs_quantize(a + r * k, k, w->sa[r], w->a + r * k);
        }
        for (size_t cix = 0; cix < n; cix++) {
            w->sb[cix] = kq_scale(b + cix, k, n);
            kq_quantize(b + cix, k, n, w->sb[cix], q);
            for (size_t i = 0; i < k; i++) w->b[i * n + cix] = (float)q[i];
        }
        if (exact_gemm(w, m, n, k, w->a, k, w->b, n, 0, w->acc)) return KD_ESCRATCH;
        for (size_t r = 0; r < m; r++) qs_output_rows(w->acc + r * n, n, w->sa[r], w->sb, NULL, y + (bi * m + r) * n);
    }
    return KD_OK;
}

/* ---- element-wise operators on AVX-512, lane by lane the reference's operations ---- */

/* Relu: x > 0 ? x : +0, NaN canonical (relu.c) */
__attribute__((target("avx512f"))) static void relu_x16(const float *x, size_t n, float *y) {
    const __m512 canon = _mm512_castsi512_ps(_mm512_set1_epi32((int)KF_CANON_NAN));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m512 r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), canon));
    }
}

/* MaxPool whose every window lies inside the input (no padding): each lane is one output pixel
 * scanning its window in the reference's order (row by row), m = v > m ? v : m from -Inf, any
 * NaN giving the canonical NaN (maxpool.c) */
__attribute__((target("avx512f"))) static void maxpool_x16(const kd_desc *d, const float *x, float *y) {
    const int32_t *a = d->ia;
    size_t planes = (size_t)d->in[0].dims[0] * d->in[0].dims[1], h = d->in[0].dims[2], w = d->in[0].dims[3];
    size_t oh = d->out.dims[2], ow = d->out.dims[3];
    const __m512 canon = _mm512_castsi512_ps(_mm512_set1_epi32((int)KF_CANON_NAN)), ninf = _mm512_set1_ps(-__builtin_inff());
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t p = 0; p < planes; p++)
        for (size_t py = 0; py < oh; py++)
            for (size_t px = 0; px < ow; px += 16) {
                __mmask16 k = ow - px >= 16 ? 0xFFFF : (__mmask16)((1u << (ow - px)) - 1);
                __m512i base = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32((int)px)), _mm512_set1_epi32(a[3]));
                __m512 m = ninf;
                __mmask16 nan = 0;
                for (int32_t ky = 0; ky < a[0]; ky++) {
                    const float *row = x + (p * h + py * (size_t)a[2] + (size_t)ky * (size_t)a[8]) * w;
                    for (int32_t kx = 0; kx < a[1]; kx++) {
                        __m512 v = _mm512_mask_i32gather_ps(ninf, k, _mm512_add_epi32(base, _mm512_set1_epi32(kx * a[9])), row, 4);
                        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                        m = _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ), v);
                    }
                }
                _mm512_mask_storeu_ps(y + (p * oh + py) * ow + px, k, _mm512_mask_mov_ps(m, nan, canon));
            }
}

/* 1 when every window of the MaxPool lies inside its input */
static int maxpool_inside(const kd_desc *d) {
    const int32_t *a = d->ia;
    for (int i = 4; i < 8; i++)
        if (a[i]) return 0;
    if (d->out.dims[2] == 0 || d->out.dims[3] == 0) return 0;
    return (int64_t)(d->out.dims[2] - 1) * a[2] + (int64_t)(a[0] - 1) * a[8] < (int64_t)d->in[0].dims[2] &&
           (int64_t)(d->out.dims[3] - 1) * a[3] + (int64_t)(a[1] - 1) * a[9] < (int64_t)d->in[0].dims[3] &&
           (int64_t)d->in[0].dims[3] * d->in[0].dims[2] < INT32_MAX / 4;
}

static int blas_run(opml_backend *b, const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out,
                    void *scratch, size_t scratch_len, void **cache) {
    int r = kernel_check(d);
    if (r) return r;
    switch (d->op) { /* the cases that return nothing fall to the reference kernel */
    case OP_QLINEAR:
        if (kd_numel(&d->in[0]) / d->in[0].dims[d->in[0].rank - 1] <= 2) return run_matvec(b->state, d, in, out);
        return run_qlinear(b->state, d, in, out, cache);
    case OP_QCONV:
        if (have_avx512bw()) return run_qconv_int(b->state, d, in, out, cache);
        return run_qconv(b->state, d, in, out, cache);
    case OP_QMATMUL: return run_qmatmul(b->state, d, in, out);
    case OP_SILU:
        if (!fx16_available()) break;
        fx16_silu(in[0], (size_t)kd_numel(&d->out), out);
        return KD_OK;
    case OP_ADD:
    case OP_MUL: /* equal shapes: element i with element i */
        if (!fx16_available() || !kd_same(&d->in[0], &d->out) || !kd_same(&d->in[1], &d->out)) break;
        (d->op == OP_ADD ? fx16_add : fx16_mul)(in[0], in[1], (size_t)kd_numel(&d->out), out);
        return KD_OK;
    case OP_KVAPPEND: { /* a Q8_0 cache: the new rows quantized by q8_host (kq8's bits) */
        if (d->in[0].dtype != KD_Q8_0 || !q8h_available()) break;
        int32_t pos = *(const int32_t *)in[2];
        size_t s = d->in[0].dims[0], t = d->in[1].dims[0], vals = (size_t)d->in[0].dims[1] * d->in[0].dims[2];
        size_t row = vals / KD_Q8_BLOCK * KD_Q8_BYTES;
        if (out != in[0]) memmove(out, in[0], s * row);
        if (pos >= 0 && (size_t)pos <= s && t <= s - (size_t)pos)
            q8h_quantize_blocks(in[1], t * vals / KD_Q8_BLOCK, (uint8_t *)out + (size_t)pos * row);
        return KD_OK;
    }
    case OP_ATTENTION:
        if (!attention_host_available() || scratch_len < kernel_scratch_size(d) ||
            (d->in[1].dtype == KD_Q8_0 && d->in[1].dims[2] > 16 * KD_Q8_BLOCK))
            break;
        attention_host_run(d, in, out, scratch);
        return KD_OK;
    case OP_Q8LINEAR: {
        if (!q8h_available()) break;
        work *w = b->state;
        size_t k = d->in[0].dims[d->in[0].rank - 1];
        return q8h_linear(w->q8, w->pool, in[0], (size_t)(kd_numel(&d->in[0]) / k), k, in[1], d->in[1].dims[0], out)
                   ? KD_ESCRATCH : KD_OK;
    }
    case OP_RELU:
        if (!have_avx512bw()) break;
        relu_x16(in[0], (size_t)kd_numel(&d->out), out);
        return KD_OK;
    case OP_MAXPOOL:
        if (!have_avx512bw() || !maxpool_inside(d)) break;
        maxpool_x16(d, in[0], out);
        return KD_OK;
    default: break;
    }
    return kernel_exec(d, in, out, scratch, scratch_len);
}

/* the Q8_0 product's pool (OpenBLAS keeps its own threads for the other products) */
static void blas_set_threads(opml_backend *b, int n) {
    work *w = b->state;
    opml_pool *p = pool_new(n);
    if (!p) return;
    pool_free(w->pool);
    w->pool = p;
}

const opml_backend_ops opml_backend_blas_ops = {"blas", blas_init, blas_destroy, blas_run, blas_release, blas_set_threads};
