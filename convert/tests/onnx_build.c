/* onnx_build.c: ONNX models composed in memory (onnx_build.h), and converted. Every allocation is
 * recorded in the builder's list and freed together; the messages are never freed by protobuf-c. */
#include "onnx_build.h"

#include "convert.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ob_model {
    Onnx__ModelProto mp;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    void **owned;
    size_t nowned, capowned;
};

static void *own(ob_model *m, void *p) {
    if (!p) {
        fprintf(stderr, "onnx_build: out of memory\n");
        abort();
    }
    if (m->nowned == m->capowned) {
        m->capowned = m->capowned ? 2 * m->capowned : 64;
        m->owned = realloc(m->owned, m->capowned * sizeof *m->owned);
        if (!m->owned) abort();
    }
    m->owned[m->nowned++] = p;
    return p;
}

static void *zalloc(ob_model *m, size_t n) { return own(m, calloc(1, n ? n : 1)); }
static char *dup(ob_model *m, const char *s) { return own(m, strdup(s)); }

/* Append p to the array *arr of *n pointers (grown by one). */
static void push(ob_model *m, void ***arr, size_t *n, void *p) {
    void **a = zalloc(m, (*n + 1) * sizeof *a);
    if (*n) memcpy(a, *arr, *n * sizeof *a);
    a[(*n)++] = p;
    *arr = a;
}

ob_model *ob_new(int64_t opset) {
    ob_model *m = calloc(1, sizeof *m);
    if (!m) abort();
    onnx__model_proto__init(&m->mp);
    onnx__graph_proto__init(&m->g);
    onnx__operator_set_id_proto__init(&m->opset);
    m->opset.domain = dup(m, "");
    m->opset.has_version = 1, m->opset.version = opset;
    m->opsets[0] = &m->opset;
    m->mp.has_ir_version = 1, m->mp.ir_version = 8;
    m->mp.n_opset_import = 1, m->mp.opset_import = m->opsets;
    m->mp.graph = &m->g;
    m->g.name = dup(m, "g");
    return m;
}

void ob_free(ob_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nowned; i++) free(m->owned[i]);
    free(m->owned);
    free(m);
}

static Onnx__ValueInfoProto *value_info(ob_model *m, const char *name, int elem, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *vi = zalloc(m, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = dup(m, name);
    Onnx__TypeProto *tp = zalloc(m, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = zalloc(m, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1, tt->elem_type = elem;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sh = zalloc(m, sizeof *sh);
        onnx__tensor_shape_proto__init(sh);
        sh->n_dim = (size_t)rank;
        sh->dim = zalloc(m, (size_t)rank * sizeof *sh->dim);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = zalloc(m, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] >= 0) d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, d->dim_value = dims[i];
            else d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, d->dim_param = dup(m, "N");
            sh->dim[i] = d;
        }
        tt->shape = sh;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

void ob_input(ob_model *m, const char *name, int elem, int rank, const int64_t *dims) {
    push(m, (void ***)&m->g.input, &m->g.n_input, value_info(m, name, elem, rank, dims));
}

void ob_output(ob_model *m, const char *name, int elem, int rank, const int64_t *dims) {
    push(m, (void ***)&m->g.output, &m->g.n_output, value_info(m, name, elem, rank, dims));
}

static Onnx__TensorProto *tensor(ob_model *m, const char *name, int elem, int rank, const int64_t *dims, size_t *numel) {
    Onnx__TensorProto *t = zalloc(m, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = dup(m, name);
    t->has_data_type = 1, t->data_type = elem;
    t->n_dims = (size_t)rank;
    t->dims = zalloc(m, (size_t)rank * sizeof *t->dims);
    *numel = 1;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i], *numel *= (size_t)dims[i];
    push(m, (void ***)&m->g.initializer, &m->g.n_initializer, t);
    return t;
}

void ob_init_f32(ob_model *m, const char *name, int rank, const int64_t *dims, const float *data) {
    size_t n;
    Onnx__TensorProto *t = tensor(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims, &n);
    t->n_float_data = n;
    t->float_data = zalloc(m, n * sizeof *data);
    if (n) memcpy(t->float_data, data, n * sizeof *data);
}

void ob_init_i64(ob_model *m, const char *name, int rank, const int64_t *dims, const int64_t *data) {
    size_t n;
    Onnx__TensorProto *t = tensor(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, rank, dims, &n);
    t->n_int64_data = n;
    t->int64_data = zalloc(m, n * sizeof *data);
    if (n) memcpy(t->int64_data, data, n * sizeof *data);
}

void ob_init_raw(ob_model *m, const char *name, int elem, int rank, const int64_t *dims, const void *raw, size_t len) {
    size_t n;
    Onnx__TensorProto *t = tensor(m, name, elem, rank, dims, &n);
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = zalloc(m, len);
    if (len) memcpy(t->raw_data.data, raw, len);
}

static char **names(ob_model *m, const char *const *list, size_t *n) {
    for (*n = 0; list && list[*n]; (*n)++) {}
    char **out = zalloc(m, *n * sizeof *out);
    for (size_t i = 0; i < *n; i++) out[i] = dup(m, list[i]);
    return out;
}

Onnx__NodeProto *ob_node(ob_model *m, const char *op, const char *const *inputs, const char *const *outputs) {
    Onnx__NodeProto *n = zalloc(m, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = dup(m, op);
    n->input = names(m, inputs, &n->n_input);
    n->output = names(m, outputs, &n->n_output);
    push(m, (void ***)&m->g.node, &m->g.n_node, n);
    return n;
}

static Onnx__AttributeProto *attr(ob_model *m, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = zalloc(m, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = dup(m, name);
    a->has_type = 1, a->type = type;
    push(m, (void ***)&n->attribute, &n->n_attribute, a);
    return a;
}

void ob_attr_i(ob_model *m, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1, a->i = v;
}

void ob_attr_f(ob_model *m, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1, a->f = v;
}

void ob_attr_s(ob_model *m, Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1, a->s.len = strlen(v), a->s.data = (uint8_t *)dup(m, v);
}

void ob_attr_ints(ob_model *m, Onnx__NodeProto *n, const char *name, int count, const int64_t *v) {
    Onnx__AttributeProto *a = attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = zalloc(m, (size_t)count * sizeof *v);
    if (count) memcpy(a->ints, v, (size_t)count * sizeof *v);
}

void ob_attr_floats(ob_model *m, Onnx__NodeProto *n, const char *name, int count, const float *v) {
    Onnx__AttributeProto *a = attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = (size_t)count;
    a->floats = zalloc(m, (size_t)count * sizeof *v);
    if (count) memcpy(a->floats, v, (size_t)count * sizeof *v);
}

void ob_attr_strings(ob_model *m, Onnx__NodeProto *n, const char *name, int count, const char *const *v) {
    Onnx__AttributeProto *a = attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = (size_t)count;
    a->strings = zalloc(m, (size_t)count * sizeof *a->strings);
    for (int i = 0; i < count; i++) a->strings[i].len = strlen(v[i]), a->strings[i].data = (uint8_t *)dup(m, v[i]);
}

uint8_t *ob_pack(ob_model *m, size_t *len) {
    *len = onnx__model_proto__get_packed_size(&m->mp);
    uint8_t *buf = malloc(*len + 1);
    if (!buf) abort();
    onnx__model_proto__pack(&m->mp, buf);
    return buf;
}

int ob_convert(ob_model *m, const opml_convert_opts *o, opml_model *out, char *err, size_t errlen) {
    size_t len, olen;
    uint8_t *onnx = ob_pack(m, &len), *bytes = NULL;
    ob_free(m);
    int r = opml_convert(onnx, len, o, &bytes, &olen, err, errlen);
    free(onnx);
    if (!r) r = opml_model_parse(bytes, olen, out, err, errlen);
    free(bytes);
    return r;
}
