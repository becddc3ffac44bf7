/* ONNX operator conformance: the node tests of Debian's libonnx-testdata (argv[1] = its
 * data/node folder) for every operator the converter supports. Each test model is converted,
 * run on every test_data_set on `ref` and on `blas` (which must agree to the bit), and compared
 * with ONNX's expected output:
 *   - float operators: ONNX's own tolerance, |got - want| <= 1e-7 + 1e-3 * |want|;
 *   - graphs with a W8A8 product (Gemm, MatMul, Conv): |got - want| <= 0.03 * max|want| + 1e-5
 *     over the tensor, the int8 tolerance of docs/numerics.md.
 * opml models hold weights, shapes, slice bounds and clip bounds as constants
 * (docs/model-format.md), while these tests feed some of them as graph inputs: such inputs (every
 * int64 input, and the inputs of Conv, Clip, BatchNormalization and Pad past the first) are frozen
 * into initializers from the test's own data before conversion, the run-time inputs left as they
 * are. A test whose graph has several outputs (Split) is converted once per output. A test whose
 * model the converter rejects (an unsupported data type, a run-time shape, ...) is counted as not run, with the
 * converter's message. Each test model is also converted in six randomly corrupted or truncated
 * copies, which must fail cleanly or convert (never crash: this test runs under ASan/UBSan).
 * Prints ran/passed per operator; fails when a test that ran does not pass, or when an operator
 * has no passing test at all. */
#include "check.h"
#include "convert.h"
#include "onnx_import.h"
#include "engine.h"
#include "onnx.pb-c.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>

static const char *const ops[] = {"Gemm", "MatMul", "Conv", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax",
                                  "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Mul", "Sub", "Div",
                                  "Flatten", "Reshape", "Transpose", "Concat", "Clip", "Split", "Slice",
                                  "BatchNormalization", "LogSoftmax", "Exp", "Log", "Sqrt", "Neg", "Abs",
                                  "ReduceSum", "ReduceMean", "ReduceMax", "Pad", "HardSigmoid", "HardSwish"};
#define NOPS (sizeof ops / sizeof *ops)

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 20);
}

/* "test_<lowercase op>" or "test_<lowercase op>_..." */
static int op_of(const char *dir) {
    for (size_t i = 0; i < NOPS; i++) {
        char pre[64];
        /* the test folders' names for operators whose name is not simply lower-cased */
        static const char *const renamed[][2] = {{"BatchNormalization", "batchnorm"}, {"ReduceSum", "reduce_sum"},
                                                 {"ReduceMean", "reduce_mean"}, {"ReduceMax", "reduce_max"},
                                                 {"Pad", "constant_pad"}};
        const char *name = ops[i];
        for (size_t r = 0; r < sizeof renamed / sizeof *renamed; r++)
            if (!strcmp(name, renamed[r][0])) name = renamed[r][1];
        snprintf(pre, sizeof pre, "test_%s", name);
        for (char *p = pre; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        size_t n = strlen(pre);
        if (!strncmp(dir, pre, n) && (dir[n] == 0 || dir[n] == '_') && strncmp(dir, "test_reduce_sum_square", 22))
            return (int)i;
    }
    return -1;
}

static int read_tensor(const char *path, float **data, size_t *n) {
    size_t len;
    uint8_t *buf = opml_read_file(path, &len);
    if (!buf) return -1;
    int64_t dims[8];
    int rank;
    char err[256];
    int r = opml_onnx_tensor_read(buf, len, data, dims, &rank, err, sizeof err);
    free(buf);
    if (r) return -1;
    *n = 1;
    for (int i = 0; i < rank; i++) *n *= (size_t)dims[i];
    return 0;
}

/* The test's model with inputs frozen from data set 0 and only graph output `out` kept, packed
 * (malloc'd); keep[] receives the original index of each remaining input. NULL if unreadable. */
static uint8_t *freeze(const uint8_t *onnx, size_t len, const char *dir, size_t out, size_t *packed_len, uint32_t *keep,
                       uint32_t *nkeep, size_t *nouts) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, onnx);
    if (!mp || !mp->graph || mp->graph->n_input > 8) {
        if (mp) onnx__model_proto__free_unpacked(mp, NULL);
        return NULL;
    }
    Onnx__GraphProto *g = mp->graph;
    *nouts = g->n_output;
    Onnx__ValueInfoProto *ins[8], **orig_in = g->input, **orig_out = g->output;
    Onnx__TensorProto *frozen[8], **inits = malloc((g->n_initializer + 8) * sizeof *inits), **orig_init = g->initializer;
    char *orig_names[8];
    size_t nfrozen = 0, nin = 0, orig_nin = g->n_input, orig_ninit = g->n_initializer, orig_nout = g->n_output;
    if (g->n_initializer) memcpy(inits, g->initializer, g->n_initializer * sizeof *inits);
    *nkeep = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        int freezeit = vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
                       vi->type->tensor_type->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        for (size_t n = 0; n < g->n_node; n++)
            for (size_t j = 1; j < g->node[n]->n_input; j++)
                if (!strcmp(g->node[n]->input[j], vi->name) &&
                    (!strcmp(g->node[n]->op_type, "Conv") || !strcmp(g->node[n]->op_type, "Clip") ||
                     !strcmp(g->node[n]->op_type, "BatchNormalization") || !strcmp(g->node[n]->op_type, "Pad")))
                    freezeit = 1;
        char path[4200];
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%zu.pb", dir, i);
        size_t tl;
        uint8_t *tb = freezeit ? opml_read_file(path, &tl) : NULL;
        Onnx__TensorProto *t = tb ? onnx__tensor_proto__unpack(NULL, tl, tb) : NULL;
        free(tb);
        if (t) {
            orig_names[nfrozen] = t->name;
            t->name = vi->name;
            frozen[nfrozen++] = t;
            inits[g->n_initializer + nfrozen - 1] = t;
        } else {
            ins[nin++] = g->input[i];
            keep[(*nkeep)++] = (uint32_t)i;
        }
    }
    g->input = ins, g->n_input = nin, g->initializer = inits, g->n_initializer = orig_ninit + nfrozen;
    g->output = orig_out + out, g->n_output = 1;
    *packed_len = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(*packed_len + 1);
    if (buf) onnx__model_proto__pack(mp, buf);
    g->input = orig_in, g->n_input = orig_nin, g->initializer = orig_init, g->n_initializer = orig_ninit;
    g->output = orig_out, g->n_output = orig_nout;
    for (size_t i = 0; i < nfrozen; i++) {
        frozen[i]->name = orig_names[i];
        onnx__tensor_proto__free_unpacked(frozen[i], NULL);
    }
    free(inits);
    onnx__model_proto__free_unpacked(mp, NULL);
    return buf;
}

/* Run one test_data_set; returns 1 passed, 0 failed, -1 not runnable. */
static int run_set(const opml_model *m, const char *set, const uint32_t *keep, size_t out, int quant, double *worst) {
    char path[4400];
    float *in[8] = {0}, *want = NULL;
    size_t inlen[8], nwant;
    int rc = -1;
    if (m->nin > 8) return -1;
    for (uint32_t i = 0; i < m->nin; i++) {
        snprintf(path, sizeof path, "%s/input_%u.pb", set, keep[i]);
        size_t n;
        if (read_tensor(path, &in[i], &n)) goto done;
        inlen[i] = n * 4;
    }
    snprintf(path, sizeof path, "%s/output_%zu.pb", set, out);
    if (read_tensor(path, &want, &nwant)) goto done;
    opml_backend *ref = opml_backend_new("ref"), *blas = opml_backend_new("blas");
    opml_run a, b;
    char err[512];
    if (opml_run_init(&a, m, ref, err, sizeof err) || opml_run_init(&b, m, blas, err, sizeof err)) goto done;
    const void *ins[8];
    for (int i = 0; i < 8; i++) ins[i] = in[i];
    int ea = opml_run_exec(&a, ins, inlen, 1, err, sizeof err), eb = opml_run_exec(&b, ins, inlen, 1, err, sizeof err);
    size_t nb, nb2;
    const float *ga = opml_run_output(&a, &nb), *gb = opml_run_output(&b, &nb2);
    if (ea || eb) {
        fprintf(stderr, "  %s: %s\n", set, err);
        rc = 0;
    } else if (nb != nwant * 4) {
        fprintf(stderr, "  %s: %zu output values, ONNX expects %zu\n", set, nb / 4, nwant);
        rc = 0;
    } else if (memcmp(ga, gb, nb)) {
        fprintf(stderr, "  %s: ref and blas differ\n", set);
        rc = 0;
    } else {
        double amax = 0;
        for (size_t i = 0; i < nwant; i++) amax = fmax(amax, fabs(want[i]));
        rc = 1;
        for (size_t i = 0; i < nwant; i++) {
            double d = fabs((double)ga[i] - want[i]), tol = quant ? 0.03 * amax + 1e-5 : 1e-7 + 1e-3 * fabs(want[i]);
            if (isnan(want[i]) && isnan(ga[i])) continue;
            if (quant && amax > 0) *worst = fmax(*worst, d / amax);
            if (!(d <= tol)) {
                if (rc) fprintf(stderr, "  %s: element %zu = %.9g, ONNX %.9g\n", set, i, ga[i], want[i]);
                rc = 0;
            }
        }
    }
    opml_run_free(&a), opml_run_free(&b);
    opml_backend_free(ref), opml_backend_free(blas);
done:
    for (int i = 0; i < 8; i++) free(in[i]);
    free(want);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_conformance ONNX_NODE_TEST_DIR\n");
        return 2;
    }
    struct dirent **list;
    int nd = scandir(argv[1], &list, NULL, alphasort);
    if (nd < 0) {
        fprintf(stderr, "%s: cannot list (is libonnx-testdata installed?)\n", argv[1]);
        return 1;
    }
    int ran[NOPS] = {0}, passed[NOPS] = {0}, skipped[NOPS] = {0};
    double worst = 0;
    int fuzzed = 0;
    for (int d = 0; d < nd; d++) {
        int op = op_of(list[d]->d_name);
        if (op >= 0) {
            char path[4200], dir[2048];
            snprintf(dir, sizeof dir, "%s/%s", argv[1], list[d]->d_name);
            snprintf(path, sizeof path, "%s/model.onnx", dir);
            size_t len, nouts = 1;
            uint8_t *onnx = opml_read_file(path, &len);
            if (onnx && len) /* robustness: mutated copies convert or fail cleanly (ASan/UBSan watch) */
                for (int k = 0; k < 6; k++) {
                    uint8_t *bad = malloc(len), *bytes;
                    memcpy(bad, onnx, len);
                    for (int f = 0; f < 1 + k % 3; f++) bad[next() % len] ^= (uint8_t)(1 + next() % 255);
                    size_t blen;
                    char err[512];
                    opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
                    if (opml_convert_onnx(bad, k == 5 ? next() % len : len, &o, &bytes, &blen, err, sizeof err) == 0) free(bytes);
                    free(bad);
                    fuzzed++;
                }
            for (size_t out = 0; out < nouts; out++) {
                uint32_t keep[8], nkeep;
                size_t flen;
                uint8_t *frozen = onnx ? freeze(onnx, len, dir, out, &flen, keep, &nkeep, &nouts) : NULL, *bytes = NULL;
                opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
                size_t blen;
                char err[512];
                opml_model m;
                if (!frozen || opml_convert_onnx(frozen, flen, &o, &bytes, &blen, err, sizeof err) ||
                    opml_model_parse(bytes, blen, &m, err, sizeof err)) {
                    printf("  not run %-45s %s\n", list[d]->d_name, frozen ? err : "unreadable model");
                    skipped[op]++;
                    free(frozen), free(bytes);
                    break;
                }
                int quant = 0;
                for (uint32_t k = 0; k < m.n; k++)
                    quant |= m.nodes[k].d.op == OP_QLINEAR || m.nodes[k].d.op == OP_QCONV || m.nodes[k].d.op == OP_QMATMUL;
                for (int s = 0; s < 16; s++) {
                    char set[4200];
                    snprintf(set, sizeof set, "%s/test_data_set_%d", dir, s);
                    DIR *probe = opendir(set);
                    if (!probe) break;
                    closedir(probe);
                    int r = run_set(&m, set, keep, out, quant, &worst);
                    if (r < 0) {
                        printf("  not run %-45s unreadable test data\n", list[d]->d_name);
                        skipped[op]++;
                        continue;
                    }
                    ran[op]++;
                    passed[op] += r;
                    if (!r) printf("  FAILED  %s (output %zu)\n", list[d]->d_name, out);
                    CHECK(r == 1);
                }
                opml_model_free(&m);
                free(frozen), free(bytes);
            }
            free(onnx);
        }
        free(list[d]);
    }
    free(list);
    printf("%-18s %5s %6s %7s\n", "operator", "ran", "passed", "not run");
    int total_ran = 0, total_passed = 0;
    for (size_t i = 0; i < NOPS; i++) {
        printf("%-18s %5d %6d %7d\n", ops[i], ran[i], passed[i], skipped[i]);
        total_ran += ran[i], total_passed += passed[i];
        if (passed[i] == 0) fprintf(stderr, "%s: no conformance test passed\n", ops[i]);
        CHECK(passed[i] > 0);
    }
    printf("total: %d ran, %d passed; worst quantized error %.4f of max|output|; %d mutated models handled\n", total_ran,
           total_passed, worst, fuzzed);
    return check_summary("test_conformance");
}
