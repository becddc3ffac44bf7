/* test_onnx_bad.c: the converter on the inputs issue 12's fuzzing found mishandled, each composed
 * here (onnx_build.h), with the answer it must give:
 *   - a Gemm with a constant weight and no C converts (it read symbol -1 and crashed) and computes
 *     X . W within the int8 tolerance;
 *   - a tensor whose declared shape its data does not back ([2^31,1,5,5] with 200 KB of data) is
 *     refused naming the tensor and its size, before anything is allocated from the shape (it
 *     asked for ~430 GB and said "out of memory"); likewise a graph input of absurd shape;
 *   - an unsupported operator is named even where the graph's inputs are of a type the converter
 *     would refuse, and even when its first output is omitted (it said "graph input is not
 *     float32" and "node without an output");
 *   - a pool of kernel 0 names the attribute (it said "kernel error -4"); a kernel_check refusal
 *     says in words what does not fit;
 *   - a bad input divisor is refused by the writer too.
 * Runs under ASan/UBSan. */
#include "check.h"
#include "convert.h"
#include "engine.h"
#include "model.h"
#include "onnx_build.h"

#include <stdlib.h>
#include <string.h>

#define F32 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define U8 ONNX__TENSOR_PROTO__DATA_TYPE__UINT8

static char err[512];

/* Convert the builder's model (freed); 0 and *m parsed, or -1 with err. */
static int convert(ob_model *b, float divisor, opml_model *m) {
    opml_convert_opts o = {.batch = 1, .input_divisor = divisor};
    return ob_convert(b, &o, m, err, sizeof err);
}

static void expect_error(ob_model *b, const char *const *words) {
    opml_model m;
    int r = convert(b, 255.0f, &m);
    CHECK_EQ_INT(r, -1);
    if (r == 0) opml_model_free(&m);
    for (const char *const *w = words; *w; w++)
        if (!strstr(err, *w)) {
            fprintf(stderr, "error \"%s\" does not mention \"%s\"\n", err, *w);
            CHECK(0);
        }
    printf("refused: %s\n", err);
}

static void gemm_without_bias(void) {
    static const int64_t xd[2] = {2, 3}, wd[2] = {3, 4}, yd[2] = {2, 4};
    static const float w[12] = {0.5f, -1, 0.25f, 2, 1, 0.75f, -0.5f, 0.125f, -2, 1.5f, 1, -1};
    static const float x[6] = {1, 2, -1, 0.5f, -0.25f, 3};
    ob_model *b = ob_new(13);
    ob_input(b, "x", F32, 2, xd);
    ob_init_f32(b, "W", 2, wd, w);
    static const char *const in[] = {"x", "W", NULL}, *const out[] = {"y", NULL};
    ob_node(b, "Gemm", in, out);
    ob_output(b, "y", F32, 2, yd);
    opml_model m;
    CHECK_EQ_INT(convert(b, 255.0f, &m), 0);
    if (check_failures) return;
    CHECK_EQ_INT(m.n, 1);
    CHECK_EQ_INT(m.nodes[0].d.op, OP_QLINEAR);
    CHECK_EQ_INT(m.nodes[0].d.noperands, 3); /* no bias */
    opml_backend *ref = opml_backend_new("ref");
    opml_run r;
    CHECK_EQ_INT(opml_run_init(&r, &m, ref, err, sizeof err), 0);
    const void *ins[1] = {x};
    size_t len = sizeof x, nb;
    CHECK_EQ_INT(opml_run_exec(&r, ins, &len, 0, err, sizeof err), 0);
    const float *y = opml_run_output(&r, &nb);
    CHECK_EQ_INT(nb, 8 * 4);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            float want = 0;
            for (int k = 0; k < 3; k++) want += x[i * 3 + k] * w[k * 4 + j];
            CHECK(y[i * 4 + j] > want - 0.1f && y[i * 4 + j] < want + 0.1f);
        }
    opml_run_free(&r);
    opml_backend_free(ref);
    opml_model_free(&m);
}

static void declared_shape_unbacked(void) {
    /* [2^31, 1, 5, 5] float32 with 200 KB of raw data */
    static const int64_t wd[4] = {(int64_t)1 << 31, 1, 5, 5}, xd[4] = {1, 1, 5, 5};
    size_t rawlen = 200 * 1024;
    uint8_t *raw = calloc(1, rawlen);
    ob_model *b = ob_new(13);
    ob_input(b, "x", F32, 4, xd);
    ob_init_raw(b, "conv.weight", F32, 4, wd, raw, rawlen);
    free(raw);
    static const char *const in[] = {"x", "conv.weight", NULL}, *const out[] = {"y", NULL};
    ob_node(b, "Conv", in, out);
    ob_output(b, "y", F32, -1, NULL);
    static const char *const words[] = {"conv.weight", "does not match", "53687091200", NULL};
    expect_error(b, words);
    CHECK(!strstr(err, "out of memory"));

    /* the declared shape matches the data but exceeds what a tensor may hold: refused as such */
    static const int64_t big[2] = {(int64_t)1 << 20, 80};
    b = ob_new(13);
    ob_input(b, "x", F32, 2, big);
    static const char *const rin[] = {"x", NULL}, *const rout[] = {"y", NULL};
    ob_node(b, "Relu", rin, rout);
    ob_output(b, "y", F32, -1, NULL);
    static const char *const words2[] = {"'x'", "too large", NULL};
    expect_error(b, words2);
}

static void unsupported_named_first(void) {
    static const int64_t xd[2] = {2, 3};
    /* a uint8 graph input read by an unsupported operator: the operator is what is missing */
    ob_model *b = ob_new(13);
    ob_input(b, "x", U8, 2, xd);
    static const char *const in[] = {"x", NULL}, *const out[] = {"y", NULL};
    Onnx__NodeProto *n = ob_node(b, "NoSuchOperator", in, out);
    n->name = "strange";
    ob_output(b, "y", F32, 2, xd);
    static const char *const words[] = {"strange", "operator NoSuchOperator is not supported", NULL};
    expect_error(b, words);
    CHECK(!strstr(err, "float32"));

    /* an unsupported operator whose first output is omitted (LSTM's Y when only Y_h is read) */
    b = ob_new(13);
    ob_input(b, "x", F32, 2, xd);
    static const char *const out2[] = {"", "y_h", NULL};
    ob_node(b, "NoSuchRecurrence", in, out2);
    ob_output(b, "y_h", F32, -1, NULL);
    static const char *const words2[] = {"operator NoSuchRecurrence is not supported", NULL};
    expect_error(b, words2);
    CHECK(!strstr(err, "without an output"));

    /* another domain is named as such */
    b = ob_new(13);
    ob_input(b, "x", F32, 2, xd);
    n = ob_node(b, "Relu", in, out);
    n->domain = "com.microsoft";
    ob_output(b, "y", F32, 2, xd);
    static const char *const words3[] = {"domain 'com.microsoft'", NULL};
    expect_error(b, words3);
}

static void pool_kernel_zero(void) {
    static const int64_t xd[4] = {1, 1, 4, 4}, k0[2] = {0, 0};
    ob_model *b = ob_new(13);
    ob_input(b, "x", F32, 4, xd);
    static const char *const in[] = {"x", NULL}, *const out[] = {"y", NULL};
    Onnx__NodeProto *n = ob_node(b, "MaxPool", in, out);
    ob_attr_ints(b, n, "kernel_shape", 2, k0);
    ob_output(b, "y", F32, -1, NULL);
    static const char *const words[] = {"MaxPool", "kernel_shape 0", NULL};
    expect_error(b, words);
    CHECK(!strstr(err, "kernel error"));

    /* a kernel refusal that no lowering anticipates is said in words: a Transpose whose perm
     * repeats an axis */
    static const int64_t perm[2] = {0, 0};
    b = ob_new(13);
    ob_input(b, "x", F32, 2, xd);
    n = ob_node(b, "Transpose", in, out);
    ob_attr_ints(b, n, "perm", 2, perm);
    ob_output(b, "y", F32, -1, NULL);
    static const char *const words2[] = {"Transpose", "an attribute is out of range", NULL};
    expect_error(b, words2);
}

static void bad_divisor(void) {
    static const int64_t xd[2] = {1, 3};
    float bad[] = {-1.0f, __builtin_inff(), __builtin_nanf(""), 1e-38f};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ob_model *b = ob_new(13);
        ob_input(b, "x", F32, 2, xd);
        static const char *const in[] = {"x", NULL}, *const out[] = {"y", NULL};
        ob_node(b, "Relu", in, out);
        ob_output(b, "y", F32, 2, xd);
        opml_model m;
        CHECK_EQ_INT(convert(b, bad[i], &m), -1);
        CHECK(strstr(err, "input divisor") != NULL);
    }
}

int main(void) {
    gemm_without_bias();
    declared_shape_unbacked();
    unsupported_named_first();
    pool_kernel_zero();
    bad_divisor();
    return check_summary("test_onnx_bad");
}
