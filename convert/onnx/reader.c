/* reader.c: the ONNX importer's reader (onnx_import.h): the ModelProto unpacked by protobuf-c,
 * its tensors (initializers, Constant values, the conformance tests' TensorProto files), the
 * current node's attributes, inputs and outputs for the lowerings, the graph's inputs and output,
 * and the dispatch table from operator name to lowering function (onnx_lower.h). */
#include "onnx_import.h"
#include "onnx_lower.h"

#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ONNX tensors and attributes ---- */

/* The number of elements the TensorProto's data holds in its own field (raw bytes of the type's
 * width, or the typed array), or SIZE_MAX when the raw length is not a multiple of the width. */
static size_t tensor_have(const Onnx__TensorProto *t) {
    int dt = t->data_type;
    size_t w = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? 8
               : dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4
               : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ? 2 : 1;
    if (t->has_raw_data) return t->raw_data.len % w ? SIZE_MAX : t->raw_data.len / w;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return t->n_float_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return t->n_double_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return t->n_int64_data;
    default: return t->n_int32_data;
    }
}

/* Decode a TensorProto into float data (float, double) or int64 values (the integer types; a
 * bool tensor keeps the dtype KD_BOOL). The declared shape is checked against the data that
 * backs it before anything is allocated from it. */
static int tensor_data(conv *c, const Onnx__TensorProto *t, int *dtype, void **data, size_t *n) {
    const char *name = t->name ? t->name : "";
    size_t cnt = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] && cnt > (SIZE_MAX / 16) / (size_t)t->dims[i]))
            return cv_fail(c, "tensor '%s': bad dimensions", name);
        cnt *= (size_t)t->dims[i];
    }
    if (t->n_external_data || (t->has_data_location && t->data_location))
        return cv_fail(c, "tensor '%s': external data is not supported", name);
    int dt = t->data_type;
    int is_int = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
                 dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
                 dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT16;
    if (!is_int && dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return cv_fail(c, "tensor '%s': data type %d is not supported", name, dt);
    if (tensor_have(t) != cnt)
        return cv_fail(c, "tensor '%s': data does not match its %zu elements", name, cnt);
    if (cnt > (size_t)CV_MAX_NUMEL)
        return cv_fail(c, "tensor '%s' is too large (a tensor holds at most %d elements)", name, CV_MAX_NUMEL);
    *dtype = dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? KD_BOOL : is_int ? KD_I64 : KD_F32;
    *n = cnt;
    void *p = malloc(cnt * 8 + 8);
    if (!p) return cv_fail(c, "out of memory");
    float *f = p;
    int64_t *iv = p;
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        if (cnt) memcpy(f, raw ? (const void *)raw : (const void *)t->float_data, cnt * 4);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        for (size_t i = 0; i < cnt; i++) {
            double d;
            if (raw) memcpy(&d, raw + 8 * i, 8);
            else d = t->double_data[i];
            f[i] = (float)d;
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        if (cnt) memcpy(iv, raw ? (const void *)raw : (const void *)t->int64_data, cnt * 8);
        break;
    default: { /* int32, int16, int8, uint8, bool: int32_data, or raw of the type's width */
        size_t w = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4 : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ? 2 : 1;
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
}

int onnx_tensor_const(conv *c, const char *name, const Onnx__TensorProto *t) {
    int dtype;
    void *data;
    size_t n;
    if (tensor_data(c, t, &dtype, &data, &n)) return -1;
    int64_t dims[KD_MAX_RANK];
    if (t->n_dims > KD_MAX_RANK) {
        free(data);
        return cv_fail(c, "constant '%s' has rank %zu (at most %d supported)", name, t->n_dims, KD_MAX_RANK);
    }
    for (size_t i = 0; i < t->n_dims; i++) dims[i] = t->dims[i];
    int k = cv_new_const(c, name, dtype, (int)t->n_dims, dims, data);
    free(data);
    return k;
}

const Onnx__AttributeProto *onnx_attr(onnx_ctx *ox, const char *name) {
    for (size_t i = 0; i < ox->cur->n_attribute; i++)
        if (!strcmp(ox->cur->attribute[i]->name, name)) return ox->cur->attribute[i];
    return NULL;
}

int64_t onnx_attr_i(onnx_ctx *ox, const char *name, int64_t def) {
    const Onnx__AttributeProto *a = onnx_attr(ox, name);
    return a ? a->i : def;
}

float onnx_attr_f(onnx_ctx *ox, const char *name, float def) {
    const Onnx__AttributeProto *a = onnx_attr(ox, name);
    return a ? a->f : def;
}

/* ints attribute into out[max]; returns the count, or -1 (absent), -2 (too many) */
int onnx_attr_ints(onnx_ctx *ox, const char *name, int64_t *out, int max) {
    const Onnx__AttributeProto *a = onnx_attr(ox, name);
    if (!a) return -1;
    if ((int)a->n_ints > max) return -2;
    for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
    return (int)a->n_ints;
}

const char *onnx_attr_s(onnx_ctx *ox, const char *name, const char *def) {
    const Onnx__AttributeProto *a = onnx_attr(ox, name);
    static char buf[64];
    if (!a || !a->has_s) return def;
    size_t n = a->s.len < sizeof buf - 1 ? a->s.len : sizeof buf - 1;
    memcpy(buf, a->s.data, n);
    buf[n] = 0;
    return buf;
}

/* Every attribute of the node must be one the converter handles (never silently ignored). */
int onnx_only_attrs(onnx_ctx *ox, const char *const *known) {
    conv *c = ox->c;
    for (size_t i = 0; i < ox->cur->n_attribute; i++) {
        const char *n = ox->cur->attribute[i]->name;
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, n);
        if (!ok) return cv_fail(c, "attribute '%s' is not supported", n);
    }
    return 0;
}

/* Input i of the current node: its symbol, or -1 when absent (optional input left empty). */
int onnx_in(onnx_ctx *ox, size_t i, int *k) {
    conv *c = ox->c;
    *k = -1;
    if (i >= ox->cur->n_input || !ox->cur->input[i][0]) return 0;
    *k = cv_find(c, ox->cur->input[i]);
    if (*k < 0) return cv_fail(c, "input '%s' is not defined by any earlier node, initializer or graph input", ox->cur->input[i]);
    return 0;
}

int onnx_first_input(onnx_ctx *ox, const char *const *known, int *x) {
    if (onnx_only_attrs(ox, known)) return -1;
    if (onnx_in(ox, 0, x) || *x < 0) return *x < 0 ? cv_fail(ox->c, "missing input") : -1;
    return 0;
}

const char *onnx_out_name(onnx_ctx *ox, size_t i) { return i < ox->cur->n_output ? ox->cur->output[i] : ""; }

/* Only output 0 may be used (a second output such as MaxPool's Indices is an error). */
int onnx_single_output(onnx_ctx *ox) {
    conv *c = ox->c;
    for (size_t i = 1; i < ox->cur->n_output; i++)
        if (ox->cur->output[i][0]) {
            /* an output nobody reads is harmless: check the rest of the graph */
            for (size_t n = 0; n < ox->g->n_node; n++)
                for (size_t j = 0; j < ox->g->node[n]->n_input; j++)
                    if (!strcmp(ox->g->node[n]->input[j], ox->cur->output[i]))
                        return cv_fail(c, "output %zu ('%s') is not supported", i, ox->cur->output[i]);
            for (size_t o = 0; o < ox->g->n_output; o++)
                if (!strcmp(ox->g->output[o]->name, ox->cur->output[i]))
                    return cv_fail(c, "output %zu ('%s') is not supported", i, ox->cur->output[i]);
        }
    return 0;
}

/* How many node inputs and graph outputs name this tensor. */
int onnx_consumers(onnx_ctx *ox, const char *name) {
    int n = 0;
    for (size_t i = 0; i < ox->g->n_node; i++)
        for (size_t j = 0; j < ox->g->node[i]->n_input; j++) n += !strcmp(ox->g->node[i]->input[j], name);
    for (size_t o = 0; o < ox->g->n_output; o++) n += !strcmp(ox->g->output[o]->name, name);
    return n;
}

/* ints from a constant input or an attribute (Slice before opset 10) */
int onnx_ints_of(onnx_ctx *ox, size_t input, const char *attrname, int64_t *out, int *n) {
    conv *c = ox->c;
    int k;
    if (onnx_in(ox, input, &k)) return -1;
    if (k >= 0) {
        cv_sym *t = &c->syms[k];
        if (!t->is_const || t->dtype != CV_I64 || cv_numel(t) > KD_MAX_RANK) return cv_fail(c, "%s must be constant", attrname);
        *n = (int)cv_numel(t);
        memcpy(out, t->i, (size_t)*n * 8);
        return 0;
    }
    *n = onnx_attr_ints(ox, attrname, out, KD_MAX_RANK);
    return 0;
}

/* Proto2 leaves absent strings NULL: refuse a graph whose names are missing before reading it. */
static int check_names(onnx_ctx *ox) {
    conv *c = ox->c;
    const Onnx__GraphProto *g = ox->g;
    for (size_t i = 0; i < g->n_input; i++)
        if (!g->input[i]->name) return cv_fail(c, "graph input %zu has no name", i);
    for (size_t i = 0; i < g->n_output; i++)
        if (!g->output[i]->name) return cv_fail(c, "graph output %zu has no name", i);
    for (size_t n = 0; n < g->n_node; n++) {
        if (!g->node[n]->op_type) return cv_fail(c, "node %zu has no operator", n);
        for (size_t a = 0; a < g->node[n]->n_attribute; a++)
            if (!g->node[n]->attribute[a]->name) return cv_fail(c, "node %zu (%s) has an attribute without a name", n, g->node[n]->op_type);
    }
    return 0;
}

int onnx_dtype(int64_t elem_type) {
    switch (elem_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return KD_F32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return KD_I64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return KD_I32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return KD_I8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return KD_BOOL;
    default: return 0;
    }
}

static void at_node(conv *c, const Onnx__NodeProto *n) { c->at_node = 1, c->at_name = n->name, c->at_op = n->op_type; }

/* Errors about a tensor name the first node that reads it (at_reader) or the node that computes it
 * (at_writer), where there is one: the operator is what a user looks for. */
static void at_reader(onnx_ctx *ox, const char *tensor) {
    ox->c->at_node = 0;
    for (size_t n = 0; n < ox->g->n_node; n++)
        for (size_t j = 0; j < ox->g->node[n]->n_input; j++)
            if (!strcmp(ox->g->node[n]->input[j], tensor)) {
                at_node(ox->c, ox->g->node[n]);
                return;
            }
}

static void at_writer(onnx_ctx *ox, const char *tensor) {
    ox->c->at_node = 0;
    for (size_t n = 0; n < ox->g->n_node; n++)
        for (size_t j = 0; j < ox->g->node[n]->n_output; j++)
            if (!strcmp(ox->g->node[n]->output[j], tensor)) at_node(ox->c, ox->g->node[n]);
}

static int is_initializer(const Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name)) return 1;
    return 0;
}

static int graph_inputs(onnx_ctx *ox) {
    conv *c = ox->c;
    const Onnx__GraphProto *g = ox->g;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi->name || cv_find(c, vi->name) >= 0 || is_initializer(ox->g, vi->name)) continue; /* an initializer listed as input */
        at_reader(ox, vi->name);
        if (c->nin == 64) return cv_fail(c, "more than 64 graph inputs");
        const Onnx__TypeProto *tp = vi->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type->shape)
            return cv_fail(c, "graph input '%s' has no tensor shape", vi->name);
        int dtype = onnx_dtype(tp->tensor_type->elem_type);
        if (!dtype)
            return cv_fail(c, "graph input '%s' has ONNX type %d (float32, int64, int32, int8 and bool are supported)", vi->name,
                           tp->tensor_type->elem_type);
        const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
        int64_t dims[KD_MAX_RANK];
        if (sh->n_dim > KD_MAX_RANK) return cv_fail(c, "graph input '%s' has rank %zu", vi->name, sh->n_dim);
        for (size_t d = 0; d < sh->n_dim; d++)
            dims[d] = sh->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? sh->dim[d]->dim_value
                                                                                                 : (int64_t)c->batch;
        int k = cv_new_sym(c, vi->name);
        if (k < 0) return cv_fail(c, "out of memory");
        c->syms[k].dtype = dtype;
        if (cv_set_dims(c, &c->syms[k], (int)sh->n_dim, dims)) return -1;
        c->syms[k].value = c->nin;
        c->inputs[c->nin++] = cv_tensor(&c->syms[k]);
    }
    c->at_node = 0;
    if (!c->nin && ox->g->n_output) at_writer(ox, ox->g->output[0]->name);
    if (!c->nin) return cv_fail(c, "the graph has no run-time input");
    return 0;
}

/* ---- the dispatch table ---- */

static const struct lowering {
    const char *op_type;
    onnx_lower_fn fn;
    unsigned arg;
} lowerings[] = {
    {"Gemm", onnx_op_gemm, 0},
    {"MatMul", onnx_op_matmul, 0},
    {"Conv", onnx_op_conv, 0},
    {"Relu", onnx_op_unary, OP_RELU},
    {"LeakyRelu", onnx_op_unary, OP_LEAKYRELU},
    {"Sigmoid", onnx_op_unary, OP_SIGMOID},
    {"Tanh", onnx_op_unary, OP_TANH},
    {"Exp", onnx_op_unary, OP_EXP},
    {"Log", onnx_op_unary, OP_LOG},
    {"Sqrt", onnx_op_unary, OP_SQRT},
    {"Neg", onnx_op_unary, OP_NEG},
    {"Abs", onnx_op_unary, OP_ABS},
    {"ReduceSum", onnx_op_reduce, OP_REDUCESUM},
    {"ReduceMean", onnx_op_reduce, OP_REDUCEMEAN},
    {"ReduceMax", onnx_op_reduce, OP_REDUCEMAX},
    {"Pad", onnx_op_pad, 0},
    {"HardSigmoid", onnx_op_hard, 0},
    {"HardSwish", onnx_op_hard, 1},
    {"Softmax", onnx_op_softmax, OP_SOFTMAX},
    {"LogSoftmax", onnx_op_softmax, OP_LOGSOFTMAX},
    {"MaxPool", onnx_op_pool, OP_MAXPOOL},
    {"AveragePool", onnx_op_pool, OP_AVGPOOL},
    {"GlobalAveragePool", onnx_op_gap, 0},
    {"Add", onnx_op_binary, OP_ADD},
    {"Sub", onnx_op_binary, OP_SUB},
    {"Mul", onnx_op_binary, OP_MUL},
    {"Div", onnx_op_binary, OP_DIV},
    {"Flatten", onnx_op_flatten, 0},
    {"Reshape", onnx_op_reshape, 0},
    {"Squeeze", onnx_op_squeeze, 0},
    {"Unsqueeze", onnx_op_squeeze, 1},
    {"Transpose", onnx_op_transpose, 0},
    {"Concat", onnx_op_concat, 0},
    {"Clip", onnx_op_clip, 0},
    {"Split", onnx_op_split, 0},
    {"Slice", onnx_op_slice, 0},
    {"BatchNormalization", onnx_op_batchnorm, 0},
    {"Shape", onnx_op_shape, 0},
    {"Gather", onnx_op_gather, 0},
    {"Cast", onnx_op_cast, 0},
    {"Constant", onnx_op_constant, 0},
    {"Identity", onnx_op_identity, 0},
    {"Dropout", onnx_op_identity, 0},
    /* integer inputs, masks and transformer blocks */
    {"Equal", onnx_op_equal, 0},
    {"Not", onnx_op_not, 0},
    {"Where", onnx_op_where, 0},
    {"Expand", onnx_op_expand, 0},
    {"ConstantOfShape", onnx_op_constant_of_shape, 0},
    {"Range", onnx_op_range, 0},
    {"Size", onnx_op_size, 0},
    {"Erf", onnx_op_unary, OP_ERF},
    {"Gelu", onnx_op_gelu, 0},
    {"Pow", onnx_op_binary, OP_POW},
    {"Reciprocal", onnx_op_reciprocal, 0},
    {"LayerNormalization", onnx_op_layernorm, 0},
    {"Einsum", onnx_op_einsum, 0},
    /* the breadth operators (issue 15) */
    {"Sin", onnx_op_unary, OP_SIN},
    {"Cos", onnx_op_unary, OP_COS},
    {"Tan", onnx_op_unary, OP_TAN},
    {"Asin", onnx_op_unary, OP_ASIN},
    {"Acos", onnx_op_unary, OP_ACOS},
    {"Atan", onnx_op_unary, OP_ATAN},
    {"Sinh", onnx_op_unary, OP_SINH},
    {"Cosh", onnx_op_unary, OP_COSH},
    {"Asinh", onnx_op_unary, OP_ASINH},
    {"Acosh", onnx_op_unary, OP_ACOSH},
    {"Atanh", onnx_op_unary, OP_ATANH},
    {"Ceil", onnx_op_unary, OP_CEIL},
    {"Floor", onnx_op_unary, OP_FLOOR},
    {"Round", onnx_op_unary, OP_ROUND},
    {"Sign", onnx_op_unary, OP_SIGN},
    {"Softplus", onnx_op_unary, OP_SOFTPLUS},
    {"Softsign", onnx_op_unary, OP_SOFTSIGN},
    {"Elu", onnx_op_unary, OP_ELU},
    {"Selu", onnx_op_unary, OP_SELU},
    {"Celu", onnx_op_unary, OP_CELU},
    {"ThresholdedRelu", onnx_op_unary, OP_THRESHOLDEDRELU},
    {"Shrink", onnx_op_unary, OP_SHRINK},
    {"PRelu", onnx_op_binary, OP_PRELU},
    {"Sum", onnx_op_variadic, OP_ADD},
    {"Mean", onnx_op_variadic, OP_DIV},
    {"Max", onnx_op_variadic, OP_MAX},
    {"Min", onnx_op_variadic, OP_MIN},
    {"ReduceMin", onnx_op_reduce, OP_REDUCEMIN},
    {"ReduceProd", onnx_op_reduce, OP_REDUCEPROD},
    {"ReduceL1", onnx_op_reduce_composite, ONNX_REDUCE_L1},
    {"ReduceL2", onnx_op_reduce_composite, ONNX_REDUCE_L2},
    {"ReduceSumSquare", onnx_op_reduce_composite, ONNX_REDUCE_SUMSQUARE},
    {"ReduceLogSum", onnx_op_reduce_composite, ONNX_REDUCE_LOGSUM},
    {"ReduceLogSumExp", onnx_op_reduce_composite, ONNX_REDUCE_LOGSUMEXP},
    {"CumSum", onnx_op_cumsum, 0},
    {"Hardmax", onnx_op_softmax, OP_HARDMAX},
    {"GlobalMaxPool", onnx_op_gmp, 0},
    {"InstanceNormalization", onnx_op_instancenorm, 0},
    {"MeanVarianceNormalization", onnx_op_mvn, 0},
    {"LRN", onnx_op_lrn, 0},
    {"Tile", onnx_op_tile, 0},
    {"Trilu", onnx_op_trilu, 0},
    {"GatherElements", onnx_op_gather_elements, 0},
    {"GatherND", onnx_op_gather_nd, 0},
    {"Compress", onnx_op_compress, 0},
    {"ScatterElements", onnx_op_scatter_elements, 0},
    {"Scatter", onnx_op_scatter_elements, 0},
    {"ScatterND", onnx_op_scatter_nd, 0},
    {"MaxUnpool", onnx_op_maxunpool, 0},
    {"ReverseSequence", onnx_op_reverse_sequence, 0},
    {"DepthToSpace", onnx_op_depth_space, 1},
    {"SpaceToDepth", onnx_op_depth_space, 0},
    {"Resize", onnx_op_resize, 0},
    {"Upsample", onnx_op_upsample, 0},
    {"ConvTranspose", onnx_op_convtranspose, 0},
    {"LSTM", onnx_op_recurrent, OP_LSTM},
    {"GRU", onnx_op_recurrent, OP_GRU},
    {"RNN", onnx_op_recurrent, OP_RNN},
    {"NegativeLogLikelihoodLoss", onnx_op_nll, 0},
    {"SoftmaxCrossEntropyLoss", onnx_op_sce, 0},
    {"ArgMax", onnx_op_argminmax, 0},
    {"ArgMin", onnx_op_argminmax, 1},
    {"TopK", onnx_op_topk, 0},
    {"Det", onnx_op_det, 0},
    {"Mod", onnx_op_mod, 0},
    {"Less", onnx_op_compare, 0},
    {"LessOrEqual", onnx_op_compare, 1},
    {"Greater", onnx_op_compare, 2},
    {"GreaterOrEqual", onnx_op_compare, 3},
    {"And", onnx_op_logic, 0},
    {"Or", onnx_op_logic, 1},
    {"Xor", onnx_op_logic, 2},
    {"IsNaN", onnx_op_isnaninf, 0},
    {"IsInf", onnx_op_isnaninf, 1},
};

static const struct lowering *find_lowering(const Onnx__NodeProto *n) {
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) return NULL;
    for (size_t i = 0; i < sizeof lowerings / sizeof *lowerings; i++)
        if (!strcmp(n->op_type, lowerings[i].op_type)) return &lowerings[i];
    return NULL;
}

/* The node's operator must be one the converter lowers; checked for every node before anything
 * else of the graph (its inputs' types, its shapes), so that the message names what is missing. */
static int supported(conv *c, const Onnx__NodeProto *n) {
    if (find_lowering(n)) return 0;
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
        return cv_fail(c, "operator domain '%s' is not supported", n->domain);
    return cv_fail(c, "operator %s is not supported", n->op_type);
}

static int convert_node(onnx_ctx *ox) {
    const Onnx__NodeProto *n = ox->cur;
    ox->as1d = 0;
    int named = 0;
    for (size_t i = 0; i < n->n_output; i++) named |= n->output[i][0] != 0;
    if (!named) return cv_fail(ox->c, "node without an output");
    const struct lowering *l = find_lowering(n);
    return l->fn(ox, l->arg);
}

/* ---- the model ---- */

int opml_convert_onnx(const uint8_t *onnx, size_t len, const opml_convert_opts *opts, uint8_t **out, size_t *out_len,
                      char *err, size_t errlen) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, onnx);
    if (!mp) {
        snprintf(err, errlen, "not a valid ONNX model (protobuf parse failed)");
        return -1;
    }
    conv c = {.err = err, .errlen = errlen, .batch = opts->batch ? opts->batch : 1};
    onnx_ctx ox = {.c = &c};
    uint8_t *skip = NULL;
    int rc = -1;
    if (!mp->graph) {
        cv_fail(&c, "ONNX model has no graph");
        goto done;
    }
    ox.g = mp->graph;
    if (check_names(&ox)) goto done;
    for (size_t n = 0; n < ox.g->n_node; n++) { /* what is missing is named first */
        at_node(&c, ox.g->node[n]);
        if (supported(&c, ox.g->node[n])) goto done;
    }
    c.at_node = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (!mp->opset_import[i]->domain || !*mp->opset_import[i]->domain || !strcmp(mp->opset_import[i]->domain, "ai.onnx"))
            ox.opset = mp->opset_import[i]->version;
    if (!ox.opset) {
        cv_fail(&c, "ONNX model imports no default-domain opset");
        goto done;
    }
    for (size_t i = 0; i < ox.g->n_initializer; i++) {
        const char *name = ox.g->initializer[i]->name ? ox.g->initializer[i]->name : "";
        if (!onnx_consumers(&ox, name)) continue; /* never read: never decoded */
        at_reader(&ox, name);
        if (onnx_tensor_const(&c, name, ox.g->initializer[i]) < 0) goto done;
    }
    c.at_node = 0;
    if (graph_inputs(&ox)) goto done;
    if (!(skip = calloc(ox.g->n_node + 1, 1))) {
        cv_fail(&c, "out of memory");
        goto done;
    }
    for (size_t n = 0; n < ox.g->n_node; n++) {
        if (skip[n]) continue; /* a step of a chain fused into one node */
        ox.cur = ox.g->node[n];
        at_node(&c, ox.cur);
        int fused = opts->no_fuse ? 0 : onnx_fuse(&ox, n, skip);
        if (fused < 0 || (!fused && convert_node(&ox))) goto done;
    }
    c.at_node = 0;
    if (ox.g->n_output != 1) {
        cv_fail(&c, "the graph has %zu outputs; exactly one is supported", ox.g->n_output);
        goto done;
    }
    int os = cv_find(&c, ox.g->output[0]->name);
    if (os < 0 || c.syms[os].is_const) {
        at_writer(&ox, ox.g->output[0]->name);
        cv_fail(&c, "graph output '%s' is %s", ox.g->output[0]->name,
                os < 0 ? "never computed" : "a constant (no run-time input reaches it)");
        goto done;
    }
    c.at_node = 0;
    { /* the declared output shape, where it gives fixed sizes, must be what the conversion computed */
        const Onnx__TypeProto *tp = ox.g->output[0]->type;
        const Onnx__TensorShapeProto *sh =
            tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? tp->tensor_type->shape : NULL;
        const cv_sym *so = &c.syms[os];
        int differs = sh && sh->n_dim != (size_t)so->rank;
        for (size_t d = 0; sh && !differs && d < sh->n_dim; d++)
            differs = sh->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                      sh->dim[d]->dim_value != so->dims[d];
        if (differs) {
            cv_fail(&c, "graph output '%s': the converted shape differs from the declared one", so->name);
            goto done;
        }
    }
    if (c.syms[os].producer < 0) { /* the output is an input (Identity, a no-op): one copying node */
        kd_desc d = {.op = OP_RESHAPE, .noperands = 1};
        d.in[0] = d.out = cv_tensor(&c.syms[os]);
        int ops[1] = {os};
        char name[300];
        snprintf(name, sizeof name, "%s/copy", c.syms[os].name);
        if ((os = cv_push_node(&c, &d, ops, name)) < 0) goto done;
    }
    rc = cv_finish(&c, os, opts->input_divisor, out, out_len);
done:
    free(skip);
    cv_free(&c);
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
        if (dtype != KD_F32)
            for (size_t i = 0; i < n; i++) ((float *)p)[i] = (float)((int64_t *)p)[i];
        *data = p;
        *rank = (int)t->n_dims;
        for (size_t i = 0; i < t->n_dims; i++) dims[i] = t->dims[i];
        rc = 0;
    }
    onnx__tensor_proto__free_unpacked(t, NULL);
    return rc;
}
