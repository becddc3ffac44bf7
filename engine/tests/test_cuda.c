/* Bit-exactness of the cuda backend against the reference kernels. Where no CUDA device is
 * present the backend cannot start: the test says so and exits 77, which ctest reports as
 * skipped. With a device:
 *   - every operator the GPU runs, on random shapes with the edge sizes of the issue (K = 1, 1024,
 *     1025, 4097; 1x1 images; odd channel counts; groups, strides, padding, dilation; broadcast
 *     shapes) and inputs sprinkled with -0, subnormals, +-Inf and NaN: the same bytes as ref, also
 *     when the node's weights come from the backend's cache;
 *   - every operator, GPU-run or not, inside whole graphs: both shared Fashion-MNIST models
 *     (converted here) and a LLaMA-shaped graph give the same root for every value as ref.
 * usage: test_cuda MODELS_DIR */
#include "check.h"
#include "convert.h"
#include "engine.h"
#include "llama_graph.h"
#include "special_floats.h"

#include <stdlib.h>

#define SKIP 77

static opml_backend *ref, *cuda;
static int cases;

static float *floats(size_t n, int specials) {
    float *x = malloc((n ? n : 1) * 4);
    for (size_t i = 0; i < n; i++) x[i] = sf_float(specials);
    return x;
}

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, d2, d3, 0, 0}};
    return t;
}

/* d on ref and on cuda (twice: the second from the cached weights): the same bytes. */
static void compare(const char *what, const kd_desc *d, const void *const in[KD_MAX_OPERANDS]) {
    size_t nb = (size_t)kd_nbytes(&d->out), sn = kernel_scratch_size(d);
    uint8_t *a = malloc(nb + 1), *b = malloc(nb + 1), *b2 = malloc(nb + 1), *scr = malloc(sn + 1);
    void *cache = NULL;
    CHECK_EQ_INT(kernel_check(d), 0);
    int ra = ref->ops->run(ref, d, in, a, scr, sn, NULL);
    int rb = cuda->ops->run(cuda, d, in, b, scr, sn, &cache);
    int rb2 = cuda->ops->run(cuda, d, in, b2, scr, sn, &cache);
    if (cache) cuda->ops->release(cuda, cache);
    CHECK(ra == 0 && rb == 0 && rb2 == 0);
    if (ra == 0 && rb == 0 && (memcmp(a, b, nb) || memcmp(a, b2, nb))) {
        check_failures++;
        fprintf(stderr, "%s: ref and cuda differ\n", what);
    }
    cases++;
    free(a), free(b), free(b2), free(scr);
}

static void qlinear(uint32_t rows, uint32_t k, uint32_t n, int bias) {
    float *x = floats((size_t)rows * k, 1), *sw = malloc(n * 4), *bi = floats(n, 0);
    int8_t *w = malloc((size_t)n * k);
    for (size_t i = 0; i < (size_t)n * k; i++) w[i] = (int8_t)(sf_rnd() % 255 - 127);
    for (uint32_t i = 0; i < n; i++) sw[i] = (float)(sf_rnd() % 1000 + 1) / 65536.0f;
    kd_desc d = {.op = OP_QLINEAR, .noperands = (uint8_t)(bias ? 4 : 3), .out = T(KD_F32, 2, rows, n, 0, 0),
                 .in = {T(KD_F32, 2, rows, k, 0, 0), T(KD_I8, 2, n, k, 0, 0), T(KD_F32, 1, n, 0, 0, 0), T(KD_F32, 1, n, 0, 0, 0)}};
    const void *in[KD_MAX_OPERANDS] = {x, w, sw, bi};
    char what[64];
    snprintf(what, sizeof what, "QLinear %ux%u.%u", rows, k, n);
    compare(what, &d, in);
    free(x), free(sw), free(bi), free(w);
}

static void qmatmul(uint32_t batch_a, uint32_t batch_b, uint32_t m, uint32_t k, uint32_t n) {
    uint32_t bo = batch_a > batch_b ? batch_a : batch_b;
    float *a = floats((size_t)batch_a * m * k, 1), *b = floats((size_t)batch_b * k * n, 1);
    kd_desc d = {.op = OP_QMATMUL, .noperands = 2, .out = T(KD_F32, 3, bo, m, n, 0),
                 .in = {T(KD_F32, 3, batch_a, m, k, 0), T(KD_F32, 3, batch_b, k, n, 0)}};
    const void *in[KD_MAX_OPERANDS] = {a, b};
    char what[64];
    snprintf(what, sizeof what, "QMatMul %ux%ux%u", m, k, n);
    compare(what, &d, in);
    free(a), free(b);
}

/* ia: 0 group, 1-2 strides, 3-6 pads (t l b r), 7-8 dilations */
static void qconv(uint32_t nb, uint32_t c, uint32_t h, uint32_t w, uint32_t m, uint32_t g, uint32_t kh, uint32_t kw,
                  int s, int pad, int dil, int bias) {
    uint32_t oh = (h + 2 * pad - dil * (kh - 1) - 1) / s + 1, ow = (w + 2 * pad - dil * (kw - 1) - 1) / s + 1;
    uint32_t cg = c / g;
    float *x = floats((size_t)nb * c * h * w, 1), *sw = malloc(m * 4), *bi = floats(m, 0);
    int8_t *wt = malloc((size_t)m * cg * kh * kw);
    for (size_t i = 0; i < (size_t)m * cg * kh * kw; i++) wt[i] = (int8_t)(sf_rnd() % 255 - 127);
    for (uint32_t i = 0; i < m; i++) sw[i] = (float)(sf_rnd() % 1000 + 1) / 65536.0f;
    kd_desc d = {.op = OP_QCONV, .noperands = (uint8_t)(bias ? 4 : 3), .out = T(KD_F32, 4, nb, m, oh, ow),
                 .in = {T(KD_F32, 4, nb, c, h, w), T(KD_I8, 4, m, cg, kh, kw), T(KD_F32, 1, m, 0, 0, 0), T(KD_F32, 1, m, 0, 0, 0)}};
    int32_t ia[9] = {(int32_t)g, s, s, pad, pad, pad, pad, dil, dil};
    memcpy(d.ia, ia, sizeof ia);
    const void *in[KD_MAX_OPERANDS] = {x, wt, sw, bi};
    char what[96];
    snprintf(what, sizeof what, "QConv %ux%ux%ux%u m%u g%u k%ux%u s%d p%d d%d", nb, c, h, w, m, g, kh, kw, s, pad, dil);
    compare(what, &d, in);
    free(x), free(sw), free(bi), free(wt);
}

static void elementwise(void) {
    static const unsigned unary[] = {OP_RELU, OP_LEAKYRELU, OP_CLIP};
    for (size_t u = 0; u < 3; u++) {
        size_t n = 1 + sf_rnd() % 5000;
        float *x = floats(n, 1);
        kd_desc d = {.op = (uint16_t)unary[u], .noperands = 1, .out = T(KD_F32, 1, (uint32_t)n, 0, 0, 0),
                     .in = {T(KD_F32, 1, (uint32_t)n, 0, 0, 0)}};
        d.fa[0] = unary[u] == OP_CLIP ? -1.5f : 0.01f, d.fa[1] = 2.25f;
        const void *in[KD_MAX_OPERANDS] = {x};
        compare(kernel_op_name(unary[u]), &d, in);
        free(x);
    }
    static const unsigned binary[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
    /* shapes: same, scalar, row, column, both broadcasting, different ranks */
    static const uint32_t sh[][2][3] = {{{7, 5, 3}, {7, 5, 3}}, {{7, 5, 3}, {1, 1, 1}}, {{7, 5, 3}, {1, 1, 3}},
                                        {{7, 5, 3}, {7, 5, 1}}, {{7, 1, 3}, {1, 5, 1}}, {{1, 1, 1}, {4, 1, 9}}};
    for (size_t o = 0; o < 4; o++)
        for (size_t s = 0; s < sizeof sh / sizeof *sh; s++) {
            kd_desc d = {.op = (uint16_t)binary[o], .noperands = 2,
                         .in = {T(KD_F32, 3, sh[s][0][0], sh[s][0][1], sh[s][0][2], 0),
                                T(KD_F32, 3, sh[s][1][0], sh[s][1][1], sh[s][1][2], 0)}};
            d.out = T(KD_F32, 3, 0, 0, 0, 0);
            for (int i = 0; i < 3; i++) d.out.dims[i] = sh[s][0][i] > sh[s][1][i] ? sh[s][0][i] : sh[s][1][i];
            if (s == 5) d.in[0] = T(KD_F32, 1, 1, 0, 0, 0); /* rank 1 against rank 3 */
            float *a = floats((size_t)kd_numel(&d.in[0]), 1), *b = floats((size_t)kd_numel(&d.in[1]), 1);
            const void *in[KD_MAX_OPERANDS] = {a, b};
            compare(kernel_op_name(binary[o]), &d, in);
            free(a), free(b);
        }
}

/* Every value of a whole graph: the same roots on cuda as on ref. */
static void compare_graph(const char *what, const opml_model *m, const void *const *in, const size_t *len) {
    char err[256];
    opml_run r, c;
    CHECK_EQ_INT(opml_run_init(&r, m, ref, err, sizeof err), 0);
    CHECK_EQ_INT(opml_run_init(&c, m, cuda, err, sizeof err), 0);
    CHECK_EQ_INT(opml_run_exec(&r, in, len, 1, err, sizeof err), 0);
    for (int round = 0; round < 2; round++) { /* the second run from cached weights */
        CHECK_EQ_INT(opml_run_exec(&c, in, len, 1, err, sizeof err), 0);
        size_t differ = 0;
        for (size_t v = 0; v < (size_t)m->nin + m->n; v++) differ += memcmp(r.roots[v], c.roots[v], 32) != 0;
        if (differ) fprintf(stderr, "%s: %zu values differ between ref and cuda\n", what, differ);
        CHECK_EQ_INT(differ, 0);
    }
    printf("%s: %u nodes, every value root equal\n", what, m->n);
    opml_run_free(&r), opml_run_free(&c);
}

static void shared_model(const char *dir, const char *name) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len, mlen;
    uint8_t *onnx = opml_read_file(path, &len), *file;
    CHECK(onnx != NULL);
    if (!onnx) return;
    opml_convert_opts o = {.batch = 2, .input_divisor = 255.0f};
    CHECK_EQ_INT(opml_convert(onnx, len, &o, &file, &mlen, err, sizeof err), 0);
    opml_model m;
    CHECK_EQ_INT(opml_model_parse(file, mlen, &m, err, sizeof err), 0);
    size_t in_len = (size_t)kd_nbytes(&m.inputs[0]);
    float *x = malloc(in_len);
    for (size_t i = 0; i < in_len / 4; i++) x[i] = (float)(sf_rnd() % 256) / 255.0f;
    const void *in[1] = {x};
    compare_graph(name, &m, in, &in_len);
    opml_model_free(&m);
    free(x), free(file), free(onnx);
}

static void llama(void) {
    llama_cfg c = {.vocab = 97, .dim = 96, .heads = 4, .kv_heads = 2, .head_dim = 24, .ffn = 1100, .layers = 2,
                   .max_seq = 16, .tokens = 5, .with_head = 1, .seed = 3};
    llama_graph g;
    char err[256];
    CHECK_EQ_INT(llama_build(&c, &g, err, sizeof err), 0);
    int32_t ids[5] = {1, 2, 96, 50, 0}, pos = 3;
    size_t cb = (size_t)kd_nbytes(&g.m.inputs[2]);
    float *cache = floats(cb / 4, 0);
    const void **in = calloc(g.m.nin, sizeof *in);
    size_t *len = calloc(g.m.nin, sizeof *len);
    in[0] = ids, len[0] = sizeof ids, in[1] = &pos, len[1] = 4;
    for (uint32_t i = 2; i < g.m.nin; i++) in[i] = cache, len[i] = cb;
    compare_graph("llama-shaped graph", &g.m, in, len);
    free(in), free(len), free(cache);
    llama_free(&g);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_cuda MODELS_DIR\n");
        return 2;
    }
    ref = opml_backend_new("ref");
    cuda = opml_backend_new("cuda");
    if (!cuda) {
        printf("SKIPPED: no CUDA device here (the cuda backend is built but cannot start); the cuda == ref "
               "bit-exactness test runs where a GPU is\n");
        opml_backend_free(ref);
        return SKIP;
    }
    static const uint32_t ks[] = {1, 2, 31, 1024, 1025, 4097};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        qlinear(1 + sf_rnd() % 9, ks[i], 1 + sf_rnd() % 70, (int)(i & 1));
        qmatmul(1 + (uint32_t)(i % 2) * 2, 1 + (uint32_t)(i % 3 == 0) * 2, 1 + sf_rnd() % 9, ks[i], 1 + sf_rnd() % 17);
    }
    qlinear(0, 8, 4, 1);
    qconv(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1);  /* 1x1 image, 1x1 kernel */
    qconv(2, 3, 7, 5, 5, 1, 3, 3, 1, 1, 1, 0);  /* odd channels, padding */
    qconv(1, 6, 9, 9, 4, 2, 3, 3, 2, 1, 1, 1);  /* groups, stride */
    qconv(1, 4, 11, 8, 4, 4, 3, 2, 1, 2, 2, 1); /* depthwise, dilation */
    qconv(1, 16, 5, 5, 3, 1, 5, 5, 1, 0, 1, 1); /* K = 400 */
    elementwise();
    printf("ref == cuda on %d operator cases\n", cases);
    shared_model(argv[1], "fashion_mlp.onnx");
    shared_model(argv[1], "fashion_cnn.onnx");
    llama();
    opml_backend_free(cuda);
    opml_backend_free(ref);
    return check_summary("test_cuda");
}
