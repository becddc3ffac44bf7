/* backend_blas.c: the `blas` backend (backend.h). The W8A8 products run as OpenBLAS sgemm on
 * int8-valued floats: every product of two int8 values is exact in binary32, and K is cut into
 * chunks of at most BLAS_KCHUNK so that every partial sum (at most 1024 * 127 * 127 < 2^24) is an
 * exactly representable integer whatever order or FMA sgemm uses. Chunk results are converted to
 * int32 and summed: the same int32 accumulator as the reference, hence the same bits after the
 * dequantization. Quantization and dequantization follow quant.h's rules, vectorized by
 * quant_simd.h with the same bits. Weights are widened to float once per node and kept in the
 * node's cache slot. A QLinear of at most two rows (a matrix-vector product, memory-bound) reads
 * the int8 weights directly with exact int8 dot products instead. Every other operator runs the
 * reference kernel. */
#include "backend.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "quant_simd.h"

#define BLAS_KCHUNK 1024
#define BLAS_THREADED_MACS (1 << 24) /* multiply-adds below which one thread is faster */

typedef struct work {
    float *a, *b, *c;   /* quantized left operand, quantized right operand (QMatMul/im2col), chunk product */
    int32_t *acc;
    float *sa, *sb;
    size_t na, nb, nc, nacc, nsa, nsb;
    int threads, max_threads; /* OpenBLAS threads now, and as configured at start */
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
    b->state = w;
    return 0;
}

static void blas_destroy(opml_backend *b) {
    work *w = b->state;
    if (w) free(w->a), free(w->b), free(w->c), free(w->acc), free(w->sa), free(w->sb);
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
        kq_quantize(x + r * k, k, 1, w->sa[r], q + r * k);
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

static int run_qconv(work *w, const kd_desc *d, const void *const in[], float *y, void **cache) {
    const kd_tensor *tx = &d->in[0], *tw = &d->in[1], *ty = &d->out;
    const float *x = in[0], *sw = in[2], *bias = d->noperands == 4 ? in[3] : NULL;
    size_t nb = tx->dims[0], c = tx->dims[1], h = tx->dims[2], wd = tx->dims[3];
    size_t m = tw->dims[0], cg = tw->dims[1], kh = tw->dims[2], kw = tw->dims[3];
    size_t oh = ty->dims[2], ow = ty->dims[3], g = (size_t)d->ia[0], mg = m / g, p = oh * ow, kg = cg * kh * kw;
    int64_t sh = d->ia[1], sv = d->ia[2], pt = d->ia[3], pl = d->ia[4], dh = d->ia[7], dv = d->ia[8];
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
            /* im2col: row (ci, ky, kx), column (py, px); the columns whose input pixel lies
             * inside the image form one run [lo, hi) per output row */
            float *col = w->b;
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
                            const float *qrow = qf + ((gi * cg + ci) * h + (size_t)iy) * wd;
                            for (int64_t px = 0; px < lo; px++) dst[px] = 0.0f;
                            if (sv == 1) memcpy(dst + lo, qrow + lo + off, (size_t)(hi - lo) * sizeof *dst);
                            else
                                for (int64_t px = lo; px < hi; px++) dst[px] = qrow[px * sv + off];
                            for (int64_t px = hi; px < (int64_t)ow; px++) dst[px] = 0.0f;
                        }
                    }
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

static int blas_run(opml_backend *b, const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out,
                    void *scratch, size_t scratch_len, void **cache) {
    int r = kernel_check(d);
    if (r) return r;
    switch (d->op) {
    case OP_QLINEAR:
        if (kd_numel(&d->in[0]) / d->in[0].dims[d->in[0].rank - 1] <= 2) return run_matvec(b->state, d, in, out);
        return run_qlinear(b->state, d, in, out, cache);
    case OP_QCONV: return run_qconv(b->state, d, in, out, cache);
    case OP_QMATMUL: return run_qmatmul(b->state, d, in, out);
    default: return kernel_exec(d, in, out, scratch, scratch_len);
    }
}

const opml_backend_ops opml_backend_blas_ops = {"blas", blas_init, blas_destroy, blas_run, blas_release};
