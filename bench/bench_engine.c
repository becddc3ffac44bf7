/* bench_engine.c: engine benchmarks (issue 3), each a ratio against a baseline run side by side
 * in the same process:
 *   1. fashion_cnn images/s in batches of 1 and 64: the deterministic W8A8 `blas` backend against
 *      a plain fp32 OpenBLAS evaluation of the same model (the `fp32` backend below: the model's
 *      weights dequantized to float once, activations never quantized, im2col + sgemm; every other
 *      operator runs exactly as in the blas backend; not deterministic across machines, only a
 *      speed baseline);
 *   2. the cost of commitments: the blas run with every tensor root and graph state against
 *      without (each figure the best of three alternating rounds);
 *   3. one decoding step through the linear layers of a LLaMA-7B-shaped block (hidden 4096, MLP
 *      11008: q, k, v, o, gate, up, down) with int8 weights, as tokens/s and the weight bandwidth
 *      it implies against this machine's measured memcpy bandwidth, and what hashing the seven
 *      outputs' tensor roots adds to that step.
 * usage: bench_engine MODELS_DIR [--quick] */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "engine.h"
#include "quant.h"
#include "tensor_root.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- the fp32 baseline backend ---- */

static float *dequant(const kd_desc *d, const void *const in[], void **cache) {
    if (*cache) return *cache;
    size_t n = d->in[1].dims[0], row = (size_t)(kd_numel(&d->in[1]) / n);
    const int8_t *w = in[1];
    const float *s = in[2];
    float *f = malloc(n * row * sizeof *f);
    for (size_t o = 0; o < n; o++)
        for (size_t i = 0; i < row; i++) f[o * row + i] = (float)w[o * row + i] * s[o];
    return *cache = f;
}

static int fp32_run(opml_backend *b, const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch,
                    size_t scratch_len, void **cache) {
    float *y = out;
    const float *x = in[0], *bias = d->noperands == 4 ? in[3] : NULL;
    if (d->op == OP_QLINEAR) {
        size_t k = d->in[0].dims[d->in[0].rank - 1], n = d->in[1].dims[0], rows = (size_t)(kd_numel(&d->in[0]) / k);
        float *w = dequant(d, in, cache);
        for (size_t r = 0; r < rows; r++)
            for (size_t o = 0; o < n; o++) y[r * n + o] = bias ? bias[o] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)k, 1.0f, x, (int)k, w, (int)k, 1.0f, y, (int)n);
        return 0;
    }
    if (d->op == OP_QCONV && d->ia[0] == 1) {
        size_t nb = d->in[0].dims[0], c = d->in[0].dims[1], h = d->in[0].dims[2], wd = d->in[0].dims[3];
        size_t m = d->in[1].dims[0], kh = d->in[1].dims[2], kw = d->in[1].dims[3], oh = d->out.dims[2], ow = d->out.dims[3];
        size_t p = oh * ow, kk = c * kh * kw;
        float *w = dequant(d, in, cache), *col = malloc(kk * p * sizeof *col);
        for (size_t n = 0; n < nb; n++) {
            const float *xi = x + n * c * h * wd;
            opml_im2col_f32(d, xi, 0, col);
            float *yi = y + n * m * p;
            for (size_t o = 0; o < m; o++)
                for (size_t i = 0; i < p; i++) yi[o * p + i] = bias ? bias[o] : 0.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)p, (int)kk, 1.0f, w, (int)kk, col, (int)p, 1.0f, yi, (int)p);
        }
        free(col);
        return 0;
    }
    /* every other operator exactly as the deterministic path runs it (the blas backend's vector
     * Relu and MaxPool, else the reference kernels): the ratio measures the products alone */
    opml_backend *blas = b->state;
    return blas->ops->run(blas, d, in, out, scratch, scratch_len, NULL);
}

static void fp32_release(opml_backend *b, void *cached) {
    (void)b;
    free(cached);
}

static const opml_backend_ops fp32_ops = {"fp32", NULL, NULL, fp32_run, fp32_release, NULL};

/* images/s of model m on backend b over `images` images */
static double throughput(const opml_model *m, opml_backend *b, int commit, int images, const float *pix) {
    opml_run r;
    char err[256];
    if (opml_run_init(&r, m, b, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    size_t need = (size_t)kd_nbytes(&m->inputs[0]);
    uint32_t batch = m->inputs[0].dims[0];
    const void *in[1] = {pix};
    opml_run_exec(&r, in, &need, commit, err, sizeof err); /* warm-up: caches, threads */
    double t0 = now();
    int done = 0;
    for (; done < images; done += (int)batch)
        if (opml_run_exec(&r, in, &need, commit, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
    double t = now() - t0;
    opml_run_free(&r);
    return done / t;
}

static void load(const char *dir, uint32_t batch, opml_model *m) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/fashion_cnn.onnx", dir);
    size_t len, blen;
    uint8_t *onnx = opml_read_file(path, &len), *bytes;
    opml_convert_opts o = {.batch = batch, .input_divisor = 255.0f};
    if (!onnx || opml_convert(onnx, len, &o, &bytes, &blen, err, sizeof err) ||
        opml_model_parse(bytes, blen, m, err, sizeof err)) {
        fprintf(stderr, "bench_engine: %s: %s\n", path, onnx ? err : "cannot read");
        exit(1);
    }
    free(onnx), free(bytes);
}

typedef struct copy_half {
    char *dst;
    const char *src;
    size_t n;
} copy_half;

static void *copy_worker(void *arg) {
    copy_half *c = arg;
    memcpy(c->dst, c->src, c->n);
    return NULL;
}

/* the machine's copy bandwidth: two threads each copying half of a buffer much larger than the
 * caches, bytes read plus bytes written per second (STREAM's convention), best of five */
static double memcpy_gbs(size_t bytes) {
    char *a = malloc(bytes), *b = malloc(bytes);
    memset(a, 1, bytes), memset(b, 2, bytes);
    double best = 1e30;
    for (int i = 0; i < 5; i++) {
        copy_half h[2] = {{b, a, bytes / 2}, {b + bytes / 2, a + bytes / 2, bytes - bytes / 2}};
        pthread_t t;
        double t0 = now();
        int threaded = pthread_create(&t, NULL, copy_worker, &h[1]) == 0;
        copy_worker(&h[0]);
        if (threaded) pthread_join(t, NULL);
        else copy_worker(&h[1]);
        double el = now() - t0;
        if (el < best) best = el;
    }
    volatile char sink = b[bytes / 2];
    (void)sink;
    free(a), free(b);
    return 2.0 * (double)bytes / best / 1e9;
}

/* one decoding step through a LLaMA-7B block's seven int8 projections */
static void llama_linear(opml_backend *b, int reps) {
    const size_t h = 4096, f = 11008;
    const size_t shapes[7][2] = {{h, h}, {h, h}, {h, h}, {h, h}, {f, h}, {f, h}, {h, f}}; /* [N, K] */
    int8_t *w[7];
    float *s[7], *x = malloc(f * 4), *y = malloc(f * 4);
    void *cache[7] = {0};
    size_t wbytes = 0;
    for (int i = 0; i < 7; i++) {
        size_t n = shapes[i][0] * shapes[i][1];
        w[i] = malloc(n);
        s[i] = malloc(shapes[i][0] * 4);
        for (size_t j = 0; j < n; j++) w[i][j] = (int8_t)((j * 2654435761u) >> 24);
        for (size_t j = 0; j < shapes[i][0]; j++) s[i][j] = 1e-3f;
        wbytes += n;
    }
    for (size_t j = 0; j < f; j++) x[j] = (float)(j % 13) - 6.0f;
    double best = 1e30;
    for (int rep = 0; rep < reps + 1; rep++) {
        double t0 = now();
        for (int i = 0; i < 7; i++) {
            kd_desc d = {.op = OP_QLINEAR, .noperands = 3};
            d.in[0] = (kd_tensor){KD_F32, 2, {1, (uint32_t)shapes[i][1]}};
            d.in[1] = (kd_tensor){KD_I8, 2, {(uint32_t)shapes[i][0], (uint32_t)shapes[i][1]}};
            d.in[2] = (kd_tensor){KD_F32, 1, {(uint32_t)shapes[i][0]}};
            d.out = (kd_tensor){KD_F32, 2, {1, (uint32_t)shapes[i][0]}};
            const void *in[KD_MAX_OPERANDS] = {x, w[i], s[i]};
            static int8_t scratch[16384];
            if (b->ops->run(b, &d, in, y, scratch, sizeof scratch, &cache[i])) exit(1);
        }
        double t = now() - t0;
        if (rep > 0 && t < best) best = t; /* rep 0 prepares the backend's weights */
    }
    /* what commitments would add: the tensor roots of the seven outputs (a step's new values) */
    double h0 = now();
    uint8_t root[32];
    for (int i = 0; i < 7; i++) merkle_tensor_root(y, shapes[i][0] * 4, root);
    double hashing = now() - h0;
    double gbs = memcpy_gbs((size_t)1 << 28);
    /* bytes the step must read: the int8 weights (one token is a matrix-vector product, which
     * every backend runs on the int8 kernel) */
    double read = (double)wbytes;
    printf("llama-7B block linear layers (%.0f M int8 weights), backend %s: %.2f tokens/s, %.2f GB/s of weights "
           "= %.0f%% of memcpy bandwidth (%.2f GB/s); their output roots would add %.2f%%\n",
           (double)wbytes / 1e6, b->ops->name, 1.0 / best, read / best / 1e9, 100.0 * read / best / 1e9 / gbs, gbs,
           100.0 * hashing / best);
    for (int i = 0; i < 7; i++) {
        free(w[i]), free(s[i]);
        if (cache[i]) b->ops->release(b, cache[i]);
    }
    free(x), free(y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_engine MODELS_DIR [--quick]\n");
        return 2;
    }
    int quick = argc > 2 && !strcmp(argv[2], "--quick");
    int images = quick ? 640 : 6400;
    opml_backend *blas = opml_backend_new("blas");
    opml_backend fp32 = {&fp32_ops, blas};
    float *pix = malloc(64 * 784 * 4);
    for (int i = 0; i < 64 * 784; i++) pix[i] = (float)((i * 7919) % 256) / 255.0f;
    uint32_t batches[2] = {1, 64};
    for (int i = 0; i < 2; i++) {
        opml_model m;
        load(argv[1], batches[i], &m);
        /* three alternating rounds, best of each: the machine is shared, so noise only slows */
        double det = 0, base = 0, com = 0;
        for (int round = 0; round < 3; round++) {
            double t = throughput(&m, blas, 0, images, pix);
            det = t > det ? t : det;
            t = throughput(&m, &fp32, 0, images, pix);
            base = t > base ? t : base;
            t = throughput(&m, blas, 1, images / 4, pix);
            com = t > com ? t : com;
        }
        printf("fashion_cnn batch %2u: deterministic W8A8 blas %.0f images/s, plain fp32 OpenBLAS %.0f images/s, "
               "ratio %.2f\n", batches[i], det, base, det / base);
        printf("fashion_cnn batch %2u: with commitments %.0f images/s, without %.0f: overhead %.1f%%\n", batches[i], com,
               det, 100.0 * (det / com - 1.0));
        /* why: every value's bytes are hashed (one Keccak-f per 32 bytes) */
        uint64_t bytes = 0;
        for (uint32_t v = 0; v < m.nin + m.n; v++) bytes += kd_nbytes(&m.values[v]);
        size_t probe = 1 << 20;
        uint8_t *buf = calloc(1, probe), root[32];
        double h0 = now();
        for (int r = 0; r < 8; r++) merkle_tensor_root(buf, probe, root);
        double rate = 8.0 * (double)probe / (now() - h0);
        free(buf);
        printf("fashion_cnn batch %2u: commitments hash %.1f KiB per image, tensor roots at %.0f MB/s: at best %.0f "
               "images/s with roots\n", batches[i], (double)bytes / batches[i] / 1024.0, rate / 1e6,
               rate / ((double)bytes / batches[i]));
        opml_model_free(&m);
    }
    free(pix);
    if (!quick) {
        opml_backend *ref = opml_backend_new("ref");
        llama_linear(blas, 3);
        llama_linear(ref, 3);
        opml_backend_free(ref);
    }
    opml_backend_free(blas);
    return 0;
}
