/* lower.c: the lowering helpers every importer shares (lower.h): symbols, constant folding by the
 * reference kernels, emitted nodes, quantized products, and the writing of the model file. */
#include "lower.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmath.h"
#include "model.h"
#include "quant.h"

/* ---- symbols and emitted nodes ---- */

int cv_fail(conv *c, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    opml_verrc(msg, sizeof msg, -1, fmt, ap);
    va_end(ap);
    if (c->at_node)
        snprintf(c->err, c->errlen, "node '%s' (%s): %s", c->at_name && *c->at_name ? c->at_name : "(unnamed)",
                 c->at_op ? c->at_op : "?", msg);
    else
        snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

int64_t cv_numel(const cv_sym *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

int cv_find(conv *c, const char *name) {
    for (size_t i = c->nsyms; i-- > 0;)
        if (!strcmp(c->syms[i].name, name)) return (int)i;
    return -1;
}

/* A new symbol (copied name, no data yet). Returns its index or -1 (out of memory). */
int cv_new_sym(conv *c, const char *name) {
    if (c->nsyms == c->capsyms) {
        size_t cap = c->capsyms ? 2 * c->capsyms : 64;
        cv_sym *s = realloc(c->syms, cap * sizeof *s);
        if (!s) return -1;
        c->syms = s, c->capsyms = cap;
    }
    cv_sym *s = &c->syms[c->nsyms];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name) return -1;
    s->producer = -1, s->weight = -1;
    return (int)c->nsyms++;
}

int cv_set_dims(conv *c, cv_sym *s, int rank, const int64_t *dims) {
    if (rank > KD_MAX_RANK) return cv_fail(c, "tensor '%s' has rank %d (at most %d supported)", s->name, rank, KD_MAX_RANK);
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > 0x7FFFFFFF) return cv_fail(c, "tensor '%s' has a bad dimension %lld", s->name, (long long)dims[i]);
        n = dims[i] && n > CV_MAX_NUMEL ? n : n * dims[i]; /* saturates above the limit, never overflows */
    }
    if (n > CV_MAX_NUMEL)
        return cv_fail(c, "tensor '%s' is too large (a tensor holds at most %d elements)", s->name, CV_MAX_NUMEL);
    s->rank = rank;
    for (int i = 0; i < rank; i++) s->dims[i] = dims[i];
    return 0;
}

size_t cv_held_size(int dtype) { return dtype == KD_F32 ? 4 : 8; }

/* A constant symbol holding a copy of the data. */
int cv_new_const(conv *c, const char *name, int dtype, int rank, const int64_t *dims, const void *data) {
    int k = cv_new_sym(c, name);
    if (k < 0) return cv_fail(c, "out of memory");
    cv_sym *s = &c->syms[k];
    s->is_const = 1, s->dtype = dtype;
    if (cv_set_dims(c, s, rank, dims)) return -1;
    size_t n = (size_t)cv_numel(s), es = cv_held_size(dtype);
    void *p = malloc(n * es + 8);
    if (!p) return cv_fail(c, "out of memory");
    if (n) memcpy(p, data, n * es);
    if (dtype == KD_F32) s->f = p;
    else s->i = p;
    return k;
}

void *cv_const_bytes(const cv_sym *s) {
    size_t n = (size_t)cv_numel(s), es = kd_elsize((unsigned)s->dtype);
    uint8_t *p = malloc(n * es + 8);
    if (!p || !n) return p;
    if (s->dtype == KD_F32 || s->dtype == KD_I64) {
        memcpy(p, s->dtype == KD_F32 ? (const void *)s->f : (const void *)s->i, n * es);
        return p;
    }
    for (size_t j = 0; j < n; j++) {
        if (s->dtype == KD_I32) {
            int32_t v = (int32_t)s->i[j];
            memcpy(p + 4 * j, &v, 4);
        } else {
            p[j] = s->dtype == KD_BOOL ? s->i[j] != 0 : (uint8_t)(int8_t)s->i[j];
        }
    }
    return p;
}

int cv_const_from_bytes(conv *c, const char *name, int dtype, int rank, const int64_t *dims, const void *bytes) {
    if (dtype == KD_F32 || dtype == KD_I64) return cv_new_const(c, name, dtype, rank, dims, bytes);
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    int64_t *v = malloc((size_t)n * 8 + 8);
    if (!v) return cv_fail(c, "out of memory");
    const uint8_t *b = bytes;
    for (int64_t j = 0; j < n; j++) {
        if (dtype == KD_I32) {
            int32_t x;
            memcpy(&x, b + 4 * j, 4);
            v[j] = x;
        } else {
            v[j] = dtype == KD_BOOL ? b[j] != 0 : (int8_t)b[j];
        }
    }
    int k = cv_new_const(c, name, dtype, rank, dims, v);
    free(v);
    return k;
}

int cv_as_dtype(conv *c, int k, int dtype) {
    cv_sym *s = &c->syms[k];
    if (s->dtype == dtype) return k;
    if (!s->is_const)
        return cv_fail(c, "tensor '%s' is %s where %s is needed", s->name, opml_dtype_name(s->dtype), opml_dtype_name(dtype));
    char name[300];
    snprintf(name, sizeof name, "%s/as_%s", s->name, opml_dtype_name(dtype));
    kd_desc d = {.op = OP_CAST, .noperands = 1};
    cv_set_out(&d, s->rank, s->dims);
    d.out.dtype = (uint8_t)dtype;
    return cv_emit(c, &d, &k, name);
}

int cv_i32_const(conv *c, const char *name, int rank, const int64_t *dims, const int32_t *data) {
    return cv_const_from_bytes(c, name, KD_I32, rank, dims, data);
}

kd_tensor cv_tensor(const cv_sym *s) {
    kd_tensor t = {(uint8_t)s->dtype, (uint8_t)s->rank, {0}};
    for (int i = 0; i < s->rank; i++) t.dims[i] = (uint32_t)s->dims[i];
    return t;
}

int cv_need_f32(conv *c, int k) {
    if (c->syms[k].dtype != KD_F32)
        return cv_fail(c, "tensor '%s' is %s: only float32 is supported here", c->syms[k].name, opml_dtype_name(c->syms[k].dtype));
    return 0;
}

/* Append node d (operand symbols ops, -1 for operands that are not symbols) producing `name`. */
int cv_push_node(conv *c, const kd_desc *d, const int *ops, const char *name) {
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < d->out.rank; i++) dims[i] = d->out.dims[i];
    if (c->nnodes == c->capnodes) {
        size_t cap = c->capnodes ? 2 * c->capnodes : 32;
        cv_node *nn = realloc(c->nodes, cap * sizeof *nn);
        if (!nn) return cv_fail(c, "out of memory");
        c->nodes = nn, c->capnodes = cap;
    }
    cv_node *nd = &c->nodes[c->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->d = *d;
    for (unsigned j = 0; j < d->noperands; j++) nd->opsym[j] = ops[j];
    int k = cv_new_sym(c, name);
    if (k < 0) return cv_fail(c, "out of memory");
    cv_sym *s = &c->syms[k];
    s->dtype = d->out.dtype;
    cv_set_dims(c, s, d->out.rank, dims);
    s->value = c->nin + (uint32_t)c->nnodes;
    s->producer = (int)c->nnodes;
    c->nnodes++;
    return k;
}

/* A kernel_check error in words. */
static const char *kd_err_words(int r) {
    switch (r) {
    case KD_ESHAPE: return "operand or output shapes do not fit";
    case KD_EATTR: return "an attribute is out of range";
    default: return "the node is malformed";
    }
}

/* Node d evaluated now on constant operands ops by its kernel, as the constant `name`. */
static int fold(conv *c, const kd_desc *d, const int *ops, const char *name) {
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < d->out.rank; i++) dims[i] = d->out.dims[i];
    size_t sn = kernel_scratch_size(d);
    void *y = malloc((size_t)kd_nbytes(&d->out) + 8), *scr = malloc(sn + 1), *in[KD_MAX_OPERANDS] = {0};
    int ok = y && scr, k = -1;
    for (unsigned j = 0; j < d->noperands && ok; j++) ok = (in[j] = cv_const_bytes(&c->syms[ops[j]])) != NULL;
    if (!ok) cv_fail(c, "out of memory");
    else if (kernel_exec(d, (const void *const *)in, y, scr, sn)) cv_fail(c, "constant folding failed");
    else k = cv_const_from_bytes(c, name, d->out.dtype, d->out.rank, dims, y);
    for (unsigned j = 0; j < d->noperands; j++) free(in[j]);
    free(y), free(scr);
    return k;
}

int cv_emit(conv *c, kd_desc *d, const int *ops, const char *name) {
    if (!d->out.dtype) d->out.dtype = KD_F32;
    if (kd_nbytes(&d->out) > KD_MAX_TENSOR_BYTES) /* before anything is allocated for it */
        return cv_fail(c, "an output of %llu bytes (a tensor holds at most %u)", (unsigned long long)kd_nbytes(&d->out),
                       KD_MAX_TENSOR_BYTES);
    int all_const = 1;
    for (unsigned j = 0; j < d->noperands; j++) {
        d->in[j] = cv_tensor(&c->syms[ops[j]]);
        if (!c->syms[ops[j]].is_const) all_const = 0;
    }
    int r = kernel_check(d);
    if (r) {
        char types[120] = "";
        for (unsigned j = 0; j < d->noperands && j < 4; j++)
            snprintf(types + strlen(types), sizeof types - strlen(types), "%s%s", j ? ", " : "", opml_dtype_name(d->in[j].dtype));
        return cv_fail(c, "%s for %s (operands %s; kernel error %d)", kd_err_words(r), kernel_op_name(d->op), types, r);
    }
    if (all_const && d->op != OP_QLINEAR && d->op != OP_QCONV) return fold(c, d, ops, name);
    return cv_push_node(c, d, ops, name);
}

const char *cv_subname(char buf[CV_NAME], const char *base, const char *suffix) {
    snprintf(buf, CV_NAME, "%s/%s", base, suffix);
    return buf;
}

int cv_scalar(conv *c, const char *name, float v) { return cv_new_const(c, name, KD_F32, 0, NULL, &v); }

int cv_unary(conv *c, unsigned op, int x, const char *name) {
    kd_desc d = {.op = (uint16_t)op, .noperands = 1};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return cv_emit(c, &d, &x, name);
}

int cv_binary(conv *c, unsigned op, int a, int b, const char *name) {
    int rank, ops[2] = {a, b};
    int64_t dims[KD_MAX_RANK];
    if (cv_broadcast(c, &c->syms[a], &c->syms[b], &rank, dims)) return -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 2};
    cv_set_out(&d, rank, dims);
    return cv_emit(c, &d, ops, name);
}

int cv_reduce(conv *c, unsigned op, int x, uint32_t mask, int keep, const char *name) {
    const cv_sym *s = &c->syms[x];
    int rank = 0;
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < s->rank; i++)
        if (!(mask >> i & 1)) dims[rank++] = s->dims[i];
        else if (keep) dims[rank++] = 1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1, .ia = {(int32_t)mask}};
    cv_set_out(&d, rank, dims);
    return cv_emit(c, &d, &x, name);
}

void cv_set_out(kd_desc *d, int rank, const int64_t *dims) {
    d->out.rank = (uint8_t)rank;
    for (int i = 0; i < rank; i++) d->out.dims[i] = (uint32_t)dims[i];
}

/* Emit a quantized product node (QLinear or QConv) with float weights w [rows x rowlen] (taken
 * over) and bias (taken over, may be NULL). */
int cv_emit_quant(conv *c, kd_desc *d, int x, float *w, size_t rows, size_t rowlen, float *bias, const char *name) {
    if (c->syms[x].is_const) {
        free(w), free(bias);
        return cv_fail(c, "a constant data input is not supported (only weights may be constant)");
    }
    /* check the shapes now with placeholder weight operands */
    d->noperands = bias ? 4 : 3;
    d->in[0] = cv_tensor(&c->syms[x]);
    kd_tensor sc = {KD_F32, 1, {(uint32_t)rows}};
    d->in[2] = sc;
    if (bias) d->in[3] = sc;
    d->out.dtype = KD_F32;
    int r = kernel_check(d);
    if (r) {
        free(w), free(bias);
        return cv_fail(c, "%s for %s (kernel error %d)", kd_err_words(r), kernel_op_name(d->op), r);
    }
    int ops[4] = {x, -1, -1, -1};
    int k = cv_push_node(c, d, ops, name);
    if (k < 0) {
        free(w), free(bias);
        return -1;
    }
    cv_node *nd = &c->nodes[c->syms[k].producer];
    nd->quant = 1, nd->wf = w, nd->bias = bias, nd->rows = rows, nd->rowlen = rowlen;
    return k;
}

int cv_alias(conv *c, int k, const char *name) {
    cv_sym s = c->syms[k];
    int n = cv_new_sym(c, name);
    if (n < 0) return cv_fail(c, "out of memory");
    char *nm = c->syms[n].name;
    c->syms[n] = s;
    c->syms[n].name = nm;
    c->syms[n].weight = -1;
    if (s.is_const) {
        size_t bytes = (size_t)cv_numel(&s) * cv_held_size(s.dtype);
        void *p = malloc(bytes + 8);
        if (!p) return cv_fail(c, "out of memory");
        memcpy(p, s.dtype == KD_F32 ? (void *)s.f : (void *)s.i, bytes);
        c->syms[n].f = s.dtype == KD_F32 ? p : NULL;
        c->syms[n].i = s.dtype == KD_F32 ? NULL : p;
    }
    return n;
}

int cv_norm_axis(conv *c, int64_t axis, int rank, int64_t *out) {
    if (axis < -rank || axis >= (rank ? rank : 1)) return cv_fail(c, "axis %lld out of range for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

/* numpy broadcasting of two shapes */
int cv_broadcast(conv *c, const cv_sym *a, const cv_sym *b, int *rank, int64_t *dims) {
    *rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < *rank; i++) {
        int ia = i - (*rank - a->rank), ib = i - (*rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return cv_fail(c, "shapes of '%s' and '%s' do not broadcast", a->name, b->name);
        dims[i] = da == 1 ? db : da;
    }
    return 0;
}

int cv_reshape_to(conv *c, int x, int rank, const int64_t *dims, const char *name) {
    cv_sym *s = &c->syms[x];
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (n != cv_numel(s)) return cv_fail(c, "reshape of %lld elements to %lld", (long long)cv_numel(s), (long long)n);
    if (s->is_const) { /* a constant is simply re-dimensioned */
        int k = cv_alias(c, x, name);
        if (k < 0) return -1;
        return cv_set_dims(c, &c->syms[k], rank, dims);
    }
    kd_desc d = {.op = OP_RESHAPE, .noperands = 1};
    cv_set_out(&d, rank, dims);
    d.out.dtype = (uint8_t)s->dtype;
    return cv_emit(c, &d, &x, name) < 0 ? -1 : 0;
}

/* One strided slice of x into `name` (start/step per dim, output dims). */
int cv_emit_slice(conv *c, int x, const int64_t *start, const int64_t *step, const int64_t *dims, const char *name) {
    cv_sym *s = &c->syms[x];
    kd_desc d = {.op = OP_SLICE, .noperands = 1};
    d.out.dtype = (uint8_t)s->dtype;
    for (int k = 0; k < s->rank; k++) d.ia[k] = (int32_t)start[k], d.ia[6 + k] = (int32_t)step[k];
    cv_set_out(&d, s->rank, dims);
    return cv_emit(c, &d, &x, name) < 0 ? -1 : 0;
}

/* QLinear of value x with constant B: wt says B is already [N, K] (Gemm transB) */
int cv_linear_const(conv *c, int x, int bsym, int wt, float alpha, const float *bias, int64_t nb, const char *name) {
    cv_sym *sx = &c->syms[x], *sb = &c->syms[bsym];
    if (sb->dtype != KD_F32) return cv_fail(c, "weights must be float32");
    int64_t kdim = wt ? sb->dims[1] : sb->dims[0], n = wt ? sb->dims[0] : sb->dims[1];
    if (sx->rank < 1 || sx->dims[sx->rank - 1] != kdim)
        return cv_fail(c, "inner dimensions differ (%lld and %lld)", (long long)(sx->rank ? sx->dims[sx->rank - 1] : 0), (long long)kdim);
    float *wf = malloc((size_t)(n * kdim) * 4 + 4), *bf = NULL;
    if (!wf) return cv_fail(c, "out of memory");
    for (int64_t o = 0; o < n; o++)
        for (int64_t i = 0; i < kdim; i++) {
            float v = wt ? sb->f[o * kdim + i] : sb->f[i * n + o];
            wf[o * kdim + i] = alpha == 1.0f ? v : v * alpha;
        }
    if (bias) {
        bf = malloc((size_t)n * 4 + 4);
        if (!bf) {
            free(wf);
            return cv_fail(c, "out of memory");
        }
        for (int64_t o = 0; o < n; o++) bf[o] = bias[nb == 1 ? 0 : o];
    }
    kd_desc d = {.op = OP_QLINEAR};
    d.in[1].dtype = KD_I8, d.in[1].rank = 2, d.in[1].dims[0] = (uint32_t)n, d.in[1].dims[1] = (uint32_t)kdim;
    int64_t dims[KD_MAX_RANK];
    int rank = sx->rank;
    memcpy(dims, sx->dims, sizeof dims);
    dims[rank - 1] = n;
    cv_set_out(&d, rank, dims);
    return cv_emit_quant(c, &d, x, wf, (size_t)n, (size_t)kdim, bf, name);
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
            return cv_fail(c, "out of memory");
        }
        b->w = w, b->cap = cap;
    }
    memset(&b->w[b->nw], 0, sizeof b->w[b->nw]);
    b->w[b->nw].t = *t;
    b->w[b->nw].data = data;
    b->owned[b->nowned++] = data;
    return (int)b->nw++;
}

int cv_finish(conv *c, int out_sym, float input_divisor, uint8_t **out, size_t *out_len) {
    if (!opml_input_divisor_ok(input_divisor)) {
        c->at_node = 0;
        return cv_fail(c, "bad input divisor %g (0, or positive with 255 / divisor finite)", (double)input_divisor);
    }
    built b = {0};
    opml_node *nodes = calloc(c->nnodes + 1, sizeof *nodes);
    int rc = -1;
    if (!nodes) {
        cv_fail(c, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < c->nnodes; k++) {
        cv_node *cn = &c->nodes[k];
        opml_node *nd = &nodes[k];
        nd->d = cn->d;
        for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) nd->ref[j] = OPML_REF_NONE;
        for (unsigned j = 0; j < cn->d.noperands; j++) {
            if (cn->quant && j >= 1) break;
            cv_sym *s = &c->syms[cn->opsym[j]];
            if (!s->is_const) {
                nd->input_mask |= (uint16_t)(1u << j);
                nd->ref[j] = s->value;
                continue;
            }
            if (s->weight < 0) {
                void *copy = cv_const_bytes(s);
                if (!copy) {
                    cv_fail(c, "out of memory");
                    goto done;
                }
                kd_tensor t = cv_tensor(s);
                if ((s->weight = add_weight(c, &b, &t, copy)) < 0) goto done;
            }
            nd->ref[j] = (uint32_t)s->weight;
        }
        if (cn->quant) { /* int8 weights and per-channel scales, by the kernels' own rule */
            int8_t *q = malloc(cn->rows * cn->rowlen + 1);
            float *sc = malloc(cn->rows * 4 + 4);
            if (!q || !sc) {
                free(q), free(sc);
                cv_fail(c, "out of memory");
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
                    cv_fail(c, "out of memory");
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
                    .output_value = c->syms[out_sym].value, .input_divisor = input_divisor,
                    .inputs = c->inputs, .weights = b.w, .nodes = nodes};
    char inner[400];
    if (opml_model_commit(&m, inner, sizeof inner)) {
        opml_model_free(&m);
        c->at_node = 0;
        cv_fail(c, "converted model is inconsistent: %s", inner);
        goto done;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || opml_model_write(&m, f) || fclose(f)) {
        opml_model_free(&m);
        free(buf);
        c->at_node = 0;
        cv_fail(c, "cannot write the model");
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

void cv_free(conv *c) {
    for (size_t i = 0; i < c->nsyms; i++) free(c->syms[i].name), free(c->syms[i].f), free(c->syms[i].i);
    for (size_t i = 0; i < c->nnodes; i++) free(c->nodes[i].wf), free(c->nodes[i].bias);
    free(c->syms), free(c->nodes);
}
