/* test_conformance.c: ONNX's own operator suite through the converter (issue 15, part 1): every
 * node test of Debian's libonnx-testdata (argv[1] = its data/node folder).
 *
 * Each test's model is converted as `opml convert` converts it (opml_convert, batch 1). opml models
 * hold weights, shapes and bounds as constants (docs/model-format.md) while these tests feed some of
 * them as graph inputs, so a test is tried twice: first with its non-float inputs frozen into
 * initializers from test_data_set_0 (index and shape vectors), then, if the converter refuses that,
 * with every graph input frozen (the weights of Conv, Gemm, LSTM, ..., the bounds of Clip, the
 * scales of Resize); never an input that a node reads as its first operand (the data). A test whose graph has several
 * outputs is converted once per output. What converts is run on every test_data_set on `ref` and
 * on `blas` (which must agree to the bit) and compared with ONNX's expected output, by operator
 * class (docs/numerics.md, "Tolerances against float references"):
 *   - float operators: |got - want| <= 1e-7 + 1e-3 * |want| (ONNX's own rtol/atol), equal values
 *     (infinities) and NaN against NaN accepted;
 *   - graphs with a W8A8 product (QLinear, QMatMul, QConv, QConvTranspose):
 *     |got - want| <= 0.03 * max|want| + 1e-5 over the tensor;
 *   - graphs with a recurrent net (LSTM, GRU, RNN: W8A8 products at every step, the hidden state
 *     requantized each time, so errors compound over the steps): 0.05 * max|want| + 1e-5.
 * A refused test must say why in one line that names an operator of its graph (or an attribute of
 * it): never a message about something else. Every converted test must match.
 *
 * A test belongs to the operator its folder abbreviates (test_nllloss_*, test_sce_*, ...), else to
 * the one whose name (lower case, no underscores) is the longest prefix of its folder's name after
 * "test_" among the suite's operators (test_reduce_sum_square_* is ReduceSumSquare,
 * test_softmax_axis_0_expanded is Softmax), else to its graph's first node's.
 * Prints every refusal, a table per operator (tests, matched, refused) and the totals: operators
 * of the suite, operators with at least one matched test. Fails when a converted test does not
 * match, a refusal does not name its operator, or fewer operators match than MIN_MATCHED_OPS.
 * Each model is also converted in six randomly corrupted or truncated copies, which must fail
 * cleanly or convert (this test runs under ASan/UBSan; convert.fuzz_onnx goes further). */
#include "check.h"
#include "convert.h"
#include "engine.h"
#include "onnx.pb-c.h"
#include "onnx_import.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>

/* The operators that match today; the suite test fails when fewer do (raise it with each one). */
#define MIN_MATCHED_OPS 120
#define MAX_OPS 512
#define MAX_IN 16

typedef struct op_stats {
    char name[64], key[64]; /* the operator; its lower-case name without underscores */
    int tests, matched, refused, in_suite;
    char reason[160]; /* the first refusal */
} op_stats;

static op_stats ops[MAX_OPS];
static int nops;
static char worst_test[256]; /* the W8A8 test with the largest error */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 20);
}

static int op_index(const char *name) {
    for (int i = 0; i < nops; i++)
        if (!strcmp(ops[i].name, name)) return i;
    if (nops == MAX_OPS) return -1;
    op_stats *o = &ops[nops];
    snprintf(o->name, sizeof o->name, "%s", name);
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof o->key; p++)
        if (*p != '_') o->key[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    o->key[k] = 0;
    return nops++;
}

/* Folder names that abbreviate their operator. */
static const char *const abbreviations[][2] = {
    {"test_nllloss", "NegativeLogLikelihoodLoss"}, {"test_sce", "SoftmaxCrossEntropyLoss"},
    {"test_mvn", "MeanVarianceNormalization"},     {"test_constant_pad", "Pad"},
    {"test_greater_equal", "GreaterOrEqual"},      {"test_less_equal", "LessOrEqual"},
    {"test_batchnorm", "BatchNormalization"},
};

/* The operator a test belongs to (see the top comment). */
static int test_op(const char *dir, const Onnx__GraphProto *g) {
    for (size_t i = 0; i < sizeof abbreviations / sizeof *abbreviations; i++) {
        size_t n = strlen(abbreviations[i][0]);
        if (!strncmp(dir, abbreviations[i][0], n) && (dir[n] == '_' || !dir[n])) return op_index(abbreviations[i][1]);
    }
    char key[256];
    size_t k = 0;
    for (const char *p = dir + 5; *p && k + 1 < sizeof key; p++)
        if (*p != '_') key[k++] = *p;
    key[k] = 0;
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < nops; i++) {
        size_t n = strlen(ops[i].key);
        if (ops[i].in_suite && n > best_len && !strncmp(key, ops[i].key, n)) best = i, best_len = n;
    }
    if (best < 0 && g->n_node && g->node[0]->op_type) best = op_index(g->node[0]->op_type);
    return best;
}

static uint8_t *read_model(const char *dir, size_t *len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    return opml_read_file(path, len);
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

/* 1 when graph input vi is frozen in this attempt: never an input some node reads as its first
 * operand (the data), nor a sequence or optional (not a tensor); attempt 0 freezes the non-float
 * inputs only (indices, shapes), attempt 1 every other one. */
static int frozen_in(const Onnx__GraphProto *g, const Onnx__ValueInfoProto *vi, int attempt) {
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return 0;
    for (size_t n = 0; n < g->n_node; n++)
        if (g->node[n]->n_input && !strcmp(g->node[n]->input[0], vi->name)) return 0;
    return attempt == 1 || vi->type->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

/* The test's model for one attempt, with only graph output `out` kept, packed (malloc'd); keep[]
 * receives the original index of each input left to run time. NULL if unreadable. */
static uint8_t *variant(Onnx__ModelProto *mp, const char *dir, int attempt, size_t out, size_t *packed_len,
                        uint32_t *keep, uint32_t *nkeep) {
    Onnx__GraphProto *g = mp->graph;
    if (g->n_input > MAX_IN || out >= g->n_output) return NULL;
    Onnx__ValueInfoProto *ins[MAX_IN], **orig_in = g->input, **orig_out = g->output;
    Onnx__TensorProto *frozen[MAX_IN], **inits = malloc((g->n_initializer + MAX_IN) * sizeof *inits),
                                         **orig_init = g->initializer;
    char *orig_names[MAX_IN];
    size_t nfrozen = 0, nin = 0, orig_nin = g->n_input, orig_ninit = g->n_initializer, orig_nout = g->n_output;
    if (!inits) return NULL;
    if (g->n_initializer) memcpy(inits, g->initializer, g->n_initializer * sizeof *inits);
    *nkeep = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        char path[4200];
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%zu.pb", dir, i);
        size_t tl;
        uint8_t *tb = frozen_in(g, vi, attempt) ? opml_read_file(path, &tl) : NULL;
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
    return buf;
}

/* The tolerance class of a graph: 0 float, 1 a W8A8 product, 2 a recurrent net (a W8A8 product at
 * every step, on a hidden state requantized each time). */
static int tolerance_class(unsigned op) {
    if (op == OP_LSTM || op == OP_GRU || op == OP_RNN) return 2;
    return op == OP_QLINEAR || op == OP_QCONV || op == OP_QMATMUL || op == OP_QCONVTRANSPOSE;
}

/* Test data (read as floats) in the model's dtype dt, and model values of dtype dt as floats to
 * compare: integers and bools are exact in float for the suite's small values. */
static void *floats_to(const float *x, size_t n, unsigned dt) {
    uint8_t *p = malloc(n * 8 + 8);
    for (size_t i = 0; p && i < n; i++) {
        if (dt == KD_F32) memcpy(p + 4 * i, &x[i], 4);
        else if (dt == KD_I64) ((int64_t *)(void *)p)[i] = (int64_t)x[i];
        else if (dt == KD_I32) ((int32_t *)(void *)p)[i] = (int32_t)x[i];
        else p[i] = dt == KD_BOOL ? x[i] != 0 : (uint8_t)(int8_t)x[i];
    }
    return p;
}

static float *floats_of(const void *y, size_t n, unsigned dt) {
    float *f = malloc(n * 4 + 4);
    const uint8_t *b = y;
    for (size_t i = 0; f && i < n; i++) {
        if (dt == KD_F32) memcpy(&f[i], b + 4 * i, 4);
        else if (dt == KD_I64) f[i] = (float)((const int64_t *)y)[i];
        else if (dt == KD_I32) f[i] = (float)((const int32_t *)y)[i];
        else f[i] = dt == KD_BOOL ? (float)(b[i] != 0) : (float)(int8_t)b[i];
    }
    return f;
}

/* Run one test_data_set; returns 1 matched, 0 failed, -1 not runnable. */
static int run_set(const opml_model *m, const char *set, const uint32_t *keep, size_t out, int quant, double *worst) {
    char path[4400];
    void *in[MAX_IN] = {0};
    float *want = NULL, *ga = NULL;
    size_t inlen[MAX_IN], nwant;
    int rc = -1;
    if (m->nin > MAX_IN) return -1;
    for (uint32_t i = 0; i < m->nin; i++) {
        snprintf(path, sizeof path, "%s/input_%u.pb", set, keep[i]);
        size_t n;
        float *x;
        if (read_tensor(path, &x, &n)) goto done;
        in[i] = floats_to(x, n, m->inputs[i].dtype);
        free(x);
        inlen[i] = n * kd_elsize(m->inputs[i].dtype);
    }
    snprintf(path, sizeof path, "%s/output_%zu.pb", set, out);
    if (read_tensor(path, &want, &nwant)) goto done;
    opml_backend *ref = opml_backend_new("ref"), *blas = opml_backend_new("blas");
    opml_run a, b;
    char err[512];
    if (opml_run_init(&a, m, ref, err, sizeof err) || opml_run_init(&b, m, blas, err, sizeof err)) goto done;
    const void *ins[MAX_IN];
    for (int i = 0; i < MAX_IN; i++) ins[i] = in[i];
    int ea = opml_run_exec(&a, ins, inlen, 1, err, sizeof err), eb = opml_run_exec(&b, ins, inlen, 1, err, sizeof err);
    size_t nb, nb2;
    unsigned odt = m->values[m->output_value].dtype, es = kd_elsize(odt);
    const float *ra = opml_run_output(&a, &nb), *gb = opml_run_output(&b, &nb2);
    ga = floats_of(ra, nb / es, odt);
    if (ea || eb) {
        fprintf(stderr, "  %s: %s\n", set, err);
        rc = 0;
    } else if (nb != nwant * es) {
        fprintf(stderr, "  %s: %zu output values, ONNX expects %zu\n", set, nb / es, nwant);
        rc = 0;
    } else if (memcmp(ra, gb, nb)) {
        fprintf(stderr, "  %s: ref and blas differ\n", set);
        rc = 0;
    } else {
        int ints = odt != KD_F32; /* integers, bools: compared exactly */
        double amax = 0;
        for (size_t i = 0; i < nwant; i++)
            if (isfinite(want[i])) amax = fmax(amax, fabs(want[i]));
        rc = 1;
        for (size_t i = 0; i < nwant; i++) {
            double g = ga[i];
            if ((isnan(want[i]) && isnan(g)) || g == want[i]) continue;
            double d = ints ? INFINITY : fabs(g - want[i]);
            double tol = quant ? (quant == 2 ? 0.05 : 0.03) * amax + 1e-5 : 1e-7 + 1e-3 * fabs(want[i]);
            if (quant && amax > 0) *worst = fmax(*worst, d / amax);
            if (!(d <= tol)) {
                if (rc) fprintf(stderr, "  %s: element %zu = %.9g, ONNX %.9g\n", set, i, g, want[i]);
                rc = 0;
            }
        }
    }
    opml_run_free(&a), opml_run_free(&b);
    opml_backend_free(ref), opml_backend_free(blas);
done:
    for (int i = 0; i < MAX_IN; i++) free(in[i]);
    free(want), free(ga);
    return rc;
}

/* A refusal names an operator of the graph (or its attribute), in one line. */
static int names_its_operator(const char *err, const Onnx__GraphProto *g) {
    if (!err[0] || strchr(err, '\n')) return 0;
    for (size_t n = 0; n < g->n_node; n++)
        if (g->node[n]->op_type && strstr(err, g->node[n]->op_type)) return 1;
    return 0;
}

/* Corrupted and truncated copies convert or fail cleanly (ASan/UBSan watch). */
static int mutate(const uint8_t *onnx, size_t len) {
    for (int k = 0; k < 6 && len; k++) {
        uint8_t *bad = malloc(len), *bytes;
        memcpy(bad, onnx, len);
        for (int f = 0; f < 1 + k % 3; f++) bad[next() % len] ^= (uint8_t)(1 + next() % 255);
        size_t blen;
        char err[512];
        opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
        if (opml_convert(bad, k == 5 ? next() % len : len, &o, &bytes, &blen, err, sizeof err) == 0) free(bytes);
        free(bad);
    }
    return 6;
}

/* Convert output `out` of the test (both attempts). 0 with *m parsed and keep[], or -1 with err. */
static int convert_test(Onnx__ModelProto *mp, const char *dir, size_t out, opml_model *m, uint32_t *keep, char *err,
                        size_t errlen) {
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc; attempt++) {
        size_t flen, blen;
        uint32_t nkeep;
        uint8_t *frozen = variant(mp, dir, attempt, out, &flen, keep, &nkeep), *bytes = NULL;
        opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
        if (!frozen) snprintf(err, errlen, "unreadable model or test data");
        else if (!opml_convert(frozen, flen, &o, &bytes, &blen, err, errlen))
            rc = opml_model_parse(bytes, blen, m, err, errlen);
        free(frozen), free(bytes);
    }
    return rc;
}

/* One test folder: every output converted, run and compared. */
static void run_test(const char *root, const char *name, double *worst, int *fuzzed) {
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    size_t len;
    uint8_t *onnx = read_model(dir, &len);
    Onnx__ModelProto *mp = onnx ? onnx__model_proto__unpack(NULL, len, onnx) : NULL;
    if (!mp || !mp->graph) {
        printf("  unreadable %s\n", name);
        CHECK(0);
        goto done;
    }
    *fuzzed += mutate(onnx, len);
    int op = test_op(name, mp->graph);
    if (op < 0) goto done;
    ops[op].tests++;
    for (size_t out = 0; out < mp->graph->n_output; out++) {
        uint32_t keep[MAX_IN];
        char err[512];
        opml_model m;
        if (convert_test(mp, dir, out, &m, keep, err, sizeof err)) {
            printf("  refused %-50s %s\n", name, err);
            if (!ops[op].refused++) snprintf(ops[op].reason, sizeof ops[op].reason, "%.159s", err);
            if (!names_its_operator(err, mp->graph)) fprintf(stderr, "%s: the refusal names no operator of the graph\n", name);
            CHECK(names_its_operator(err, mp->graph));
            goto done;
        }
        int quant = 0, ok = 1, sets = 0;
        double test_worst = 0;
        for (uint32_t k = 0; k < m.n; k++)
            if (tolerance_class(m.nodes[k].d.op) > quant) quant = tolerance_class(m.nodes[k].d.op);
        for (int s = 0; s < 16; s++) {
            char set[4200];
            snprintf(set, sizeof set, "%s/test_data_set_%d", dir, s);
            DIR *probe = opendir(set);
            if (!probe) break;
            closedir(probe);
            int r = run_set(&m, set, keep, out, quant, &test_worst);
            sets++;
            if (r != 1) printf("  FAILED  %s (output %zu, %s)\n", name, out, set);
            CHECK(r == 1);
            ok &= r == 1;
        }
        opml_model_free(&m);
        if (quant) printf("  W8A8    %-50s output %zu: worst error %.4f of max|output|\n", name, out, test_worst);
        if (test_worst > *worst) *worst = test_worst, snprintf(worst_test, sizeof worst_test, "%s", name);
        if (!ok || !sets) goto done;
    }
    ops[op].matched++;
done:
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    free(onnx);
}

/* The suite's operators: every op_type of every test model. */
static void collect_ops(const char *root, struct dirent **list, int nd) {
    for (int d = 0; d < nd; d++) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s/%s", root, list[d]->d_name);
        size_t len;
        uint8_t *onnx = strncmp(list[d]->d_name, "test_", 5) ? NULL : read_model(dir, &len);
        Onnx__ModelProto *mp = onnx ? onnx__model_proto__unpack(NULL, len, onnx) : NULL;
        for (size_t n = 0; mp && mp->graph && n < mp->graph->n_node; n++) {
            int i = mp->graph->node[n]->op_type ? op_index(mp->graph->node[n]->op_type) : -1;
            if (i >= 0) ops[i].in_suite = 1;
        }
        if (mp) onnx__model_proto__free_unpacked(mp, NULL);
        free(onnx);
    }
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
    collect_ops(argv[1], list, nd);
    double worst = 0;
    int fuzzed = 0, ntests = 0;
    for (int d = 0; d < nd; d++) {
        if (!strncmp(list[d]->d_name, "test_", 5)) run_test(argv[1], list[d]->d_name, &worst, &fuzzed), ntests++;
        free(list[d]);
    }
    free(list);
    printf("%-28s %5s %7s %7s  %s\n", "operator", "tests", "matched", "refused", "first refusal");
    int matched_ops = 0, suite_ops = 0, tests_matched = 0, tests_refused = 0;
    for (int i = 0; i < nops; i++) {
        printf("%-28s %5d %7d %7d  %s\n", ops[i].name, ops[i].tests, ops[i].matched, ops[i].refused, ops[i].reason);
        matched_ops += ops[i].matched > 0;
        suite_ops += ops[i].in_suite;
        tests_matched += ops[i].matched, tests_refused += ops[i].refused;
    }
    printf("suite: %d tests, %d operators; converted and matched: %d tests, %d operators; refused: %d tests\n", ntests,
           suite_ops, tests_matched, matched_ops, tests_refused);
    printf("worst W8A8 error %.4f of max|output| (%s); %d mutated models handled\n", worst, worst_test, fuzzed);
    CHECK(matched_ops >= MIN_MATCHED_OPS);
    return check_summary("test_conformance");
}
