/* mask.c: the mask and shape-building operators of transformer exports (onnx_lower.h): Equal,
 * Not, Where and Expand (run-time nodes of the kernels of the same names, or folded when their
 * inputs are constant), and ConstantOfShape and Range, which only ever make constants here (a
 * model's shapes are static, so the shape or bounds they read are constants; a run-time one
 * would make a shape depend on data and is refused). */
#include "onnx_lower.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int broadcast_n(conv *c, const int *ks, int n, int *rank, int64_t *dims) {
    cv_sym acc = c->syms[ks[0]];
    for (int j = 1; j < n; j++) {
        if (cv_broadcast(c, &acc, &c->syms[ks[j]], rank, dims)) return -1;
        acc.rank = *rank;
        memcpy(acc.dims, dims, sizeof acc.dims);
    }
    *rank = acc.rank;
    memcpy(dims, acc.dims, sizeof acc.dims);
    return 0;
}

int same_dtype(conv *c, int *a, int *b) {
    if (c->syms[*a].dtype == c->syms[*b].dtype) return 0;
    if (c->syms[*b].is_const) return (*b = cv_as_dtype(c, *b, c->syms[*a].dtype)) < 0 ? -1 : 0;
    return (*a = cv_as_dtype(c, *a, c->syms[*b].dtype)) < 0 ? -1 : 0;
}

int onnx_op_equal(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int ab[2];
    if (onnx_only_attrs(ox, none) || onnx_in(ox, 0, &ab[0]) || onnx_in(ox, 1, &ab[1])) return -1;
    if (ab[0] < 0 || ab[1] < 0) return cv_fail(c, "missing input");
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (same_dtype(c, &ab[0], &ab[1]) || broadcast_n(c, ab, 2, &rank, dims)) return -1;
    kd_desc d = {.op = OP_EQUAL, .noperands = 2};
    cv_set_out(&d, rank, dims);
    d.out.dtype = KD_BOOL;
    return cv_emit(c, &d, ab, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_not(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, none, &x)) return -1;
    kd_desc d = {.op = OP_NOT, .noperands = 1};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    d.out.dtype = KD_BOOL;
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_where(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int k[3];
    if (onnx_only_attrs(ox, none)) return -1;
    for (size_t i = 0; i < 3; i++)
        if (onnx_in(ox, i, &k[i]) || k[i] < 0) return k[i] < 0 ? cv_fail(c, "missing input") : -1;
    if ((k[0] = cv_as_dtype(c, k[0], KD_BOOL)) < 0 || same_dtype(c, &k[1], &k[2])) return -1;
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (broadcast_n(c, k, 3, &rank, dims)) return -1;
    kd_desc d = {.op = OP_WHERE, .noperands = 3};
    cv_set_out(&d, rank, dims);
    d.out.dtype = (uint8_t)c->syms[k[1]].dtype;
    return cv_emit(c, &d, k, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* A constant int64 vector input (a shape) into v[*n], at most KD_MAX_RANK values. */
static int shape_input(onnx_ctx *ox, size_t i, int64_t *v, int *n) {
    conv *c = ox->c;
    int k;
    if (onnx_in(ox, i, &k)) return -1;
    if (k < 0) return cv_fail(c, "missing input");
    const cv_sym *s = &c->syms[k];
    if (!s->is_const) return cv_fail(c, "a run-time shape is not supported (shapes are static)");
    if (s->dtype != KD_I64 || s->rank != 1 || s->dims[0] > KD_MAX_RANK)
        return cv_fail(c, "the shape must be an int64 vector of at most %d values", KD_MAX_RANK);
    *n = (int)s->dims[0];
    for (int j = 0; j < *n; j++) {
        if (s->i[j] < 0) return cv_fail(c, "negative dimension %lld in the shape", (long long)s->i[j]);
        v[j] = s->i[j];
    }
    return 0;
}

int onnx_op_expand(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int x, n;
    int64_t shape[KD_MAX_RANK];
    if (onnx_first_input(ox, none, &x) || shape_input(ox, 1, shape, &n)) return -1;
    cv_sym want = {.name = "shape", .rank = n};
    memcpy(want.dims, shape, sizeof shape);
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (cv_broadcast(c, &c->syms[x], &want, &rank, dims)) return -1;
    kd_desc d = {.op = OP_EXPAND, .noperands = 1};
    cv_set_out(&d, rank, dims);
    d.out.dtype = (uint8_t)c->syms[x].dtype;
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* The element count of dims[0..n-1], or -1 (with the reason) past what a tensor can hold. */
static int64_t checked_numel(conv *c, const int64_t *dims, int n) {
    int64_t e = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] && e > CV_MAX_NUMEL / dims[i]) return cv_fail(c, "a tensor of more than %d elements", CV_MAX_NUMEL);
        e *= dims[i];
    }
    return e;
}

int onnx_op_constant_of_shape(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"value", NULL};
    int n;
    int64_t shape[KD_MAX_RANK];
    if (onnx_only_attrs(ox, known) || shape_input(ox, 0, shape, &n)) return -1;
    int64_t count = checked_numel(c, shape, n);
    if (count < 0) return -1;
    int dtype = KD_F32, v = -1;
    const Onnx__AttributeProto *a = onnx_attr(ox, "value");
    if (a) { /* a one-element tensor giving the type and the value */
        char name[300];
        snprintf(name, sizeof name, "%s/value", onnx_out_name(ox, 0));
        if (!a->t || (v = onnx_tensor_const(c, name, a->t)) < 0) return a->t ? -1 : cv_fail(c, "value is not a tensor");
        if (cv_numel(&c->syms[v]) != 1) return cv_fail(c, "value must have one element");
        dtype = c->syms[v].dtype;
    }
    size_t es = cv_held_size(dtype); /* as a constant holds them (integers as int64) */
    if ((uint64_t)count * es > KD_MAX_TENSOR_BYTES)
        return cv_fail(c, "%lld %s values are more than a tensor holds", (long long)count, opml_dtype_name((unsigned)dtype));
    uint8_t *data = malloc((size_t)count * es + 8);
    if (!data) return cv_fail(c, "out of memory");
    for (int64_t i = 0; i < count; i++) {
        if (v < 0) memset(data + i * es, 0, es);
        else memcpy(data + i * es, dtype == KD_F32 ? (const void *)c->syms[v].f : (const void *)c->syms[v].i, es);
    }
    int k = cv_new_const(c, onnx_out_name(ox, 0), dtype, n, shape, data);
    free(data);
    return k < 0 ? -1 : 0;
}

/* Range(start, limit, delta) of constant scalars: max(ceil((limit - start) / delta), 0) values
 * start + i * delta, in int64 arithmetic or, for float32, one IEEE multiplication and addition
 * each ((float)i * delta, then start +). */
int onnx_op_range(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int k[3];
    if (onnx_only_attrs(ox, none)) return -1;
    for (size_t i = 0; i < 3; i++) {
        if (onnx_in(ox, i, &k[i]) || k[i] < 0) return k[i] < 0 ? cv_fail(c, "missing input") : -1;
        const cv_sym *s = &c->syms[k[i]];
        if (!s->is_const) return cv_fail(c, "a Range of run-time values is not supported (its length would depend on data)");
        if (cv_numel(s) != 1 || s->dtype != c->syms[k[0]].dtype || (s->dtype != KD_F32 && s->dtype != KD_I64))
            return cv_fail(c, "start, limit and delta must be scalars of one type, float32 or int64");
    }
    const cv_sym *s0 = &c->syms[k[0]], *s1 = &c->syms[k[1]], *s2 = &c->syms[k[2]];
    int flt = s0->dtype == KD_F32;
    double start = flt ? s0->f[0] : (double)s0->i[0], limit = flt ? s1->f[0] : (double)s1->i[0];
    double delta = flt ? s2->f[0] : (double)s2->i[0], span = (limit - start) / delta;
    if (delta == 0 || span != span) return cv_fail(c, "delta is zero or the bounds are not numbers");
    if (span > (flt ? CV_MAX_NUMEL : CV_MAX_NUMEL / 2)) /* int64: 8 bytes each */
        return cv_fail(c, "a tensor of more than %d elements", flt ? CV_MAX_NUMEL : CV_MAX_NUMEL / 2);
    int64_t n = span > 0 ? (int64_t)span + ((double)(int64_t)span < span) : 0; /* the ceiling */
    if (!flt) { /* exactly, in unsigned integers (the differences cannot overflow) */
        int64_t a = s0->i[0], b = s1->i[0], st = s2->i[0];
        uint64_t diff = st > 0 ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b, step = st > 0 ? (uint64_t)st : 0 - (uint64_t)st;
        n = (st > 0 ? b > a : a > b) ? (int64_t)(diff / step + (diff % step != 0)) : 0;
    }
    uint8_t *data = malloc((size_t)n * 8 + 8);
    if (!data) return cv_fail(c, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (flt) ((float *)data)[i] = s0->f[0] + (float)i * s2->f[0];
        else ((int64_t *)data)[i] = (int64_t)((uint64_t)s0->i[0] + (uint64_t)i * (uint64_t)s2->i[0]);
    }
    int r = cv_new_const(c, onnx_out_name(ox, 0), s0->dtype, 1, &n, data);
    free(data);
    return r < 0 ? -1 : 0;
}
