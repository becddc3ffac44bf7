/* convert.c: ONNX to opml (convert.h). One pass over the ONNX nodes in their (topological) order,
 * keeping a symbol per ONNX tensor name: either a constant (float32 or int64 data known now) or a
 * graph value (a model input or the output of an emitted node, with its static shape). A node
 * whose inputs are all constant is evaluated now (float operators by the reference kernels
 * themselves, shape arithmetic on int64 here) and becomes a constant; any other node is emitted.
 * Gemm/MatMul/Conv nodes keep float weights until the end, so that a following
 * BatchNormalization can be folded into them; then weights are quantized per output channel with
 * the kernels' own quantization (quant.h) and the model is committed and written. */
#include "convert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmath.h"
#include "kernel.h"
#include "model.h"
#include "onnx.pb-c.h"
#include "quant.h"

#define SYM_I64 100 /* dtype of an int64 constant (shape arithmetic only; never a model tensor) */

typedef struct sym {
    char *name;
    int is_const, dtype, rank;
    int64_t dims[KD_MAX_RANK];
    float *f;      /* float32 constant data (owned) */
    int64_t *i;    /* int64 constant data (owned) */
    uint32_t value; /* value id when not constant */
    int producer;  /* emitted node producing the value, or -1 */
    int weight;    /* weight index once the constant is a model weight, else -1 */
} sym;

typedef struct cnode {
    kd_desc d;
    int opsym[KD_MAX_OPERANDS]; /* operand j's symbol; for a quantized op operands 1..3 are built */
    int quant;                  /* QLinear/QConv: float weights below, quantized when finishing */
    float *wf, *bias;           /* [rows x rowlen] float weights, [rows] bias or NULL (owned) */
    size_t rows, rowlen;
} cnode;

typedef struct conv {
    sym *syms;
    size_t nsyms, capsyms;
    cnode *nodes;
    size_t nnodes, capnodes;
    kd_tensor inputs[64];
    uint32_t nin;
    int64_t opset;
    uint32_t batch;
    const Onnx__NodeProto *cur;
    int as1d; /* the current Conv or pool is 1-D, run as 2-D with height 1 */
    const Onnx__GraphProto *g;
    char *err;
    size_t errlen;
} conv;

static int cfail(conv *c, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->cur)
        snprintf(c->err, c->errlen, "node '%s' (%s): %s", c->cur->name && *c->cur->name ? c->cur->name : "(unnamed)",
                 c->cur->op_type ? c->cur->op_type : "?", msg);
    else
        snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

static int64_t numel(const sym *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

static int find_sym(conv *c, const char *name) {
    for (size_t i = c->nsyms; i-- > 0;)
        if (!strcmp(c->syms[i].name, name)) return (int)i;
    return -1;
}

/* A new symbol (copied name, no data yet). Returns its index or -1 (out of memory). */
static int new_sym(conv *c, const char *name) {
    if (c->nsyms == c->capsyms) {
        size_t cap = c->capsyms ? 2 * c->capsyms : 64;
        sym *s = realloc(c->syms, cap * sizeof *s);
        if (!s) return -1;
        c->syms = s, c->capsyms = cap;
    }
    sym *s = &c->syms[c->nsyms];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name) return -1;
    s->producer = -1, s->weight = -1;
    return (int)c->nsyms++;
}

static int set_dims(conv *c, sym *s, int rank, const int64_t *dims) {
    if (rank > KD_MAX_RANK) return cfail(c, "tensor '%s' has rank %d (at most %d supported)", s->name, rank, KD_MAX_RANK);
    s->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > 0x7FFFFFFF) return cfail(c, "tensor '%s' has a bad dimension %lld", s->name, (long long)dims[i]);
        s->dims[i] = dims[i];
    }
    return 0;
}

/* A constant symbol holding a copy of the data. */
static int new_const(conv *c, const char *name, int dtype, int rank, const int64_t *dims, const void *data) {
    int k = new_sym(c, name);
    if (k < 0) return cfail(c, "out of memory");
    sym *s = &c->syms[k];
    s->is_const = 1, s->dtype = dtype;
    if (set_dims(c, s, rank, dims)) return -1;
    size_t n = (size_t)numel(s), es = dtype == SYM_I64 ? 8 : 4;
    void *p = malloc(n * es + 8);
    if (!p) return cfail(c, "out of memory");
    if (n) memcpy(p, data, n * es);
    if (dtype == SYM_I64) s->i = p;
    else s->f = p;
    return k;
}

static kd_tensor sym_tensor(const sym *s) {
    kd_tensor t = {KD_F32, (uint8_t)s->rank, {0}};
    for (int i = 0; i < s->rank; i++) t.dims[i] = (uint32_t)s->dims[i];
    return t;
}

/* ---- ONNX tensors and attributes ---- */

/* Decode a TensorProto into float or int64 data. */
static int tensor_data(conv *c, const Onnx__TensorProto *t, int *dtype, void **data, size_t *n) {
    size_t cnt = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] && cnt > (SIZE_MAX / 16) / (size_t)t->dims[i]))
            return cfail(c, "tensor '%s': bad dimensions", t->name ? t->name : "");
        cnt *= (size_t)t->dims[i];
    }
    if (t->n_external_data || (t->has_data_location && t->data_location))
        return cfail(c, "tensor '%s': external data is not supported", t->name ? t->name : "");
    int dt = t->data_type;
    int is_int = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
                 dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
                 dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT16;
    if (!is_int && dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return cfail(c, "tensor '%s': data type %d is not supported", t->name ? t->name : "", dt);
    *dtype = is_int ? SYM_I64 : KD_F32;
    *n = cnt;
    void *p = malloc(cnt * 8 + 8);
    if (!p) return cfail(c, "out of memory");
    float *f = p;
    int64_t *iv = p;
    size_t have;
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    size_t rawlen = t->has_raw_data ? t->raw_data.len : 0;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        have = raw ? rawlen / 4 : t->n_float_data;
        if (have != cnt || (raw && rawlen != cnt * 4)) goto size;
        if (cnt) memcpy(f, raw ? (const void *)raw : (const void *)t->float_data, cnt * 4);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        have = raw ? rawlen / 8 : t->n_double_data;
        if (have != cnt || (raw && rawlen != cnt * 8)) goto size;
        for (size_t i = 0; i < cnt; i++) {
            double d;
            if (raw) memcpy(&d, raw + 8 * i, 8);
            else d = t->double_data[i];
            f[i] = (float)d;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        have = raw ? rawlen / 8 : t->n_int64_data;
        if (have != cnt || (raw && rawlen != cnt * 8)) goto size;
        if (cnt) memcpy(iv, raw ? (const void *)raw : (const void *)t->int64_data, cnt * 8);
        break;
    default: { /* int32, int16, int8, uint8, bool: int32_data, or raw of the type's width */
        size_t w = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4 : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ? 2 : 1;
        have = raw ? rawlen / w : t->n_int32_data;
        if (have != cnt || (raw && rawlen != cnt * w)) goto size;
        for (size_t i = 0; i < cnt; i++) {
            if (!raw) iv[i] = t->int32_data[i];
            else if (w == 4) { int32_t v; memcpy(&v, raw + 4 * i, 4); iv[i] = v; }
            else if (w == 2) { int16_t v; memcpy(&v, raw + 2 * i, 2); iv[i] = v; }
            else iv[i] = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t)raw[i] : raw[i];
        }
    }
    }
    *data = p;
    return 0;
size:
    free(p);
    return cfail(c, "tensor '%s': data does not match its %zu elements", t->name ? t->name : "", cnt);
}

static int add_tensor_const(conv *c, const char *name, const Onnx__TensorProto *t) {
    int dtype;
    void *data;
    size_t n;
    if (tensor_data(c, t, &dtype, &data, &n)) return -1;
    int64_t dims[KD_MAX_RANK];
    if (t->n_dims > KD_MAX_RANK) {
        free(data);
        return cfail(c, "constant '%s' has rank %zu (at most %d supported)", name, t->n_dims, KD_MAX_RANK);
    }
    for (size_t i = 0; i < t->n_dims; i++) dims[i] = t->dims[i];
    int k = new_const(c, name, dtype, (int)t->n_dims, dims, data);
    free(data);
    return k;
}

static const Onnx__AttributeProto *attr(conv *c, const char *name) {
    for (size_t i = 0; i < c->cur->n_attribute; i++)
        if (!strcmp(c->cur->attribute[i]->name, name)) return c->cur->attribute[i];
    return NULL;
}
static int64_t attr_i(conv *c, const char *name, int64_t def) {
    const Onnx__AttributeProto *a = attr(c, name);
    return a ? a->i : def;
}
static float attr_f(conv *c, const char *name, float def) {
    const Onnx__AttributeProto *a = attr(c, name);
    return a ? a->f : def;
}
/* ints attribute into out[max]; returns the count, or -1 (absent), -2 (too many) */
static int attr_ints(conv *c, const char *name, int64_t *out, int max) {
    const Onnx__AttributeProto *a = attr(c, name);
    if (!a) return -1;
    if ((int)a->n_ints > max) return -2;
    for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
    return (int)a->n_ints;
}
static const char *attr_s(conv *c, const char *name, const char *def) {
    const Onnx__AttributeProto *a = attr(c, name);
    static char buf[64];
    if (!a || !a->has_s) return def;
    size_t n = a->s.len < sizeof buf - 1 ? a->s.len : sizeof buf - 1;
    memcpy(buf, a->s.data, n);
    buf[n] = 0;
    return buf;
}

/* Every attribute of the node must be one the converter handles (never silently ignored). */
static int only_attrs(conv *c, const char *const *known) {
    for (size_t i = 0; i < c->cur->n_attribute; i++) {
        const char *n = c->cur->attribute[i]->name;
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, n);
        if (!ok) return cfail(c, "attribute '%s' is not supported", n);
    }
    return 0;
}

/* ---- emitting nodes ---- */

/* Input i of the current node: its symbol, or -1 when absent (optional input left empty). */
static int in_sym(conv *c, size_t i, int *k) {
    *k = -1;
    if (i >= c->cur->n_input || !c->cur->input[i][0]) return 0;
    *k = find_sym(c, c->cur->input[i]);
    if (*k < 0) return cfail(c, "input '%s' is not defined by any earlier node, initializer or graph input", c->cur->input[i]);
    return 0;
}

static int need_f32(conv *c, int k) {
    if (c->syms[k].dtype != KD_F32) return cfail(c, "tensor '%s' is int64: only float32 tensors reach the kernels", c->syms[k].name);
    return 0;
}

/* Append node d (operand symbols ops, -1 for operands that are not symbols) producing `name`. */
static int push_node(conv *c, const kd_desc *d, const int *ops, const char *name) {
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < d->out.rank; i++) dims[i] = d->out.dims[i];
    if (c->nnodes == c->capnodes) {
        size_t cap = c->capnodes ? 2 * c->capnodes : 32;
        cnode *nn = realloc(c->nodes, cap * sizeof *nn);
        if (!nn) return cfail(c, "out of memory");
        c->nodes = nn, c->capnodes = cap;
    }
    cnode *nd = &c->nodes[c->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->d = *d;
    for (unsigned j = 0; j < d->noperands; j++) nd->opsym[j] = ops[j];
    int k = new_sym(c, name);
    if (k < 0) return cfail(c, "out of memory");
    sym *s = &c->syms[k];
    s->dtype = KD_F32;
    set_dims(c, s, d->out.rank, dims);
    s->value = c->nin + (uint32_t)c->nnodes;
    s->producer = (int)c->nnodes;
    c->nnodes++;
    return k;
}

/* Output `name` of a node described by d whose operands are the symbols ops[0..d->noperands-1]:
 * folded now when every operand is constant, else emitted as a node. Returns the symbol. */
static int emit(conv *c, kd_desc *d, const int *ops, const char *name) {
    d->out.dtype = KD_F32;
    int all_const = 1;
    for (unsigned j = 0; j < d->noperands; j++) {
        if (need_f32(c, ops[j])) return -1;
        d->in[j] = sym_tensor(&c->syms[ops[j]]);
        if (!c->syms[ops[j]].is_const) all_const = 0;
    }
    int r = kernel_check(d);
    if (r) return cfail(c, "operands do not fit %s (kernel error %d)", kernel_op_name(d->op), r);
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < d->out.rank; i++) dims[i] = d->out.dims[i];
    if (all_const && d->op != OP_QLINEAR && d->op != OP_QCONV) {
        size_t n = (size_t)kd_numel(&d->out), sn = kernel_scratch_size(d);
        float *y = malloc(n * 4 + 4);
        void *scr = malloc(sn + 1);
        const void *in[KD_MAX_OPERANDS] = {0};
        for (unsigned j = 0; j < d->noperands; j++) in[j] = c->syms[ops[j]].f;
        if (!y || !scr || kernel_exec(d, in, y, scr, sn)) {
            free(y), free(scr);
            return cfail(c, "constant folding failed");
        }
        free(scr);
        int k = new_const(c, name, KD_F32, d->out.rank, dims, y);
        free(y);
        return k;
    }
    return push_node(c, d, ops, name);
}

static void set_out(kd_desc *d, int rank, const int64_t *dims) {
    d->out.rank = (uint8_t)rank;
    for (int i = 0; i < rank; i++) d->out.dims[i] = (uint32_t)dims[i];
}

/* Emit a quantized product node (QLinear or QConv) with float weights w [rows x rowlen] (taken
 * over) and bias (taken over, may be NULL). */
static int emit_quant(conv *c, kd_desc *d, int x, float *w, size_t rows, size_t rowlen, float *bias, const char *name) {
    if (c->syms[x].is_const) {
        free(w), free(bias);
        return cfail(c, "a constant data input is not supported (only weights may be constant)");
    }
    /* check the shapes now with placeholder weight operands */
    d->noperands = bias ? 4 : 3;
    d->in[0] = sym_tensor(&c->syms[x]);
    kd_tensor sc = {KD_F32, 1, {(uint32_t)rows}};
    d->in[2] = sc;
    if (bias) d->in[3] = sc;
    d->out.dtype = KD_F32;
    int r = kernel_check(d);
    if (r) {
        free(w), free(bias);
        return cfail(c, "shapes do not fit %s (kernel error %d)", kernel_op_name(d->op), r);
    }
    int ops[4] = {x, -1, -1, -1};
    int k = push_node(c, d, ops, name);
    if (k < 0) {
        free(w), free(bias);
        return -1;
    }
    cnode *nd = &c->nodes[c->syms[k].producer];
    nd->quant = 1, nd->wf = w, nd->bias = bias, nd->rows = rows, nd->rowlen = rowlen;
    return k;
}

static int alias(conv *c, int k, const char *name) {
    sym s = c->syms[k];
    int n = new_sym(c, name);
    if (n < 0) return cfail(c, "out of memory");
    char *nm = c->syms[n].name;
    c->syms[n] = s;
    c->syms[n].name = nm;
    c->syms[n].weight = -1;
    if (s.is_const) {
        size_t bytes = (size_t)numel(&s) * (s.dtype == SYM_I64 ? 8 : 4);
        void *p = malloc(bytes + 8);
        if (!p) return cfail(c, "out of memory");
        memcpy(p, s.dtype == SYM_I64 ? (void *)s.i : (void *)s.f, bytes);
        c->syms[n].f = s.dtype == SYM_I64 ? NULL : p;
        c->syms[n].i = s.dtype == SYM_I64 ? p : NULL;
    }
    return n;
}

static const char *out_name(conv *c, size_t i) { return i < c->cur->n_output ? c->cur->output[i] : ""; }

/* Only output 0 may be used (a second output such as MaxPool's Indices is an error). */
static int single_output(conv *c) {
    for (size_t i = 1; i < c->cur->n_output; i++)
        if (c->cur->output[i][0]) {
            /* an output nobody reads is harmless: check the rest of the graph */
            for (size_t n = 0; n < c->g->n_node; n++)
                for (size_t j = 0; j < c->g->node[n]->n_input; j++)
                    if (!strcmp(c->g->node[n]->input[j], c->cur->output[i]))
                        return cfail(c, "output %zu ('%s') is not supported", i, c->cur->output[i]);
            for (size_t o = 0; o < c->g->n_output; o++)
                if (!strcmp(c->g->output[o]->name, c->cur->output[i]))
                    return cfail(c, "output %zu ('%s') is not supported", i, c->cur->output[i]);
        }
    return 0;
}

static int norm_axis(conv *c, int64_t axis, int rank, int64_t *out) {
    if (axis < -rank || axis >= (rank ? rank : 1)) return cfail(c, "axis %lld out of range for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

/* ---- operators ---- */

static int op_unary(conv *c, unsigned op) {
    static const char *const none[] = {NULL}, *const leaky[] = {"alpha", NULL};
    if (only_attrs(c, op == OP_LEAKYRELU ? leaky : none)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1};
    set_out(&d, c->syms[x].rank, c->syms[x].dims);
    if (op == OP_LEAKYRELU) d.fa[0] = attr_f(c, "alpha", 0.01f);
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int ints_of(conv *c, size_t input, const char *attrname, int64_t *out, int *n);

/* a scalar float constant named after the current node's output */
static int scalar_const(conv *c, const char *suffix, float v) {
    char name[300];
    snprintf(name, sizeof name, "%s/%s", out_name(c, 0), suffix);
    return new_const(c, name, KD_F32, 0, NULL, &v);
}

/* HardSigmoid: y = clip(alpha * x + beta, 0, 1); HardSwish: x * HardSigmoid(x) with alpha = 1/6,
 * beta = 1/2. As Mul, Add, Clip (and Mul) nodes. */
static int op_hard(conv *c, int swish) {
    static const char *const known[] = {"alpha", "beta", NULL}, *const none[] = {NULL};
    if (only_attrs(c, swish ? none : known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    float alpha = swish ? 1.0f / 6.0f : attr_f(c, "alpha", 0.2f), beta = swish ? 0.5f : attr_f(c, "beta", 0.5f);
    int ka = scalar_const(c, "alpha", alpha), kb = ka < 0 ? -1 : scalar_const(c, "beta", beta);
    if (kb < 0) return -1;
    const char *name = out_name(c, 0);
    char n1[300], n2[300], n3[300];
    snprintf(n1, sizeof n1, "%s/ax", name), snprintf(n2, sizeof n2, "%s/axb", name), snprintf(n3, sizeof n3, "%s/hs", name);
    kd_desc d = {.op = OP_MUL, .noperands = 2};
    set_out(&d, c->syms[x].rank, c->syms[x].dims);
    int ops[2] = {x, ka}, y;
    if ((y = emit(c, &d, ops, n1)) < 0) return -1;
    d.op = OP_ADD, ops[0] = y, ops[1] = kb;
    if ((y = emit(c, &d, ops, n2)) < 0) return -1;
    kd_desc cl = {.op = OP_CLIP, .noperands = 1, .fa = {0.0f, 1.0f}};
    set_out(&cl, c->syms[x].rank, c->syms[x].dims);
    if ((y = emit(c, &cl, &y, swish ? n3 : name)) < 0) return -1;
    if (!swish) return 0;
    d.op = OP_MUL, ops[0] = x, ops[1] = y;
    return emit(c, &d, ops, name) < 0 ? -1 : 0;
}

static int op_reduce(conv *c, unsigned op) {
    static const char *const known[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    int64_t axes[KD_MAX_RANK];
    int n = 0;
    if (ints_of(c, 1, "axes", axes, &n)) return -1;
    sym *s = &c->syms[x];
    if (n <= 0 && attr_i(c, "noop_with_empty_axes", 0)) return alias(c, x, out_name(c, 0)) < 0 ? -1 : 0;
    int32_t mask = 0;
    if (n <= 0) mask = (int32_t)((1u << s->rank) - 1);
    for (int i = 0; i < n; i++) {
        int64_t a = 0;
        if (norm_axis(c, axes[i], s->rank, &a)) return -1;
        mask |= (int32_t)(1u << a);
    }
    int keep = (int)attr_i(c, "keepdims", 1), rank = 0;
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < s->rank; i++)
        if (!(mask >> i & 1)) dims[rank++] = s->dims[i];
        else if (keep) dims[rank++] = 1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1, .ia = {mask}};
    set_out(&d, rank, dims);
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_pad(conv *c) {
    static const char *const known[] = {"mode", "pads", "value", NULL};
    if (only_attrs(c, known)) return -1;
    if (strcmp(attr_s(c, "mode", "constant"), "constant")) return cfail(c, "mode '%s' is not supported", attr_s(c, "mode", ""));
    int x, v;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t pads[2 * KD_MAX_RANK], axes[KD_MAX_RANK];
    int np = 0, na = -1;
    {
        int k;
        if (in_sym(c, 1, &k)) return -1;
        if (k >= 0) {
            sym *t = &c->syms[k];
            if (!t->is_const || t->dtype != SYM_I64 || numel(t) > 2 * KD_MAX_RANK) return cfail(c, "pads must be a constant");
            np = (int)numel(t);
            memcpy(pads, t->i, (size_t)np * 8);
        } else if ((np = attr_ints(c, "pads", pads, 2 * KD_MAX_RANK)) < 0) {
            return cfail(c, "no pads");
        }
    }
    if (ints_of(c, 3, "axes", axes, &na)) return -1;
    if (na < 0)
        for (na = 0; na < s->rank; na++) axes[na] = na;
    if (np != 2 * na) return cfail(c, "%d pads for %d axes", np, na);
    float value = attr_f(c, "value", 0.0f);
    if (in_sym(c, 2, &v)) return -1;
    if (v >= 0) {
        sym *t = &c->syms[v];
        if (!t->is_const || numel(t) != 1) return cfail(c, "a run-time pad value is not supported");
        value = t->dtype == SYM_I64 ? (float)t->i[0] : t->f[0];
    }
    kd_desc d = {.op = OP_PAD, .noperands = 1, .fa = {value}};
    int64_t dims[KD_MAX_RANK];
    memcpy(dims, s->dims, sizeof dims);
    for (int i = 0; i < na; i++) {
        int64_t a = 0;
        if (norm_axis(c, axes[i], s->rank, &a)) return -1;
        if (pads[i] < 0 || pads[na + i] < 0 || pads[i] > 65536 || pads[na + i] > 65536)
            return cfail(c, "negative or huge pads are not supported");
        d.ia[a] = (int32_t)pads[i], d.ia[6 + a] = (int32_t)pads[na + i];
        dims[a] += pads[i] + pads[na + i];
    }
    set_out(&d, s->rank, dims);
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_clip(conv *c) {
    static const char *const known[] = {"min", "max", NULL};
    if (only_attrs(c, known)) return -1;
    int x, lo, hi;
    if (in_sym(c, 0, &x) || in_sym(c, 1, &lo) || in_sym(c, 2, &hi)) return -1;
    if (x < 0) return cfail(c, "missing input");
    kd_desc d = {.op = OP_CLIP, .noperands = 1};
    d.fa[0] = attr_f(c, "min", kf_from_bits(0xFF800000u));
    d.fa[1] = attr_f(c, "max", kf_from_bits(0x7F800000u));
    int b[2] = {lo, hi};
    for (int i = 0; i < 2; i++) {
        if (b[i] < 0) continue;
        sym *s = &c->syms[b[i]];
        if (!s->is_const || numel(s) != 1) return cfail(c, "a run-time %s bound is not supported", i ? "max" : "min");
        d.fa[i] = s->dtype == SYM_I64 ? (float)s->i[0] : s->f[0];
    }
    set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_softmax(conv *c, unsigned op) {
    static const char *const known[] = {"axis", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    int64_t axis = 0;
    if (norm_axis(c, attr_i(c, "axis", c->opset < 13 ? 1 : -1), c->syms[x].rank, &axis)) return -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1, .ia = {(int32_t)axis, c->opset < 13}};
    set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

/* numpy broadcasting of two shapes */
static int broadcast(conv *c, const sym *a, const sym *b, int *rank, int64_t *dims) {
    *rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < *rank; i++) {
        int ia = i - (*rank - a->rank), ib = i - (*rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return cfail(c, "shapes of '%s' and '%s' do not broadcast", a->name, b->name);
        dims[i] = da == 1 ? db : da;
    }
    return 0;
}

static int consumers(conv *c, const char *name);

/* Add(y, b) with y a bias-less QLinear's output that nothing else reads and b a float constant of
 * its N output channels: b becomes the QLinear's bias (kq_output adds it with the same single IEEE
 * addition the Add node would make, so the bits are the same). Returns 1 when folded. */
static int fold_bias(conv *c, int y, int b) {
    sym *sy = &c->syms[y], *sb = &c->syms[b];
    cnode *nd = sy->producer >= 0 ? &c->nodes[sy->producer] : NULL;
    if (!nd || !nd->quant || nd->d.op != OP_QLINEAR || nd->bias || !sb->is_const || sb->dtype != KD_F32) return 0;
    if ((size_t)numel(sb) != nd->rows || sb->rank > sy->rank || consumers(c, sy->name) != 1) return 0;
    for (int i = 0; i + 1 < sb->rank; i++)
        if (sb->dims[i] != 1) return 0;
    if (sb->rank && (size_t)sb->dims[sb->rank - 1] != nd->rows) return 0;
    if (!(nd->bias = malloc(nd->rows * 4 + 4))) return 0;
    memcpy(nd->bias, sb->f, nd->rows * 4);
    nd->d.noperands = 4;
    nd->d.in[3] = nd->d.in[2];
    return 1;
}

static int op_binary(conv *c, unsigned op) {
    static const char *const none[] = {NULL};
    if (only_attrs(c, none)) return -1;
    int ab[2];
    if (in_sym(c, 0, &ab[0]) || in_sym(c, 1, &ab[1])) return -1;
    if (ab[0] < 0 || ab[1] < 0) return cfail(c, "missing input");
    sym *a = &c->syms[ab[0]], *b = &c->syms[ab[1]];
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (broadcast(c, a, b, &rank, dims)) return -1;
    if (a->is_const && b->is_const && (a->dtype == SYM_I64 || b->dtype == SYM_I64)) {
        /* shape arithmetic on int64 constants: same size or one scalar */
        if (a->dtype != SYM_I64 || b->dtype != SYM_I64) return cfail(c, "mixed int64/float constants");
        int64_t na = numel(a), nb = numel(b), n = na > nb ? na : nb;
        if ((na != n && na != 1) || (nb != n && nb != 1) || n > 64) return cfail(c, "int64 arithmetic beyond scalars");
        int64_t out[64];
        for (int64_t i = 0; i < n; i++) {
            int64_t x = a->i[na == 1 ? 0 : i], y = b->i[nb == 1 ? 0 : i];
            if (op == OP_DIV && y == 0) return cfail(c, "int64 division by zero");
            out[i] = op == OP_ADD ? x + y : op == OP_SUB ? x - y : op == OP_MUL ? x * y : x / y;
        }
        return new_const(c, out_name(c, 0), SYM_I64, rank, dims, out) < 0 ? -1 : 0;
    }
    if (op == OP_ADD && fold_bias(c, ab[0], ab[1]) == 1) return alias(c, ab[0], out_name(c, 0)) < 0 ? -1 : 0;
    if (op == OP_ADD && fold_bias(c, ab[1], ab[0]) == 1) return alias(c, ab[1], out_name(c, 0)) < 0 ? -1 : 0;
    kd_desc d = {.op = (uint16_t)op, .noperands = 2};
    set_out(&d, rank, dims);
    return emit(c, &d, ab, out_name(c, 0)) < 0 ? -1 : 0;
}

static int reshape_to(conv *c, int x, int rank, const int64_t *dims, const char *name) {
    sym *s = &c->syms[x];
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (n != numel(s)) return cfail(c, "reshape of %lld elements to %lld", (long long)numel(s), (long long)n);
    if (s->is_const) { /* a constant is simply re-dimensioned */
        int k = alias(c, x, name);
        if (k < 0) return -1;
        return set_dims(c, &c->syms[k], rank, dims);
    }
    kd_desc d = {.op = OP_RESHAPE, .noperands = 1};
    set_out(&d, rank, dims);
    return emit(c, &d, &x, name) < 0 ? -1 : 0;
}

static int op_flatten(conv *c) {
    static const char *const known[] = {"axis", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t axis = attr_i(c, "axis", 1);
    if (axis < 0) axis += s->rank;
    if (axis < 0 || axis > s->rank) return cfail(c, "axis out of range");
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < s->rank; i++) dims[i >= axis] *= s->dims[i];
    return reshape_to(c, x, 2, dims, out_name(c, 0));
}

static int op_reshape(conv *c) {
    static const char *const known[] = {"allowzero", "shape", NULL};
    if (only_attrs(c, known)) return -1;
    int x, sh;
    if (in_sym(c, 0, &x) || in_sym(c, 1, &sh) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    int64_t shape[KD_MAX_RANK];
    int rank;
    if (sh >= 0) {
        sym *t = &c->syms[sh];
        if (!t->is_const || t->dtype != SYM_I64) return cfail(c, "a run-time shape is not supported");
        if (numel(t) > KD_MAX_RANK) return cfail(c, "rank %lld is not supported", (long long)numel(t));
        rank = (int)numel(t);
        memcpy(shape, t->i, (size_t)rank * 8);
    } else if ((rank = attr_ints(c, "shape", shape, KD_MAX_RANK)) < 0) {
        return cfail(c, "no shape");
    }
    sym *s = &c->syms[x];
    int allowzero = (int)attr_i(c, "allowzero", 0), infer = -1;
    int64_t known_prod = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= s->rank) return cfail(c, "shape copies a missing dimension");
            shape[i] = s->dims[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0) return cfail(c, "two -1 dimensions");
            infer = i;
        } else if (shape[i] < 0) {
            return cfail(c, "bad dimension %lld", (long long)shape[i]);
        } else {
            known_prod *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known_prod == 0 || numel(s) % known_prod) return cfail(c, "cannot infer the -1 dimension");
        shape[infer] = numel(s) / known_prod;
    }
    return reshape_to(c, x, rank, shape, out_name(c, 0));
}

/* axes of Squeeze/Unsqueeze: attribute (opset < 13) or constant input 1 */
static int axes_of(conv *c, int64_t *axes, int *n) {
    int a;
    if (in_sym(c, 1, &a)) return -1;
    if (a >= 0) {
        sym *t = &c->syms[a];
        if (!t->is_const || t->dtype != SYM_I64 || numel(t) > KD_MAX_RANK) return cfail(c, "axes must be a constant");
        *n = (int)numel(t);
        memcpy(axes, t->i, (size_t)*n * 8);
        return 0;
    }
    *n = attr_ints(c, "axes", axes, KD_MAX_RANK);
    if (*n == -2) return cfail(c, "too many axes");
    return 0;
}

static int op_squeeze(conv *c, int unsqueeze) {
    static const char *const known[] = {"axes", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t axes[KD_MAX_RANK], dims[KD_MAX_RANK];
    int n = 0, rank = 0;
    if (axes_of(c, axes, &n)) return -1;
    if (unsqueeze) {
        int outrank = s->rank + n;
        if (n < 0 || outrank > KD_MAX_RANK) return cfail(c, "bad axes");
        int mark[KD_MAX_RANK] = {0};
        for (int i = 0; i < n; i++) {
            int64_t a = 0;
            if (norm_axis(c, axes[i], outrank, &a)) return -1;
            if (mark[a]) return cfail(c, "repeated axis");
            mark[a] = 1;
        }
        for (int i = 0, j = 0; i < outrank; i++) dims[rank++] = mark[i] ? 1 : s->dims[j++];
    } else {
        int mark[KD_MAX_RANK] = {0};
        for (int i = 0; i < n; i++) {
            int64_t a = 0;
            if (norm_axis(c, axes[i], s->rank, &a)) return -1;
            if (s->dims[a] != 1) return cfail(c, "axis %lld has size %lld, not 1", (long long)a, (long long)s->dims[a]);
            mark[a] = 1;
        }
        for (int i = 0; i < s->rank; i++)
            if (!(n < 0 ? s->dims[i] == 1 : mark[i])) dims[rank++] = s->dims[i];
    }
    return reshape_to(c, x, rank, dims, out_name(c, 0));
}

static int op_transpose(conv *c) {
    static const char *const known[] = {"perm", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t perm[KD_MAX_RANK], dims[KD_MAX_RANK];
    int n = attr_ints(c, "perm", perm, KD_MAX_RANK);
    if (n < 0)
        for (n = 0; n < s->rank; n++) perm[n] = s->rank - 1 - n;
    if (n != s->rank) return cfail(c, "perm has %d entries for rank %d", n, s->rank);
    kd_desc d = {.op = OP_TRANSPOSE, .noperands = 1};
    for (int i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n) return cfail(c, "bad perm");
        d.ia[i] = (int32_t)perm[i];
        dims[i] = s->dims[perm[i]];
    }
    set_out(&d, n, dims);
    if (s->dtype == SYM_I64) return cfail(c, "transpose of an int64 tensor");
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_concat(conv *c) {
    static const char *const known[] = {"axis", NULL};
    if (only_attrs(c, known)) return -1;
    int ops[KD_MAX_OPERANDS], n = 0;
    for (size_t i = 0; i < c->cur->n_input; i++) {
        int k;
        if (in_sym(c, i, &k)) return -1;
        if (k < 0) continue;
        if (numel(&c->syms[k]) == 0 && c->syms[k].rank == 1) continue; /* ONNX allows empty pieces */
        if (n == KD_MAX_OPERANDS) return cfail(c, "more than %d inputs", KD_MAX_OPERANDS);
        ops[n++] = k;
    }
    if (n == 0) return cfail(c, "no inputs");
    sym *s0 = &c->syms[ops[0]];
    int64_t axis = 0;
    if (norm_axis(c, attr_i(c, "axis", 0), s0->rank, &axis)) return -1;
    int64_t dims[KD_MAX_RANK];
    memcpy(dims, s0->dims, sizeof dims);
    int all_i64 = 1;
    for (int j = 1; j < n; j++) dims[axis] += c->syms[ops[j]].dims[axis];
    for (int j = 0; j < n; j++) all_i64 &= c->syms[ops[j]].is_const && c->syms[ops[j]].dtype == SYM_I64;
    if (all_i64) { /* shape vectors */
        if (s0->rank != 1 || dims[0] > 64) return cfail(c, "int64 concat beyond shape vectors");
        int64_t out[64];
        int at = 0;
        for (int j = 0; j < n; j++) {
            memcpy(out + at, c->syms[ops[j]].i, (size_t)c->syms[ops[j]].dims[0] * 8);
            at += (int)c->syms[ops[j]].dims[0];
        }
        return new_const(c, out_name(c, 0), SYM_I64, 1, dims, out) < 0 ? -1 : 0;
    }
    kd_desc d = {.op = OP_CONCAT, .noperands = (uint8_t)n, .ia = {(int32_t)axis}};
    set_out(&d, s0->rank, dims);
    return emit(c, &d, ops, out_name(c, 0)) < 0 ? -1 : 0;
}

/* One strided slice of x into `name` (start/step per dim, output dims). */
static int emit_slice(conv *c, int x, const int64_t *start, const int64_t *step, const int64_t *dims, const char *name) {
    sym *s = &c->syms[x];
    if (s->dtype == SYM_I64) { /* slicing shape vectors */
        if (s->rank != 1 || dims[0] > 64) return cfail(c, "int64 slice beyond shape vectors");
        int64_t out[64];
        for (int64_t i = 0; i < dims[0]; i++) out[i] = s->i[start[0] + i * step[0]];
        return new_const(c, name, SYM_I64, 1, dims, out) < 0 ? -1 : 0;
    }
    kd_desc d = {.op = OP_SLICE, .noperands = 1};
    for (int k = 0; k < s->rank; k++) d.ia[k] = (int32_t)start[k], d.ia[6 + k] = (int32_t)step[k];
    set_out(&d, s->rank, dims);
    return emit(c, &d, &x, name) < 0 ? -1 : 0;
}

static int op_split(conv *c) {
    static const char *const known[] = {"axis", "split", "num_outputs", NULL};
    if (only_attrs(c, known)) return -1;
    int x, sp;
    if (in_sym(c, 0, &x) || in_sym(c, 1, &sp) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t axis = 0, parts[64];
    if (norm_axis(c, attr_i(c, "axis", 0), s->rank, &axis)) return -1;
    int n = (int)c->cur->n_output;
    if (n < 1 || n > 64) return cfail(c, "%d outputs", n);
    if (sp >= 0) {
        sym *t = &c->syms[sp];
        if (!t->is_const || t->dtype != SYM_I64 || numel(t) != n) return cfail(c, "split sizes must be a constant per output");
        memcpy(parts, t->i, (size_t)n * 8);
    } else if (attr_ints(c, "split", parts, 64) != n) {
        if (attr(c, "split")) return cfail(c, "split sizes do not match the outputs");
        int64_t each = (s->dims[axis] + n - 1) / n;
        for (int i = 0; i < n; i++) parts[i] = i < n - 1 ? each : s->dims[axis] - each * (n - 1);
    }
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (parts[i] < 0 || at + parts[i] > s->dims[axis]) return cfail(c, "split sizes exceed the axis");
        int64_t start[KD_MAX_RANK] = {0}, step[KD_MAX_RANK], dims[KD_MAX_RANK];
        for (int k = 0; k < s->rank; k++) step[k] = 1, dims[k] = s->dims[k];
        start[axis] = at, dims[axis] = parts[i];
        if (parts[i] == 0) start[axis] = 0;
        if (c->cur->output[i][0] && emit_slice(c, x, start, step, dims, c->cur->output[i])) return -1;
        at += parts[i];
    }
    if (at != s->dims[axis]) return cfail(c, "split sizes do not cover the axis");
    return 0;
}

/* ints from a constant input or an attribute (Slice before opset 10) */
static int ints_of(conv *c, size_t input, const char *attrname, int64_t *out, int *n) {
    int k;
    if (in_sym(c, input, &k)) return -1;
    if (k >= 0) {
        sym *t = &c->syms[k];
        if (!t->is_const || t->dtype != SYM_I64 || numel(t) > KD_MAX_RANK) return cfail(c, "%s must be constant", attrname);
        *n = (int)numel(t);
        memcpy(out, t->i, (size_t)*n * 8);
        return 0;
    }
    *n = attr_ints(c, attrname, out, KD_MAX_RANK);
    return 0;
}

static int op_slice(conv *c) {
    static const char *const known[] = {"starts", "ends", "axes", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t starts[KD_MAX_RANK], ends[KD_MAX_RANK], axes[KD_MAX_RANK], steps[KD_MAX_RANK];
    int ns, ne, na, nst;
    if (ints_of(c, 1, "starts", starts, &ns) || ints_of(c, 2, "ends", ends, &ne) || ints_of(c, 3, "axes", axes, &na) ||
        ints_of(c, 4, "steps", steps, &nst))
        return -1;
    if (ns < 0 || ns != ne) return cfail(c, "starts and ends differ in length");
    if (na < 0)
        for (na = 0; na < ns; na++) axes[na] = na;
    if (nst < 0)
        for (nst = 0; nst < ns; nst++) steps[nst] = 1;
    if (na != ns || nst != ns) return cfail(c, "axes or steps differ in length");
    int64_t start[KD_MAX_RANK] = {0}, step[KD_MAX_RANK], dims[KD_MAX_RANK];
    for (int k = 0; k < s->rank; k++) step[k] = 1, dims[k] = s->dims[k];
    for (int i = 0; i < ns; i++) {
        int64_t a = 0;
        if (norm_axis(c, axes[i], s->rank, &a)) return -1;
        int64_t d = s->dims[a], st = steps[i], b = starts[i], e = ends[i];
        if (st == 0) return cfail(c, "step 0");
        if (b < 0) b += d;
        if (e < 0) e += d;
        if (st > 0) {
            b = b < 0 ? 0 : b > d ? d : b;
            e = e < 0 ? 0 : e > d ? d : e;
            dims[a] = e > b ? (e - b + st - 1) / st : 0;
        } else {
            b = b < 0 ? -1 : b > d - 1 ? d - 1 : b;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            dims[a] = b > e ? (b - e + (-st) - 1) / (-st) : 0;
        }
        start[a] = dims[a] ? b : 0, step[a] = st;
    }
    return emit_slice(c, x, start, step, dims, out_name(c, 0));
}

/* pads and output size of 2-D windows (Conv, pools) including auto_pad */
static int window2d(conv *c, const sym *x, const int64_t *k, const int64_t *st, const int64_t *dil, int ceil_mode,
                    int64_t *pads /* t l b r */, int64_t *out) {
    const char *ap = attr_s(c, "auto_pad", "NOTSET");
    for (int i = 0; i < 2; i++) {
        int64_t in = x->dims[2 + i], ext = dil[i] * (k[i] - 1) + 1;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            int64_t o = (in + st[i] - 1) / st[i], total = (o - 1) * st[i] + ext - in;
            if (total < 0) total = 0;
            int64_t small = total / 2, big = total - small;
            pads[i] = !strcmp(ap, "SAME_UPPER") ? small : big;
            pads[2 + i] = total - pads[i];
        } else if (!strcmp(ap, "VALID")) {
            pads[i] = pads[2 + i] = 0;
        } else if (strcmp(ap, "NOTSET")) {
            return cfail(c, "auto_pad '%s' is not supported", ap);
        }
        int64_t span = in + pads[i] + pads[2 + i] - ext;
        if (span < 0) return cfail(c, "window larger than the padded input");
        out[i] = (ceil_mode ? (span + st[i] - 1) / st[i] : span / st[i]) + 1;
        if (ceil_mode && (out[i] - 1) * st[i] >= in + pads[i]) out[i]--;
    }
    return 0;
}

/* 2-D window attributes shared by Conv and the pools */
static int window_attrs(conv *c, const sym *x, int64_t *k, int64_t *st, int64_t *dil, int64_t *pads) {
    if (x->rank != 4) return cfail(c, "only 1-D and 2-D (rank 3 or 4) inputs are supported, not rank %d", x->rank);
    int n, d = c->as1d ? 1 : 2; /* 1-D attributes describe the width; the height is 1 */
    int64_t v[4];
    if ((n = attr_ints(c, "kernel_shape", v, d)) != d && n != -1) return cfail(c, "kernel_shape must have %d entries", d);
    if (n == d) k[0] = d == 1 ? 1 : v[0], k[1] = v[d - 1];
    if ((n = attr_ints(c, "strides", v, d)) == -1) st[0] = st[1] = 1;
    else if (n != d) return cfail(c, "strides must have %d entries", d);
    else st[0] = d == 1 ? 1 : v[0], st[1] = v[d - 1];
    if ((n = attr_ints(c, "dilations", v, d)) == -1) dil[0] = dil[1] = 1;
    else if (n != d) return cfail(c, "dilations must have %d entries", d);
    else dil[0] = d == 1 ? 1 : v[0], dil[1] = v[d - 1];
    if ((n = attr_ints(c, "pads", v, 2 * d)) == -1) pads[0] = pads[1] = pads[2] = pads[3] = 0;
    else if (n != 2 * d) return cfail(c, "pads must have %d entries", 2 * d);
    else if (d == 1) pads[0] = pads[2] = 0, pads[1] = v[0], pads[3] = v[1];
    else memcpy(pads, v, 4 * sizeof *v);
    for (int i = 0; i < 2; i++)
        if (st[i] < 1 || dil[i] < 1 || st[i] > 65536 || dil[i] > 65536) return cfail(c, "bad strides or dilations");
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > 65536) return cfail(c, "bad pads");
    return 0;
}

/* A 1-D Conv or pool's input [N, C, L] as [N, C, 1, L] (a Reshape); sets c->as1d. Returns the
 * view's symbol, or -1. */
static int view_2d(conv *c, int x) {
    const sym *s = &c->syms[x];
    int64_t dims[4] = {s->dims[0], s->dims[1], 1, s->dims[2]};
    char name[300];
    snprintf(name, sizeof name, "%s/as2d", out_name(c, 0));
    if (reshape_to(c, x, 4, dims, name)) return -1;
    c->as1d = 1;
    return find_sym(c, name);
}

/* The 2-D result y [N, M, 1, L'] of a 1-D node, back to [N, M, L'] under the node's output name. */
static int back_to_1d(conv *c, int y) {
    if (y < 0) return -1;
    const sym *s = &c->syms[y];
    int64_t dims[3] = {s->dims[0], s->dims[1], s->dims[3]};
    return reshape_to(c, y, 3, dims, out_name(c, 0));
}

static int op_pool(conv *c, unsigned op) {
    static const char *const known[] = {"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad",
                                        "count_include_pad", "storage_order", NULL};
    if (only_attrs(c, known) || single_output(c)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    if (c->syms[x].rank == 3 && (x = view_2d(c, x)) < 0) return -1;
    sym *s = &c->syms[x];
    int64_t k[2], st[2], dil[2], pads[4], o[2];
    if (window_attrs(c, s, k, st, dil, pads)) return -1;
    if (!attr(c, "kernel_shape")) return cfail(c, "kernel_shape is required");
    if (attr_i(c, "storage_order", 0)) return cfail(c, "storage_order 1 is not supported");
    if (op == OP_AVGPOOL && (dil[0] != 1 || dil[1] != 1)) return cfail(c, "dilations are not supported for AveragePool");
    if (window2d(c, s, k, st, dil, (int)attr_i(c, "ceil_mode", 0), pads, o)) return -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1,
                 .ia = {(int32_t)k[0], (int32_t)k[1], (int32_t)st[0], (int32_t)st[1], (int32_t)pads[0], (int32_t)pads[1],
                        (int32_t)pads[2], (int32_t)pads[3], (int32_t)dil[0], (int32_t)dil[1],
                        (int32_t)attr_i(c, "count_include_pad", 0)}};
    int64_t dims[4] = {s->dims[0], s->dims[1], o[0], o[1]};
    set_out(&d, 4, dims);
    if (c->as1d) {
        char name[300];
        snprintf(name, sizeof name, "%s/2d", out_name(c, 0));
        return back_to_1d(c, emit(c, &d, &x, name));
    }
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_gap(conv *c) {
    static const char *const none[] = {NULL};
    if (only_attrs(c, none)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    if (s->rank < 3) return cfail(c, "input of rank %d", s->rank);
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < s->rank; i++) dims[i] = i < 2 ? s->dims[i] : 1;
    kd_desc d = {.op = OP_GLOBALAVGPOOL, .noperands = 1};
    set_out(&d, s->rank, dims);
    return emit(c, &d, &x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_conv(conv *c) {
    static const char *const known[] = {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", NULL};
    if (only_attrs(c, known)) return -1;
    int x, w, b;
    if (in_sym(c, 0, &x) || in_sym(c, 1, &w) || in_sym(c, 2, &b)) return -1;
    if (x < 0 || w < 0) return cfail(c, "missing input");
    if (!c->syms[w].is_const || c->syms[w].dtype != KD_F32) return cfail(c, "weights must be float32 constants");
    if (c->syms[x].rank == 3 && c->syms[w].rank == 3) { /* 1-D: weights [M, C/G, K] as [M, C/G, 1, K] */
        char name[300];
        snprintf(name, sizeof name, "%s/w2d", out_name(c, 0));
        int64_t wd[4] = {c->syms[w].dims[0], c->syms[w].dims[1], 1, c->syms[w].dims[2]};
        if ((x = view_2d(c, x)) < 0 || (w = alias(c, w, name)) < 0 || set_dims(c, &c->syms[w], 4, wd)) return -1;
    }
    sym *sx = &c->syms[x], *sw = &c->syms[w];
    if (sw->rank != 4) return cfail(c, "only 1-D and 2-D convolutions are supported (weights of rank %d)", sw->rank);
    int64_t k[2] = {sw->dims[2], sw->dims[3]}, st[2], dil[2], pads[4], o[2], ks[2];
    if (window_attrs(c, sx, ks, st, dil, pads)) return -1;
    if (attr(c, "kernel_shape") && (ks[0] != k[0] || ks[1] != k[1])) return cfail(c, "kernel_shape differs from the weights");
    if (window2d(c, sx, k, st, dil, 0, pads, o)) return -1;
    int64_t g = attr_i(c, "group", 1), m = sw->dims[0];
    if (g < 1 || sx->dims[1] % g || m % g || sw->dims[1] != sx->dims[1] / g) return cfail(c, "channels do not fit group %lld", (long long)g);
    size_t rowlen = (size_t)(sw->dims[1] * k[0] * k[1]);
    float *wf = malloc((size_t)m * rowlen * 4 + 4), *bias = NULL;
    if (!wf) return cfail(c, "out of memory");
    memcpy(wf, sw->f, (size_t)m * rowlen * 4);
    if (b >= 0) {
        sym *sb = &c->syms[b];
        if (!sb->is_const || sb->dtype != KD_F32 || numel(sb) != m) {
            free(wf);
            return cfail(c, "bias must be a float32 constant of %lld values", (long long)m);
        }
        bias = malloc((size_t)m * 4);
        if (!bias) {
            free(wf);
            return cfail(c, "out of memory");
        }
        memcpy(bias, sb->f, (size_t)m * 4);
    }
    kd_desc d = {.op = OP_QCONV,
                 .ia = {(int32_t)g, (int32_t)st[0], (int32_t)st[1], (int32_t)pads[0], (int32_t)pads[1], (int32_t)pads[2],
                        (int32_t)pads[3], (int32_t)dil[0], (int32_t)dil[1]}};
    d.in[1].dtype = KD_I8, d.in[1].rank = 4;
    for (int i = 0; i < 4; i++) d.in[1].dims[i] = (uint32_t)sw->dims[i];
    int64_t dims[4] = {sx->dims[0], m, o[0], o[1]};
    set_out(&d, 4, dims);
    if (c->as1d) {
        char name[300];
        snprintf(name, sizeof name, "%s/2d", out_name(c, 0));
        return back_to_1d(c, emit_quant(c, &d, x, wf, (size_t)m, rowlen, bias, name));
    }
    return emit_quant(c, &d, x, wf, (size_t)m, rowlen, bias, out_name(c, 0)) < 0 ? -1 : 0;
}

/* A transposed copy (rank 2) or a plain one, emitted as a node when the symbol is a value. */
static int transpose2(conv *c, int x, const char *suffix) {
    sym *s = &c->syms[x];
    if (s->rank != 2) return cfail(c, "transposed operand of rank %d", s->rank);
    char name[300];
    snprintf(name, sizeof name, "%s/%s", c->cur->output[0], suffix);
    kd_desc d = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0}};
    int64_t dims[2] = {s->dims[1], s->dims[0]};
    set_out(&d, 2, dims);
    return emit(c, &d, &x, name);
}

/* QLinear of value x with constant B: wt says B is already [N, K] (Gemm transB) */
static int linear_const(conv *c, int x, int bsym, int wt, float alpha, const float *bias, int64_t nb, const char *name) {
    sym *sx = &c->syms[x], *sb = &c->syms[bsym];
    if (sb->dtype != KD_F32) return cfail(c, "weights must be float32");
    int64_t kdim = wt ? sb->dims[1] : sb->dims[0], n = wt ? sb->dims[0] : sb->dims[1];
    if (sx->rank < 1 || sx->dims[sx->rank - 1] != kdim)
        return cfail(c, "inner dimensions differ (%lld and %lld)", (long long)(sx->rank ? sx->dims[sx->rank - 1] : 0), (long long)kdim);
    float *wf = malloc((size_t)(n * kdim) * 4 + 4), *bf = NULL;
    if (!wf) return cfail(c, "out of memory");
    for (int64_t o = 0; o < n; o++)
        for (int64_t i = 0; i < kdim; i++) {
            float v = wt ? sb->f[o * kdim + i] : sb->f[i * n + o];
            wf[o * kdim + i] = alpha == 1.0f ? v : v * alpha;
        }
    if (bias) {
        bf = malloc((size_t)n * 4 + 4);
        if (!bf) {
            free(wf);
            return cfail(c, "out of memory");
        }
        for (int64_t o = 0; o < n; o++) bf[o] = bias[nb == 1 ? 0 : o];
    }
    kd_desc d = {.op = OP_QLINEAR};
    d.in[1].dtype = KD_I8, d.in[1].rank = 2, d.in[1].dims[0] = (uint32_t)n, d.in[1].dims[1] = (uint32_t)kdim;
    int64_t dims[KD_MAX_RANK];
    int rank = sx->rank;
    memcpy(dims, sx->dims, sizeof dims);
    dims[rank - 1] = n;
    set_out(&d, rank, dims);
    return emit_quant(c, &d, x, wf, (size_t)n, (size_t)kdim, bf, name);
}

static int op_gemm(conv *c) {
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    if (only_attrs(c, known)) return -1;
    int a, b, cc;
    if (in_sym(c, 0, &a) || in_sym(c, 1, &b) || in_sym(c, 2, &cc)) return -1;
    if (a < 0 || b < 0) return cfail(c, "missing input");
    float alpha = attr_f(c, "alpha", 1.0f), beta = attr_f(c, "beta", 1.0f);
    int ta = (int)attr_i(c, "transA", 0), tb = (int)attr_i(c, "transB", 0);
    if (c->syms[a].rank != 2 || c->syms[b].rank != 2) return cfail(c, "Gemm operands must be matrices");
    if (ta && (a = transpose2(c, a, "transA")) < 0) return -1;
    sym *sb = &c->syms[b];
    int64_t n = tb ? sb->dims[0] : sb->dims[1];
    int bias_folded = 0;
    float *biasv = NULL;
    const char *name = out_name(c, 0);
    char tmpname[300];
    if (cc >= 0) {
        sym *sc = &c->syms[cc];
        int64_t ncn = numel(sc);
        if (sc->is_const && sc->dtype == KD_F32 && (ncn == 1 || (ncn == n && (sc->rank == 1 || sc->dims[0] == 1)))) {
            biasv = malloc((size_t)ncn * 4 + 4);
            if (!biasv) return cfail(c, "out of memory");
            for (int64_t i = 0; i < ncn; i++) biasv[i] = beta == 1.0f ? sc->f[i] : sc->f[i] * beta;
            bias_folded = 1;
        }
    }
    int needs_more = (cc >= 0 && !bias_folded) || (!sb->is_const && alpha != 1.0f);
    if (needs_more) snprintf(tmpname, sizeof tmpname, "%s/product", name);
    int y;
    if (sb->is_const) {
        y = linear_const(c, a, b, tb, alpha, biasv, cc >= 0 ? numel(&c->syms[cc]) : 0, needs_more ? tmpname : name);
        free(biasv);
        biasv = NULL;
        if (y < 0) return -1;
        if (bias_folded) return 0;
    } else {
        free(biasv);
        if (tb && (b = transpose2(c, b, "transB")) < 0) return -1;
        kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
        int64_t dims[2] = {c->syms[a].dims[0], c->syms[b].dims[1]};
        set_out(&d, 2, dims);
        int ops[2] = {a, b};
        char pname[300];
        snprintf(pname, sizeof pname, "%s/matmul", name);
        if ((y = emit(c, &d, ops, (cc >= 0 || alpha != 1.0f) ? pname : name)) < 0) return -1;
        if (alpha != 1.0f) {
            int64_t one = 1;
            char an[300];
            snprintf(an, sizeof an, "%s/alpha", name);
            int ka = new_const(c, an, KD_F32, 1, &one, &alpha);
            if (ka < 0) return -1;
            kd_desc m = {.op = OP_MUL, .noperands = 2};
            set_out(&m, 2, dims);
            int ops2[2] = {y, ka};
            char mn[300];
            snprintf(mn, sizeof mn, "%s/scaled", name);
            if ((y = emit(c, &m, ops2, cc >= 0 ? mn : name)) < 0) return -1;
        }
        if (cc < 0) return 0;
    }
    /* Y = product + beta * C, C not folded into the bias */
    int ck = cc;
    if (beta != 1.0f) {
        int64_t one = 1;
        char bn[300], sn[300];
        snprintf(bn, sizeof bn, "%s/beta", name);
        snprintf(sn, sizeof sn, "%s/betaC", name);
        int kb = new_const(c, bn, KD_F32, 1, &one, &beta);
        if (kb < 0) return -1;
        kd_desc m = {.op = OP_MUL, .noperands = 2};
        set_out(&m, c->syms[cc].rank, c->syms[cc].dims);
        int ops2[2] = {cc, kb};
        if ((ck = emit(c, &m, ops2, sn)) < 0) return -1;
    }
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (broadcast(c, &c->syms[y], &c->syms[ck], &rank, dims)) return -1;
    kd_desc ad = {.op = OP_ADD, .noperands = 2};
    set_out(&ad, rank, dims);
    int ops3[2] = {y, ck};
    return emit(c, &ad, ops3, name) < 0 ? -1 : 0;
}

static int op_matmul(conv *c) {
    static const char *const none[] = {NULL};
    if (only_attrs(c, none)) return -1;
    int a, b;
    if (in_sym(c, 0, &a) || in_sym(c, 1, &b)) return -1;
    if (a < 0 || b < 0) return cfail(c, "missing input");
    sym *sa = &c->syms[a], *sb = &c->syms[b];
    if (sb->is_const && sb->rank == 2 && !sa->is_const) return linear_const(c, a, b, 0, 1.0f, NULL, 0, out_name(c, 0)) < 0 ? -1 : 0;
    if (sa->rank < 2 || sb->rank < 2) return cfail(c, "MatMul of a 1-D run-time operand is not supported");
    kd_desc d = {.op = OP_QMATMUL, .noperands = 2};
    int rank = sa->rank > sb->rank ? sa->rank : sb->rank;
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < rank - 2; i++) {
        int ia = i - (rank - sa->rank), ib = i - (rank - sb->rank);
        int64_t da = ia >= 0 ? sa->dims[ia] : 1, db = ib >= 0 ? sb->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return cfail(c, "batch dimensions do not broadcast");
        dims[i] = da == 1 ? db : da;
    }
    dims[rank - 2] = sa->dims[sa->rank - 2];
    dims[rank - 1] = sb->dims[sb->rank - 1];
    set_out(&d, rank, dims);
    int ops[2] = {a, b};
    return emit(c, &d, ops, out_name(c, 0)) < 0 ? -1 : 0;
}

/* How many node inputs and graph outputs name this tensor. */
static int consumers(conv *c, const char *name) {
    int n = 0;
    for (size_t i = 0; i < c->g->n_node; i++)
        for (size_t j = 0; j < c->g->node[i]->n_input; j++) n += !strcmp(c->g->node[i]->input[j], name);
    for (size_t o = 0; o < c->g->n_output; o++) n += !strcmp(c->g->output[o]->name, name);
    return n;
}

/* A BatchNormalization that cannot be folded: y = ((x - mean) * f) + beta per channel (dimension
 * 1), f = gamma / kf_sqrt(var + eps), as Sub, Mul and Add nodes with [C, 1, ..] constants. */
static int batchnorm_alone(conv *c, int x, const int *p, float eps) {
    const sym *sx = &c->syms[x];
    if (sx->rank < 2) return cfail(c, "input of rank %d has no channel dimension", sx->rank);
    int64_t ch = sx->dims[1], dims[KD_MAX_RANK];
    for (int i = 0; i < 4; i++)
        if (numel(&c->syms[p[i]]) != ch) return cfail(c, "parameters do not have %lld channels", (long long)ch);
    for (int i = 0; i < sx->rank - 1; i++) dims[i] = i == 0 ? ch : 1;
    float *f = malloc((size_t)ch * 4 + 4);
    if (!f) return cfail(c, "out of memory");
    for (int64_t o = 0; o < ch; o++) f[o] = c->syms[p[0]].f[o] / kf_sqrt(c->syms[p[3]].f[o] + eps);
    const char *name = out_name(c, 0);
    char n1[300], n2[300], n3[300], n4[300], n5[300];
    snprintf(n1, sizeof n1, "%s/mean", name), snprintf(n2, sizeof n2, "%s/factor", name);
    snprintf(n3, sizeof n3, "%s/beta", name), snprintf(n4, sizeof n4, "%s/centred", name);
    snprintf(n5, sizeof n5, "%s/scaled", name);
    int km = new_const(c, n1, KD_F32, sx->rank - 1, dims, c->syms[p[2]].f);
    int kf = km < 0 ? -1 : new_const(c, n2, KD_F32, sx->rank - 1, dims, f);
    int kb = kf < 0 ? -1 : new_const(c, n3, KD_F32, sx->rank - 1, dims, c->syms[p[1]].f);
    free(f);
    if (kb < 0) return -1;
    kd_desc d = {.op = OP_SUB, .noperands = 2};
    set_out(&d, c->syms[x].rank, c->syms[x].dims);
    int ops[2] = {x, km};
    int y = emit(c, &d, ops, n4);
    if (y < 0) return -1;
    d.op = OP_MUL, ops[0] = y, ops[1] = kf;
    if ((y = emit(c, &d, ops, n5)) < 0) return -1;
    d.op = OP_ADD, ops[0] = y, ops[1] = kb;
    return emit(c, &d, ops, name) < 0 ? -1 : 0;
}

static int op_batchnorm(conv *c) {
    static const char *const known[] = {"epsilon", "momentum", "training_mode", "spatial", NULL};
    if (only_attrs(c, known) || single_output(c)) return -1;
    if (attr_i(c, "training_mode", 0)) return cfail(c, "training_mode is not supported");
    if (!attr_i(c, "spatial", 1)) return cfail(c, "spatial=0 is not supported");
    int x, p[4];
    if (in_sym(c, 0, &x)) return -1;
    for (int i = 0; i < 4; i++)
        if (in_sym(c, (size_t)i + 1, &p[i]) || p[i] < 0 || !c->syms[p[i]].is_const || c->syms[p[i]].dtype != KD_F32)
            return cfail(c, "scale, bias, mean and variance must be float32 constants");
    if (x < 0) return cfail(c, "missing input");
    sym *sx = &c->syms[x];
    int prod = sx->producer;
    cnode *nd = prod >= 0 ? &c->nodes[prod] : NULL;
    float eps = attr_f(c, "epsilon", 1e-5f);
    if (!nd || !nd->quant || consumers(c, sx->name) != 1 || (nd->d.op == OP_QLINEAR && sx->rank != 2))
        return batchnorm_alone(c, x, p, eps);
    size_t m = nd->rows;
    for (int i = 0; i < 4; i++)
        if ((size_t)numel(&c->syms[p[i]]) != m) return cfail(c, "parameters do not have %zu channels", m);
    if (!nd->bias) {
        nd->bias = calloc(m, 4);
        if (!nd->bias) return cfail(c, "out of memory");
        nd->d.noperands = 4;
        nd->d.in[3] = nd->d.in[2];
    }
    const float *gamma = c->syms[p[0]].f, *beta = c->syms[p[1]].f, *mean = c->syms[p[2]].f, *var = c->syms[p[3]].f;
    for (size_t o = 0; o < m; o++) {
        float f = gamma[o] / kf_sqrt(var[o] + eps);
        for (size_t i = 0; i < nd->rowlen; i++) nd->wf[o * nd->rowlen + i] = nd->wf[o * nd->rowlen + i] * f;
        nd->bias[o] = (nd->bias[o] - mean[o]) * f + beta[o];
    }
    return alias(c, x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int op_shape(conv *c) {
    static const char *const known[] = {"start", "end", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t b = attr_i(c, "start", 0), e = attr_i(c, "end", s->rank);
    if (b < 0) b += s->rank;
    if (e < 0) e += s->rank;
    b = b < 0 ? 0 : b > s->rank ? s->rank : b;
    e = e < b ? b : e > s->rank ? s->rank : e;
    int64_t n = e - b;
    return new_const(c, out_name(c, 0), SYM_I64, 1, &n, s->dims + b) < 0 ? -1 : 0;
}

static int op_gather(conv *c) {
    static const char *const known[] = {"axis", NULL};
    if (only_attrs(c, known)) return -1;
    int x, ix;
    if (in_sym(c, 0, &x) || in_sym(c, 1, &ix) || x < 0 || ix < 0) return -1;
    sym *s = &c->syms[x], *si = &c->syms[ix];
    if (!s->is_const || !si->is_const || si->dtype != SYM_I64 || s->rank != 1 || attr_i(c, "axis", 0) != 0 || numel(si) > 64)
        return cfail(c, "only gathering from a constant vector is supported (run-time Gather is not)");
    int64_t out[64];
    float outf[64];
    for (int64_t i = 0; i < numel(si); i++) {
        int64_t j = si->i[i] < 0 ? si->i[i] + s->dims[0] : si->i[i];
        if (j < 0 || j >= s->dims[0]) return cfail(c, "index out of range");
        if (s->dtype == SYM_I64) out[i] = s->i[j];
        else outf[i] = s->f[j];
    }
    return new_const(c, out_name(c, 0), s->dtype, si->rank, si->dims, s->dtype == SYM_I64 ? (void *)out : (void *)outf) < 0 ? -1 : 0;
}

static int op_cast(conv *c) {
    static const char *const known[] = {"to", "saturate", NULL};
    if (only_attrs(c, known)) return -1;
    int x;
    if (in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    sym *s = &c->syms[x];
    int64_t to = attr_i(c, "to", 0);
    int want = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? KD_F32 : to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? SYM_I64 : -1;
    if (want < 0) return cfail(c, "cast to type %lld is not supported", (long long)to);
    if (s->dtype == want) return alias(c, x, out_name(c, 0)) < 0 ? -1 : 0;
    if (!s->is_const) return cfail(c, "run-time cast is not supported");
    size_t n = (size_t)numel(s);
    void *p = malloc(n * 8 + 8);
    if (!p) return cfail(c, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (want == KD_F32) ((float *)p)[i] = (float)s->i[i];
        else ((int64_t *)p)[i] = (int64_t)s->f[i];
    }
    int k = new_const(c, out_name(c, 0), want, s->rank, s->dims, p);
    free(p);
    return k < 0 ? -1 : 0;
}

static int op_constant(conv *c) {
    const Onnx__AttributeProto *a = c->cur->n_attribute == 1 ? c->cur->attribute[0] : NULL;
    if (!a) return cfail(c, "needs exactly one attribute");
    int64_t n;
    if (!strcmp(a->name, "value") && a->t) return add_tensor_const(c, out_name(c, 0), a->t) < 0 ? -1 : 0;
    if (!strcmp(a->name, "value_float")) return new_const(c, out_name(c, 0), KD_F32, 0, NULL, &a->f) < 0 ? -1 : 0;
    if (!strcmp(a->name, "value_int")) return new_const(c, out_name(c, 0), SYM_I64, 0, NULL, &a->i) < 0 ? -1 : 0;
    if (!strcmp(a->name, "value_floats")) {
        n = (int64_t)a->n_floats;
        return new_const(c, out_name(c, 0), KD_F32, 1, &n, a->floats) < 0 ? -1 : 0;
    }
    if (!strcmp(a->name, "value_ints")) {
        n = (int64_t)a->n_ints;
        return new_const(c, out_name(c, 0), SYM_I64, 1, &n, a->ints) < 0 ? -1 : 0;
    }
    return cfail(c, "attribute '%s' is not supported", a->name);
}

static int op_identity(conv *c) {
    int x;
    if (single_output(c) || in_sym(c, 0, &x) || x < 0) return x < 0 ? cfail(c, "missing input") : -1;
    if (!strcmp(c->cur->op_type, "Dropout") && c->cur->n_input > 2 && c->cur->input[2][0]) {
        int t = find_sym(c, c->cur->input[2]);
        if (t < 0 || !c->syms[t].is_const || (c->syms[t].dtype == SYM_I64 ? c->syms[t].i[0] : (int64_t)c->syms[t].f[0]))
            return cfail(c, "training mode is not supported");
    }
    return alias(c, x, out_name(c, 0)) < 0 ? -1 : 0;
}

static int convert_node(conv *c) {
    const char *t = c->cur->op_type;
    c->as1d = 0;
    if (c->cur->domain && *c->cur->domain && strcmp(c->cur->domain, "ai.onnx"))
        return cfail(c, "operator domain '%s' is not supported", c->cur->domain);
    if (!strcmp(t, "Gemm")) return op_gemm(c);
    if (!strcmp(t, "MatMul")) return op_matmul(c);
    if (!strcmp(t, "Conv")) return op_conv(c);
    if (!strcmp(t, "Relu")) return op_unary(c, OP_RELU);
    if (!strcmp(t, "LeakyRelu")) return op_unary(c, OP_LEAKYRELU);
    if (!strcmp(t, "Sigmoid")) return op_unary(c, OP_SIGMOID);
    if (!strcmp(t, "Tanh")) return op_unary(c, OP_TANH);
    if (!strcmp(t, "Exp")) return op_unary(c, OP_EXP);
    if (!strcmp(t, "Log")) return op_unary(c, OP_LOG);
    if (!strcmp(t, "Sqrt")) return op_unary(c, OP_SQRT);
    if (!strcmp(t, "Neg")) return op_unary(c, OP_NEG);
    if (!strcmp(t, "Abs")) return op_unary(c, OP_ABS);
    if (!strcmp(t, "ReduceSum")) return op_reduce(c, OP_REDUCESUM);
    if (!strcmp(t, "ReduceMean")) return op_reduce(c, OP_REDUCEMEAN);
    if (!strcmp(t, "ReduceMax")) return op_reduce(c, OP_REDUCEMAX);
    if (!strcmp(t, "Pad")) return op_pad(c);
    if (!strcmp(t, "HardSigmoid")) return op_hard(c, 0);
    if (!strcmp(t, "HardSwish")) return op_hard(c, 1);
    if (!strcmp(t, "Softmax")) return op_softmax(c, OP_SOFTMAX);
    if (!strcmp(t, "LogSoftmax")) return op_softmax(c, OP_LOGSOFTMAX);
    if (!strcmp(t, "MaxPool")) return op_pool(c, OP_MAXPOOL);
    if (!strcmp(t, "AveragePool")) return op_pool(c, OP_AVGPOOL);
    if (!strcmp(t, "GlobalAveragePool")) return op_gap(c);
    if (!strcmp(t, "Add")) return op_binary(c, OP_ADD);
    if (!strcmp(t, "Sub")) return op_binary(c, OP_SUB);
    if (!strcmp(t, "Mul")) return op_binary(c, OP_MUL);
    if (!strcmp(t, "Div")) return op_binary(c, OP_DIV);
    if (!strcmp(t, "Flatten")) return op_flatten(c);
    if (!strcmp(t, "Reshape")) return op_reshape(c);
    if (!strcmp(t, "Squeeze")) return op_squeeze(c, 0);
    if (!strcmp(t, "Unsqueeze")) return op_squeeze(c, 1);
    if (!strcmp(t, "Transpose")) return op_transpose(c);
    if (!strcmp(t, "Concat")) return op_concat(c);
    if (!strcmp(t, "Clip")) return op_clip(c);
    if (!strcmp(t, "Split")) return op_split(c);
    if (!strcmp(t, "Slice")) return op_slice(c);
    if (!strcmp(t, "BatchNormalization")) return op_batchnorm(c);
    if (!strcmp(t, "Shape")) return op_shape(c);
    if (!strcmp(t, "Gather")) return op_gather(c);
    if (!strcmp(t, "Cast")) return op_cast(c);
    if (!strcmp(t, "Constant")) return op_constant(c);
    if (!strcmp(t, "Identity") || !strcmp(t, "Dropout")) return op_identity(c);
    return cfail(c, "operator %s is not supported", t);
}

/* ---- finishing: weights, nodes, the model file ---- */

typedef struct built {
    opml_weight *w;
    size_t nw, cap;
    void **owned;
    size_t nowned;
} built;

static int add_weight(conv *c, built *b, const kd_tensor *t, void *data /* owned from now on */) {
    if (b->nw == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 32;
        opml_weight *w = realloc(b->w, cap * sizeof *w);
        void **o = realloc(b->owned, cap * sizeof *o);
        if (o) b->owned = o;
        if (!w || !o) {
            if (w) b->w = w;
            free(data);
            return cfail(c, "out of memory");
        }
        b->w = w, b->cap = cap;
    }
    memset(&b->w[b->nw], 0, sizeof b->w[b->nw]);
    b->w[b->nw].t = *t;
    b->w[b->nw].data = data;
    b->owned[b->nowned++] = data;
    return (int)b->nw++;
}

static int finish(conv *c, int out_sym, const opml_convert_opts *opts, uint8_t **out, size_t *out_len) {
    built b = {0};
    opml_node *nodes = calloc(c->nnodes + 1, sizeof *nodes);
    int rc = -1;
    if (!nodes) {
        cfail(c, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < c->nnodes; k++) {
        cnode *cn = &c->nodes[k];
        opml_node *nd = &nodes[k];
        nd->d = cn->d;
        for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) nd->ref[j] = OPML_REF_NONE;
        for (unsigned j = 0; j < cn->d.noperands; j++) {
            if (cn->quant && j >= 1) break;
            sym *s = &c->syms[cn->opsym[j]];
            if (!s->is_const) {
                nd->input_mask |= (uint16_t)(1u << j);
                nd->ref[j] = s->value;
                continue;
            }
            if (s->weight < 0) {
                size_t bytes = (size_t)numel(s) * 4;
                void *copy = malloc(bytes + 4);
                if (!copy) {
                    cfail(c, "out of memory");
                    goto done;
                }
                memcpy(copy, s->f, bytes);
                kd_tensor t = sym_tensor(s);
                if ((s->weight = add_weight(c, &b, &t, copy)) < 0) goto done;
            }
            nd->ref[j] = (uint32_t)s->weight;
        }
        if (cn->quant) { /* int8 weights and per-channel scales, by the kernels' own rule */
            int8_t *q = malloc(cn->rows * cn->rowlen + 1);
            float *sc = malloc(cn->rows * 4 + 4);
            if (!q || !sc) {
                free(q), free(sc);
                cfail(c, "out of memory");
                goto done;
            }
            for (size_t o = 0; o < cn->rows; o++) {
                sc[o] = kq_scale(cn->wf + o * cn->rowlen, cn->rowlen, 1);
                kq_quantize(cn->wf + o * cn->rowlen, cn->rowlen, 1, sc[o], q + o * cn->rowlen);
            }
            int wi = add_weight(c, &b, &cn->d.in[1], q), si = wi < 0 ? -1 : add_weight(c, &b, &cn->d.in[2], sc);
            if (wi < 0 || si < 0) {
                if (wi >= 0) free(sc);
                goto done;
            }
            nd->ref[1] = (uint32_t)wi, nd->ref[2] = (uint32_t)si;
            if (cn->bias) {
                float *bc = malloc(cn->rows * 4 + 4);
                if (!bc) {
                    cfail(c, "out of memory");
                    goto done;
                }
                memcpy(bc, cn->bias, cn->rows * 4);
                int bi = add_weight(c, &b, &cn->d.in[3], bc);
                if (bi < 0) goto done;
                nd->ref[3] = (uint32_t)bi;
            }
        }
    }
    opml_model m = {.nin = c->nin, .n = (uint32_t)c->nnodes, .nweights = (uint32_t)b.nw,
                    .output_value = c->syms[out_sym].value, .input_divisor = opts->input_divisor,
                    .inputs = c->inputs, .weights = b.w, .nodes = nodes};
    char inner[400];
    if (opml_model_commit(&m, inner, sizeof inner)) {
        opml_model_free(&m);
        c->cur = NULL;
        cfail(c, "converted model is inconsistent: %s", inner);
        goto done;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || opml_model_write(&m, f) || fclose(f)) {
        opml_model_free(&m);
        free(buf);
        c->cur = NULL;
        cfail(c, "cannot write the model");
        goto done;
    }
    opml_model_free(&m);
    *out = (uint8_t *)buf, *out_len = len;
    rc = 0;
done:
    for (size_t i = 0; i < b.nowned; i++) free(b.owned[i]);
    free(b.owned), free(b.w), free(nodes);
    return rc;
}

static void conv_free(conv *c) {
    for (size_t i = 0; i < c->nsyms; i++) free(c->syms[i].name), free(c->syms[i].f), free(c->syms[i].i);
    for (size_t i = 0; i < c->nnodes; i++) free(c->nodes[i].wf), free(c->nodes[i].bias);
    free(c->syms), free(c->nodes);
}

/* Proto2 leaves absent strings NULL: refuse a graph whose names are missing before reading it. */
static int check_names(conv *c) {
    const Onnx__GraphProto *g = c->g;
    for (size_t i = 0; i < g->n_input; i++)
        if (!g->input[i]->name) return cfail(c, "graph input %zu has no name", i);
    for (size_t i = 0; i < g->n_output; i++)
        if (!g->output[i]->name) return cfail(c, "graph output %zu has no name", i);
    for (size_t n = 0; n < g->n_node; n++) {
        if (!g->node[n]->op_type) return cfail(c, "node %zu has no operator", n);
        for (size_t a = 0; a < g->node[n]->n_attribute; a++)
            if (!g->node[n]->attribute[a]->name) return cfail(c, "node %zu (%s) has an attribute without a name", n, g->node[n]->op_type);
    }
    return 0;
}

static int graph_inputs(conv *c) {
    const Onnx__GraphProto *g = c->g;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi->name || find_sym(c, vi->name) >= 0) continue; /* an initializer listed as input */
        if (c->nin == 64) return cfail(c, "more than 64 graph inputs");
        const Onnx__TypeProto *tp = vi->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type->shape)
            return cfail(c, "graph input '%s' has no tensor shape", vi->name);
        if (tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            return cfail(c, "graph input '%s' is not float32 (type %d)", vi->name, tp->tensor_type->elem_type);
        const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
        int64_t dims[KD_MAX_RANK];
        if (sh->n_dim > KD_MAX_RANK) return cfail(c, "graph input '%s' has rank %zu", vi->name, sh->n_dim);
        for (size_t d = 0; d < sh->n_dim; d++)
            dims[d] = sh->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? sh->dim[d]->dim_value
                                                                                                 : (int64_t)c->batch;
        int k = new_sym(c, vi->name);
        if (k < 0) return cfail(c, "out of memory");
        c->syms[k].dtype = KD_F32;
        if (set_dims(c, &c->syms[k], (int)sh->n_dim, dims)) return -1;
        c->syms[k].value = c->nin;
        c->inputs[c->nin++] = sym_tensor(&c->syms[k]);
    }
    if (!c->nin) return cfail(c, "the graph has no run-time input");
    return 0;
}

int opml_convert_onnx(const uint8_t *onnx, size_t len, const opml_convert_opts *opts, uint8_t **out, size_t *out_len,
                      char *err, size_t errlen) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, onnx);
    if (!mp) {
        snprintf(err, errlen, "not a valid ONNX model (protobuf parse failed)");
        return -1;
    }
    conv c = {.err = err, .errlen = errlen, .batch = opts->batch ? opts->batch : 1, .opset = 0};
    int rc = -1;
    if (!mp->graph) {
        cfail(&c, "ONNX model has no graph");
        goto done;
    }
    c.g = mp->graph;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (!mp->opset_import[i]->domain || !*mp->opset_import[i]->domain || !strcmp(mp->opset_import[i]->domain, "ai.onnx"))
            c.opset = mp->opset_import[i]->version;
    if (!c.opset) {
        cfail(&c, "ONNX model imports no default-domain opset");
        goto done;
    }
    for (size_t i = 0; i < c.g->n_initializer; i++)
        if (add_tensor_const(&c, c.g->initializer[i]->name ? c.g->initializer[i]->name : "", c.g->initializer[i]) < 0) goto done;
    if (check_names(&c) || graph_inputs(&c)) goto done;
    for (size_t n = 0; n < c.g->n_node; n++) {
        c.cur = c.g->node[n];
        if (!c.cur->op_type) {
            cfail(&c, "node without an operator");
            goto done;
        }
        if (c.cur->n_output < 1 || !c.cur->output[0][0]) {
            cfail(&c, "node without an output");
            goto done;
        }
        if (convert_node(&c)) goto done;
    }
    c.cur = NULL;
    if (c.g->n_output != 1) {
        cfail(&c, "the graph has %zu outputs; exactly one is supported", c.g->n_output);
        goto done;
    }
    int os = find_sym(&c, c.g->output[0]->name);
    if (os < 0 || c.syms[os].is_const) {
        cfail(&c, "graph output '%s' is %s", c.g->output[0]->name, os < 0 ? "never computed" : "a constant");
        goto done;
    }
    { /* the declared output shape, where it gives fixed sizes, must be what the conversion computed */
        const Onnx__TypeProto *tp = c.g->output[0]->type;
        const Onnx__TensorShapeProto *sh =
            tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? tp->tensor_type->shape : NULL;
        const sym *so = &c.syms[os];
        int differs = sh && sh->n_dim != (size_t)so->rank;
        for (size_t d = 0; sh && !differs && d < sh->n_dim; d++)
            differs = sh->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                      sh->dim[d]->dim_value != so->dims[d];
        if (differs) {
            cfail(&c, "graph output '%s': the converted shape differs from the declared one", so->name);
            goto done;
        }
    }
    if (c.syms[os].producer < 0) { /* the output is an input (Identity, a no-op): one copying node */
        kd_desc d = {.op = OP_RESHAPE, .noperands = 1};
        d.in[0] = d.out = sym_tensor(&c.syms[os]);
        int ops[1] = {os};
        char name[300];
        snprintf(name, sizeof name, "%s/copy", c.syms[os].name);
        if ((os = push_node(&c, &d, ops, name)) < 0) goto done;
    }
    rc = finish(&c, os, opts, out, out_len);
done:
    conv_free(&c);
    onnx__model_proto__free_unpacked(mp, NULL);
    return rc;
}

int opml_onnx_tensor_read(const uint8_t *buf, size_t len, float **data, int64_t dims[8], int *rank, char *err,
                          size_t errlen) {
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!t) {
        snprintf(err, errlen, "not a valid ONNX TensorProto");
        return -1;
    }
    conv c = {.err = err, .errlen = errlen};
    int dtype, rc = -1;
    void *p;
    size_t n;
    if (t->n_dims > 8) {
        snprintf(err, errlen, "tensor of rank %zu", t->n_dims);
    } else if (!tensor_data(&c, t, &dtype, &p, &n)) {
        if (dtype == SYM_I64)
            for (size_t i = 0; i < n; i++) ((float *)p)[i] = (float)((int64_t *)p)[i];
        *data = p;
        *rank = (int)t->n_dims;
        for (size_t i = 0; i < t->n_dims; i++) dims[i] = t->dims[i];
        rc = 0;
    }
    onnx__tensor_proto__free_unpacked(t, NULL);
    return rc;
}
