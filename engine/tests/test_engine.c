/* The engine end to end on the shared models (argv[1] = the models folder) and on small ONNX
 * graphs built here with protobuf-c:
 *   - conversion is deterministic (same bytes twice) and the file parses back to the same root;
 *   - ref and blas give identical bytes for every value of both models on real images, and the
 *     same value roots and graph states; State_s equals the Merkle root of the first nin + s value
 *     roots; a batch-4 model's rows equal four batch-1 runs (per-row / per-image quantization);
 *   - BatchNormalization after Conv folds to exactly the weights folded by hand; Split becomes
 *     one Slice node per output; Gemm with alpha/beta/transB and an [M,N] bias; MatMul + Add of a
 *     constant becomes one QLinear with a bias; a 1-D Conv runs as 2-D;
 *   - an unsupported operator or attribute is an error naming the node and the operator; every
 *     truncation of a real ONNX file and random corruptions fail cleanly; corrupted model files
 *     are refused or run safely; a wrong input size is an error. */
#include "check.h"
#include "convert.h"
#include "engine.h"
#include "fmath.h"
#include "hex.h"
#include "merkle.h"
#include "onnx.pb-c.h"

#include <stdlib.h>

static char err[512];

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float rnd_float(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((int64_t)(rng >> 40) - (1 << 23)) / (float)(1 << 22);
}

static int load_converted(const uint8_t *onnx, size_t len, uint32_t batch, opml_model *m) {
    opml_convert_opts o = {.batch = batch, .input_divisor = 255.0f};
    uint8_t *bytes;
    size_t blen;
    if (opml_convert(onnx, len, &o, &bytes, &blen, err, sizeof err)) return -1;
    int r = opml_model_parse(bytes, blen, m, err, sizeof err);
    free(bytes);
    return r;
}

/* Run m on `in` with both backends; every value identical; states consistent. Returns 0/-1. */
static int run_both(const opml_model *m, const float *in, float *out_ref) {
    opml_backend *ref = opml_backend_new("ref"), *blas = opml_backend_new("blas");
    opml_run a, b;
    CHECK_EQ_INT(opml_run_init(&a, m, ref, err, sizeof err), 0);
    CHECK_EQ_INT(opml_run_init(&b, m, blas, err, sizeof err), 0);
    size_t len = (size_t)kd_nbytes(&m->inputs[0]);
    const void *ins[1] = {in};
    int rc = 0;
    for (int rep = 0; rep < 2; rep++) { /* twice: blas's cached weights too */
        CHECK_EQ_INT(opml_run_exec(&a, ins, &len, 1, err, sizeof err), 0);
        CHECK_EQ_INT(opml_run_exec(&b, ins, &len, 1, err, sizeof err), 0);
        for (uint32_t v = 0; v < m->nin + m->n; v++)
            if (memcmp(a.values[v], b.values[v], (size_t)kd_nbytes(&m->values[v]))) {
                fprintf(stderr, "value %u differs between ref and blas\n", v);
                rc = -1;
            }
        CHECK_MEM(a.roots, b.roots, 32 * (size_t)(m->nin + m->n));
        CHECK_MEM(a.states, b.states, 32 * (size_t)(m->n + 1));
    }
    for (uint32_t s = 0; s <= m->n; s++) {
        uint8_t st[32];
        opml_graph_state((const uint8_t(*)[32])a.roots, m->nin + s, m->state_depth, st);
        CHECK_MEM(st, a.states[s], 32);
    }
    for (uint32_t v = 0; v < m->nin + m->n; v++) { /* every root, recomputed from the bytes */
        uint8_t r0[32];
        merkle_tensor_root(a.values[v], (size_t)kd_nbytes(&m->values[v]), r0);
        CHECK_MEM(r0, a.roots[v], 32);
    }
    size_t nb;
    const float *out = opml_run_output(&a, &nb);
    memcpy(out_ref, out, nb);
    opml_run_free(&a), opml_run_free(&b);
    opml_backend_free(ref), opml_backend_free(blas);
    return rc;
}

/* Mutations of a model file's tables: each either fails to parse or parses into a model that runs
 * (the parser's checks make every accepted model safe to run; ASan/UBSan watch). */
static void fuzz_model_file(const uint8_t *bytes, size_t len, const opml_model *m) {
    size_t tables = 32 + 28 * (size_t)m->nin + 36 * (size_t)m->nweights + (KD_BYTES + 52) * (size_t)m->n;
    uint8_t *bad = malloc(len);
    int parsed = 0;
    for (int k = 0; k < 400; k++) {
        memcpy(bad, bytes, len);
        for (int f = 0; f < 1 + k % 3; f++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            bad[(rng >> 8) % tables] ^= (uint8_t)(1u << (rng & 7));
        }
        opml_model t;
        if (opml_model_parse(bad, len, &t, err, sizeof err)) continue;
        parsed++;
        opml_backend *ref = opml_backend_new("ref");
        opml_run r;
        if (t.nin == 1 && opml_run_init(&r, &t, ref, err, sizeof err) == 0) {
            size_t n = (size_t)kd_nbytes(&t.inputs[0]);
            float *zero = calloc(1, n + 4);
            const void *ins[1] = {zero};
            opml_run_exec(&r, ins, &n, 1, err, sizeof err);
            free(zero);
            opml_run_free(&r);
        }
        opml_backend_free(ref);
        opml_model_free(&t);
    }
    printf("model file mutations: %d of 400 still parse and ran\n", parsed);
    free(bad);
}

static void shared_model(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    size_t len;
    uint8_t *onnx = opml_read_file(path, &len);
    CHECK(onnx != NULL);
    if (!onnx) return;
    opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
    uint8_t *b1, *b2;
    size_t l1, l2;
    CHECK_EQ_INT(opml_convert(onnx, len, &o, &b1, &l1, err, sizeof err), 0);
    CHECK_EQ_INT(opml_convert(onnx, len, &o, &b2, &l2, err, sizeof err), 0);
    CHECK(l1 == l2 && !memcmp(b1, b2, l1));
    opml_model m, m4;
    CHECK_EQ_INT(opml_model_parse(b1, l1, &m, err, sizeof err), 0);
    fuzz_model_file(b1, l1, &m);
    free(b1), free(b2);
    CHECK_EQ_INT(load_converted(onnx, len, 4, &m4), 0);
    char hex[67];
    hex_encode(m.root, 32, hex);
    printf("%s: %u nodes, model root %s\n", name, m.n, hex);

    /* four synthetic images (pixel-like values, some exact zeros), single and batched */
    float img[4 * 784], out1[4][10], out4[40];
    for (int i = 0; i < 4 * 784; i++) {
        float v = rnd_float();
        img[i] = v < 0 ? 0.0f : v > 1 ? 1.0f : v;
    }
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(run_both(&m, img + 784 * i, out1[i]), 0);
    CHECK_EQ_INT(run_both(&m4, img, out4), 0);
    CHECK_MEM(out4, out1, sizeof out4);

    /* a wrong input size is an error, not a crash */
    opml_backend *ref = opml_backend_new("ref");
    opml_run r;
    CHECK_EQ_INT(opml_run_init(&r, &m, ref, err, sizeof err), 0);
    size_t wrong = 783 * 4;
    const void *ins[1] = {img};
    CHECK_EQ_INT(opml_run_exec(&r, ins, &wrong, 1, err, sizeof err), -1);
    CHECK(strstr(err, "expects") != NULL);
    opml_run_free(&r);
    opml_backend_free(ref);

    /* truncated and corrupted ONNX files: errors, never crashes */
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut += 1 + len / 200) {
        opml_model t;
        if (load_converted(onnx, cut, 1, &t) == 0) accepted++, opml_model_free(&t);
    }
    CHECK_EQ_INT(accepted, 0);
    uint8_t *bad = malloc(len);
    for (int i = 0; i < 200; i++) {
        memcpy(bad, onnx, len);
        for (int j = 0; j < 4; j++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            bad[(rng >> 8) % len] ^= (uint8_t)(1 + (rng & 0x7F));
        }
        opml_model t;
        if (load_converted(bad, len, 1, &t) == 0) opml_model_free(&t); /* a flip in weight data is still a model */
    }
    free(bad);
    free(onnx);
    opml_model_free(&m), opml_model_free(&m4);
}

/* ---- small ONNX graphs built with protobuf-c ---- */

typedef struct gb {
    Onnx__NodeProto *nodes[8];
    Onnx__TensorProto *inits[8];
    Onnx__ValueInfoProto *ins[2], *outs[1];
    size_t nn, ni, nin;
} gb;

static Onnx__AttributeProto *attr_i(const char *name, int64_t v) {
    Onnx__AttributeProto *a = calloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name, a->has_i = 1, a->i = v, a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    return a;
}
static Onnx__AttributeProto *attr_f(const char *name, float v) {
    Onnx__AttributeProto *a = calloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name, a->has_f = 1, a->f = v, a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    return a;
}

static void node(gb *g, const char *op, const char *name, int nin, const char **in, int nout, const char **out, int nattr,
                 Onnx__AttributeProto **attrs) {
    Onnx__NodeProto *n = calloc(1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = (char *)op, n->name = (char *)name;
    n->n_input = (size_t)nin, n->input = (char **)in, n->n_output = (size_t)nout, n->output = (char **)out;
    n->n_attribute = (size_t)nattr, n->attribute = attrs;
    g->nodes[g->nn++] = n;
}

static void init(gb *g, const char *name, int rank, const int64_t *dims, float *data) {
    Onnx__TensorProto *t = calloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    t->name = (char *)name, t->n_dims = (size_t)rank, t->dims = (int64_t *)dims, t->has_data_type = 1,
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, t->n_float_data = n, t->float_data = data;
    g->inits[g->ni++] = t;
}

static Onnx__ValueInfoProto *vinfo(const char *name, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *v = calloc(1, sizeof *v);
    Onnx__TypeProto *tp = calloc(1, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = calloc(1, sizeof *tt);
    Onnx__TensorShapeProto *sh = calloc(1, sizeof *sh);
    onnx__value_info_proto__init(v), onnx__type_proto__init(tp), onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)rank;
    sh->dim = calloc((size_t)rank + 1, sizeof *sh->dim);
    for (int i = 0; i < rank; i++) {
        sh->dim[i] = calloc(1, sizeof **sh->dim);
        onnx__tensor_shape_proto__dimension__init(sh->dim[i]);
        sh->dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        sh->dim[i]->dim_value = dims[i];
    }
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
    v->name = (char *)name, v->type = tp;
    return v;
}

static void vinfo_free(Onnx__ValueInfoProto *v) {
    Onnx__TensorShapeProto *sh = v->type->tensor_type->shape;
    for (size_t i = 0; i < sh->n_dim; i++) free(sh->dim[i]);
    free(sh->dim), free(sh), free(v->type->tensor_type), free(v->type), free(v);
}

/* Serialize the graph as an opset-13 model; frees the builder's allocations. */
static uint8_t *pack(gb *g, size_t *len) {
    Onnx__GraphProto gp;
    onnx__graph_proto__init(&gp);
    gp.name = "t", gp.n_node = g->nn, gp.node = g->nodes, gp.n_initializer = g->ni, gp.initializer = g->inits;
    gp.n_input = g->nin, gp.input = g->ins, gp.n_output = 1, gp.output = g->outs;
    Onnx__OperatorSetIdProto os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = "", os.has_version = 1, os.version = 13;
    Onnx__OperatorSetIdProto *osp = &os;
    Onnx__ModelProto mp;
    onnx__model_proto__init(&mp);
    mp.has_ir_version = 1, mp.ir_version = 7, mp.graph = &gp, mp.n_opset_import = 1, mp.opset_import = &osp;
    *len = onnx__model_proto__get_packed_size(&mp);
    uint8_t *buf = malloc(*len);
    onnx__model_proto__pack(&mp, buf);
    for (size_t i = 0; i < g->nn; i++) {
        for (size_t a = 0; a < g->nodes[i]->n_attribute; a++) free(g->nodes[i]->attribute[a]);
        free(g->nodes[i]);
    }
    for (size_t i = 0; i < g->ni; i++) free(g->inits[i]);
    for (size_t i = 0; i < g->nin; i++) vinfo_free(g->ins[i]);
    vinfo_free(g->outs[0]);
    return buf;
}

static void batchnorm_folding(void) {
    static const int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {4, 3, 3, 3}, cd[1] = {4}, yd[4] = {1, 4, 3, 3};
    static float w[108], b[4], gamma[4], beta[4], mean[4], var[4], wfold[108], bfold[4];
    for (int i = 0; i < 108; i++) w[i] = rnd_float();
    for (int i = 0; i < 4; i++)
        b[i] = rnd_float(), gamma[i] = rnd_float(), beta[i] = rnd_float(), mean[i] = rnd_float(), var[i] = 1 + rnd_float() * rnd_float();
    float eps = 1e-3f;
    for (int o = 0; o < 4; o++) { /* the folding of docs/numerics.md, by hand */
        float f = gamma[o] / kf_sqrt(var[o] + eps);
        for (int i = 0; i < 27; i++) wfold[o * 27 + i] = w[o * 27 + i] * f;
        bfold[o] = (b[o] - mean[o]) * f + beta[o];
    }
    static const char *cin[] = {"x", "w", "b"}, *cout[] = {"c"}, *bnin[] = {"c", "g", "be", "m", "v"}, *bnout[] = {"y"};
    gb g1 = {0};
    Onnx__AttributeProto *eps_a[1] = {attr_f("epsilon", eps)};
    node(&g1, "Conv", "conv0", 3, cin, 1, cout, 0, NULL);
    node(&g1, "BatchNormalization", "bn0", 5, bnin, 1, bnout, 1, eps_a);
    init(&g1, "w", 4, wd, w), init(&g1, "b", 1, cd, b), init(&g1, "g", 1, cd, gamma), init(&g1, "be", 1, cd, beta);
    init(&g1, "m", 1, cd, mean), init(&g1, "v", 1, cd, var);
    g1.ins[g1.nin++] = vinfo("x", 4, xd), g1.outs[0] = vinfo("y", 4, yd);
    size_t l1, l2;
    uint8_t *o1 = pack(&g1, &l1);
    static const char *cout2[] = {"y"};
    gb g2 = {0};
    node(&g2, "Conv", "conv0", 3, cin, 1, cout2, 0, NULL);
    init(&g2, "w", 4, wd, wfold), init(&g2, "b", 1, cd, bfold);
    g2.ins[g2.nin++] = vinfo("x", 4, xd), g2.outs[0] = vinfo("y", 4, yd);
    uint8_t *o2 = pack(&g2, &l2);
    opml_model m1, m2;
    CHECK_EQ_INT(load_converted(o1, l1, 1, &m1), 0);
    CHECK_EQ_INT(load_converted(o2, l2, 1, &m2), 0);
    CHECK_EQ_INT(m1.n, 1);
    CHECK_MEM(m1.root, m2.root, 32);
    opml_model_free(&m1), opml_model_free(&m2);
    free(o1), free(o2);
}

static void split_and_gemm(void) {
    /* x [2,6] -> Split axis 1 into 2 and 4 -> the second piece through Gemm(alpha, beta, transB) + C [2,3] */
    static const int64_t xd[2] = {2, 6}, bd[2] = {3, 4}, cdims[2] = {2, 3}, sd[1] = {2}, yd[2] = {2, 3};
    static float bw[12], cc[6], x[12];
    for (int i = 0; i < 12; i++) bw[i] = rnd_float(), x[i] = rnd_float();
    for (int i = 0; i < 6; i++) cc[i] = rnd_float();
    static const char *sin[] = {"x", "sizes"}, *sout[] = {"p0", "p1"}, *gin[] = {"p1", "B", "C"}, *gout[] = {"y"};
    gb g = {0};
    Onnx__AttributeProto *sa[1] = {attr_i("axis", 1)};
    Onnx__AttributeProto *ga[3] = {attr_f("alpha", 0.5f), attr_f("beta", 2.0f), attr_i("transB", 1)};
    node(&g, "Split", "split0", 2, sin, 2, sout, 1, sa);
    node(&g, "Gemm", "gemm0", 3, gin, 1, gout, 3, ga);
    Onnx__TensorProto *sizes = calloc(1, sizeof *sizes);
    onnx__tensor_proto__init(sizes);
    static int64_t sv[2] = {2, 4};
    sizes->name = "sizes", sizes->n_dims = 1, sizes->dims = (int64_t *)sd, sizes->has_data_type = 1;
    sizes->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64, sizes->n_int64_data = 2, sizes->int64_data = sv;
    g.inits[g.ni++] = sizes;
    init(&g, "B", 2, bd, bw), init(&g, "C", 2, cdims, cc);
    g.ins[g.nin++] = vinfo("x", 2, xd), g.outs[0] = vinfo("y", 2, yd);
    size_t len;
    uint8_t *o = pack(&g, &len);
    opml_model m;
    CHECK_EQ_INT(load_converted(o, len, 1, &m), 0);
    if (m.n) {
        /* Slice, Slice, QLinear (alpha folded), Mul (beta * C folded to a constant), Add */
        CHECK_EQ_INT(m.nodes[0].d.op, OP_SLICE);
        CHECK_EQ_INT(m.nodes[1].d.op, OP_SLICE);
        CHECK_EQ_INT(m.nodes[2].d.op, OP_QLINEAR);
        CHECK_EQ_INT(m.nodes[m.n - 1].d.op, OP_ADD);
        float y[6];
        CHECK_EQ_INT(run_both(&m, x, y), 0);
        for (int r = 0; r < 2; r++) /* within the quantization error of the float result */
            for (int n = 0; n < 3; n++) {
                float want = 2.0f * cc[r * 3 + n];
                for (int k = 0; k < 4; k++) want += 0.5f * x[r * 6 + 2 + k] * bw[n * 4 + k];
                CHECK(y[r * 3 + n] > want - 0.05f && y[r * 3 + n] < want + 0.05f);
            }
        opml_model_free(&m);
    }
    free(o);
}

/* MatMul + Add of a constant bias (PyTorch's Linear on 3-D input) is one QLinear with a bias */
static void matmul_bias(void) {
    static const int64_t xd[3] = {2, 3, 4}, bd[2] = {4, 5}, vd[1] = {5}, yd[3] = {2, 3, 5};
    static float bw[20], bias[5], x[24];
    for (int i = 0; i < 20; i++) bw[i] = rnd_float();
    for (int i = 0; i < 5; i++) bias[i] = rnd_float();
    for (int i = 0; i < 24; i++) x[i] = rnd_float();
    static const char *min[] = {"x", "B"}, *mout[] = {"p"}, *ain[] = {"p", "bias"}, *aout[] = {"y"};
    gb g = {0};
    node(&g, "MatMul", "mm", 2, min, 1, mout, 0, NULL);
    node(&g, "Add", "add", 2, ain, 1, aout, 0, NULL);
    init(&g, "B", 2, bd, bw), init(&g, "bias", 1, vd, bias);
    g.ins[g.nin++] = vinfo("x", 3, xd), g.outs[0] = vinfo("y", 3, yd);
    size_t len;
    uint8_t *o = pack(&g, &len);
    opml_model m = {0};
    CHECK_EQ_INT(load_converted(o, len, 1, &m), 0);
    CHECK_EQ_INT(m.n, 1);
    if (m.n == 1) {
        CHECK_EQ_INT(m.nodes[0].d.op, OP_QLINEAR);
        CHECK_EQ_INT(m.nodes[0].d.noperands, 4);
        float y[30];
        CHECK_EQ_INT(run_both(&m, x, y), 0);
        for (int r = 0; r < 6; r++)
            for (int n = 0; n < 5; n++) {
                float want = bias[n];
                for (int k = 0; k < 4; k++) want += x[r * 4 + k] * bw[k * 5 + n];
                CHECK(y[r * 5 + n] > want - 0.05f && y[r * 5 + n] < want + 0.05f);
            }
    }
    if (m.n) opml_model_free(&m);
    free(o);
}

/* A 1-D convolution (stride 2, pads 1 and 2) runs as a 2-D one of height 1 */
static void conv1d(void) {
    static const int64_t xd[3] = {1, 2, 9}, wd[3] = {3, 2, 3}, yd[3] = {1, 3, 5}; /* (9 + 3 - 3) / 2 + 1 */
    static float w[18], x[18];
    for (int i = 0; i < 18; i++) w[i] = rnd_float(), x[i] = rnd_float();
    static const int64_t pads[2] = {1, 2}, strides[1] = {2};
    static const char *cin[] = {"x", "w"}, *cout[] = {"y"};
    Onnx__AttributeProto *a[2];
    for (int i = 0; i < 2; i++) {
        a[i] = calloc(1, sizeof *a[i]);
        onnx__attribute_proto__init(a[i]);
        a[i]->has_type = 1, a[i]->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    }
    a[0]->name = "pads", a[0]->n_ints = 2, a[0]->ints = (int64_t *)pads;
    a[1]->name = "strides", a[1]->n_ints = 1, a[1]->ints = (int64_t *)strides;
    gb g = {0};
    node(&g, "Conv", "conv1d", 2, cin, 1, cout, 2, a);
    init(&g, "w", 3, wd, w);
    g.ins[g.nin++] = vinfo("x", 3, xd), g.outs[0] = vinfo("y", 3, yd);
    size_t len;
    uint8_t *o = pack(&g, &len);
    opml_model m = {0};
    CHECK_EQ_INT(load_converted(o, len, 1, &m), 0);
    if (m.n) {
        CHECK_EQ_INT(m.values[m.output_value].rank, 3);
        CHECK_EQ_INT(m.values[m.output_value].dims[2], 5);
        float y[15];
        CHECK_EQ_INT(run_both(&m, x, y), 0);
        for (int oc = 0; oc < 3; oc++)
            for (int p = 0; p < 5; p++) {
                float want = 0;
                for (int ci = 0; ci < 2; ci++)
                    for (int k = 0; k < 3; k++) {
                        int ix = p * 2 - 1 + k;
                        if (ix >= 0 && ix < 9) want += x[ci * 9 + ix] * w[(oc * 2 + ci) * 3 + k];
                    }
                CHECK(y[oc * 5 + p] > want - 0.05f && y[oc * 5 + p] < want + 0.05f);
            }
        opml_model_free(&m);
    }
    free(o);
}

static void unsupported(void) {
    static const int64_t xd[2] = {2, 3};
    static const char *in[] = {"x"}, *out[] = {"y"};
    gb g = {0};
    node(&g, "Unique", "my_unique_node", 1, in, 1, out, 0, NULL);
    g.ins[g.nin++] = vinfo("x", 2, xd), g.outs[0] = vinfo("y", 2, xd);
    size_t len;
    uint8_t *o = pack(&g, &len);
    opml_model m;
    CHECK_EQ_INT(load_converted(o, len, 1, &m), -1);
    CHECK(strstr(err, "my_unique_node") && strstr(err, "Unique"));
    free(o);
    gb g2 = {0};
    Onnx__AttributeProto *a[1] = {attr_i("bogus", 3)};
    node(&g2, "Relu", "relu7", 1, in, 1, out, 1, a);
    g2.ins[g2.nin++] = vinfo("x", 2, xd), g2.outs[0] = vinfo("y", 2, xd);
    o = pack(&g2, &len);
    CHECK_EQ_INT(load_converted(o, len, 1, &m), -1);
    CHECK(strstr(err, "relu7") && strstr(err, "Relu") && strstr(err, "bogus"));
    free(o);
    printf("unsupported attribute error: %s\n", err);

    /* a shape mismatch: MatMul of x[2,3] with a constant [4,5] */
    static const int64_t bdims[2] = {4, 5}, ydims[2] = {2, 5};
    static float bw[20];
    static const char *min[] = {"x", "B"};
    gb g3 = {0};
    node(&g3, "MatMul", "mm9", 2, min, 1, out, 0, NULL);
    init(&g3, "B", 2, bdims, bw);
    g3.ins[g3.nin++] = vinfo("x", 2, xd), g3.outs[0] = vinfo("y", 2, ydims);
    o = pack(&g3, &len);
    CHECK_EQ_INT(load_converted(o, len, 1, &m), -1);
    CHECK(strstr(err, "mm9") && strstr(err, "MatMul") && strstr(err, "inner dimensions"));
    printf("shape mismatch error: %s\n", err);
    free(o);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_engine MODELS_DIR\n");
        return 2;
    }
    shared_model(argv[1], "fashion_mlp");
    shared_model(argv[1], "fashion_cnn");
    batchnorm_folding();
    split_and_gemm();
    matmul_bias();
    conv1d();
    unsupported();
    return check_summary("test_engine");
}
