/* fuse.c: the decomposed forms older exporters write for LayerNorm and GELU (onnx_lower.h),
 * recognised and lowered to one node each, because the LayerNorm and Gelu kernels compute exactly
 * the bits of these chains (docs/numerics.md; convert.onnx_tx checks fused == unfused): fewer
 * nodes and values to commit, one node to dispute instead of nine.
 *
 *   LayerNorm (PyTorch, opset < 17): m = ReduceMean(x, the last k axes, keepdims); d = Sub(x, m);
 *     p = Pow(d, 2); v = ReduceMean(p, same axes); e = Add(v, eps); s = Sqrt(e); q = Div(d, s);
 *     then optionally g = Mul(q, scale) and y = Add(g, bias), scale and bias constants of the
 *     normalized dims.
 *   GELU (exact, PyTorch): d = Div(x, sqrt(2) as binary32); e = Erf(d); a = Add(e, 1);
 *     m = Mul(x, a); y = Mul(m, 0.5).
 *
 * A chain is fused only when every intermediate is read by the next step alone (no other node,
 * not a graph output) and its constants are known scalars with exactly these values, so the
 * fused graph computes what the unfused one would, bit for bit. Nothing else changes: any other
 * arrangement is lowered node by node. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The node reading tensor `name` when exactly one reads it and it is no graph output; -1 else. */
static int sole_reader(onnx_ctx *ox, const char *name) {
    if (onnx_consumers(ox, name) != 1) return -1;
    for (size_t n = 0; n < ox->g->n_node; n++)
        for (size_t j = 0; j < ox->g->node[n]->n_input; j++)
            if (!strcmp(ox->g->node[n]->input[j], name)) return (int)n;
    return -1;
}

static const Onnx__NodeProto *node_is(onnx_ctx *ox, int n, const char *op, size_t ninputs) {
    if (n < 0) return NULL;
    const Onnx__NodeProto *p = ox->g->node[n];
    return !strcmp(p->op_type, op) && p->n_input == ninputs && p->n_output >= 1 && p->output[0][0] &&
                   (!p->domain || !*p->domain || !strcmp(p->domain, "ai.onnx"))
               ? p
               : NULL;
}

/* 1 with *v when tensor `name` is a float32 scalar constant: a constant symbol already, or a
 * Constant node of the graph (lowered later in the node order). */
static int scalar_value(onnx_ctx *ox, const char *name, float *v) {
    int k = cv_find(ox->c, name);
    if (k >= 0) {
        const cv_sym *s = &ox->c->syms[k];
        if (!s->is_const || s->dtype != KD_F32 || cv_numel(s) != 1) return 0;
        *v = s->f[0];
        return 1;
    }
    for (size_t n = 0; n < ox->g->n_node; n++) {
        const Onnx__NodeProto *p = ox->g->node[n];
        if (strcmp(p->op_type, "Constant") || p->n_output < 1 || strcmp(p->output[0], name) || p->n_attribute != 1) continue;
        const Onnx__AttributeProto *a = p->attribute[0];
        const Onnx__TensorProto *t = !strcmp(a->name, "value") ? a->t : NULL;
        if (!strcmp(a->name, "value_float")) return *v = a->f, 1;
        if (!t || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return 0;
        for (size_t i = 0; i < t->n_dims; i++)
            if (t->dims[i] != 1) return 0;
        if (t->has_raw_data && t->raw_data.len == 4) return memcpy(v, t->raw_data.data, 4), 1;
        return !t->has_raw_data && t->n_float_data == 1 ? (*v = t->float_data[0], 1) : 0;
    }
    return 0;
}

/* 1 when tensor `name` is a float32 scalar constant with exactly the bits of `want`. */
static int scalar_is(onnx_ctx *ox, const char *name, float want) {
    float v;
    return name && scalar_value(ox, name, &v) && !memcmp(&v, &want, 4);
}

/* The input of binary node p other than `name`, or NULL when `name` is not one of them. */
static const char *other_input(const Onnx__NodeProto *p, const char *name) {
    if (!strcmp(p->input[0], name)) return p->input[1];
    return !strcmp(p->input[1], name) ? p->input[0] : NULL;
}

/* The axes of a ReduceMean over the last k dims of a rank-r input, keepdims: r - k, or -1. */
static int trailing_axes(onnx_ctx *ox, const Onnx__NodeProto *p, int rank) {
    int64_t axes[KD_MAX_RANK];
    const Onnx__NodeProto *saved = ox->cur;
    ox->cur = p;
    int n = onnx_attr_ints(ox, "axes", axes, KD_MAX_RANK), keep = (int)onnx_attr_i(ox, "keepdims", 1);
    ox->cur = saved;
    if (n < 1 || !keep || p->n_attribute > 2) return -1;
    unsigned mask = 0;
    for (int i = 0; i < n; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank) return -1;
        mask |= 1u << a;
    }
    return mask == ((1u << rank) - 1) - ((1u << (rank - n)) - 1) ? rank - n : -1;
}

/* A constant of the normalized dims' D elements that a Mul or Add broadcasts only along them. */
static int affine_const(onnx_ctx *ox, const char *name, int rank, int64_t D) {
    int k = cv_find(ox->c, name);
    if (k < 0 || !ox->c->syms[k].is_const || ox->c->syms[k].dtype != KD_F32 || cv_numel(&ox->c->syms[k]) != D ||
        ox->c->syms[k].rank > rank)
        return -1;
    return k;
}

/* The LayerNorm chain from ReduceMean node n0 (of x), fused into one LayerNorm node. */
static int fuse_layernorm(onnx_ctx *ox, size_t n0, uint8_t *skip) {
    conv *c = ox->c;
    const Onnx__NodeProto *rm = ox->g->node[n0];
    int x = cv_find(c, rm->input[0]);
    if (x < 0 || c->syms[x].is_const || c->syms[x].dtype != KD_F32) return 0;
    int rank = c->syms[x].rank, axis = trailing_axes(ox, rm, rank), at[9] = {(int)n0};
    if (axis < 0) return 0;
    const Onnx__NodeProto *sub = node_is(ox, at[1] = sole_reader(ox, rm->output[0]), "Sub", 2);
    if (!sub || strcmp(sub->input[0], rm->input[0]) || strcmp(sub->input[1], rm->output[0]) ||
        onnx_consumers(ox, sub->output[0]) != 2)
        return 0;
    const Onnx__NodeProto *pw = NULL, *dv = NULL; /* d's two readers: Pow(d, 2) and Div(d, s) */
    for (size_t n = 0; n < ox->g->n_node; n++)
        for (size_t j = 0; j < ox->g->node[n]->n_input; j++)
            if (!strcmp(ox->g->node[n]->input[j], sub->output[0])) {
                if (node_is(ox, (int)n, "Pow", 2) && j == 0) pw = ox->g->node[n], at[2] = (int)n;
                else if (node_is(ox, (int)n, "Div", 2) && j == 0) dv = ox->g->node[n], at[6] = (int)n;
            }
    if (!pw || !dv || !scalar_is(ox, pw->input[1], 2.0f)) return 0;
    const Onnx__NodeProto *rm2 = node_is(ox, at[3] = sole_reader(ox, pw->output[0]), "ReduceMean", 1);
    if (!rm2 || trailing_axes(ox, rm2, rank) != axis) return 0;
    const Onnx__NodeProto *add = node_is(ox, at[4] = sole_reader(ox, rm2->output[0]), "Add", 2);
    const char *eps_name = add ? other_input(add, rm2->output[0]) : NULL;
    float eps;
    if (!eps_name || !scalar_value(ox, eps_name, &eps) || !(eps - eps == 0.0f)) return 0;
    const Onnx__NodeProto *sq = node_is(ox, at[5] = sole_reader(ox, add->output[0]), "Sqrt", 1);
    if (!sq || sole_reader(ox, sq->output[0]) != at[6] || strcmp(dv->input[1], sq->output[0])) return 0;
    int64_t D = 1;
    for (int i = axis; i < rank; i++) D *= c->syms[x].dims[i];
    const char *y = dv->output[0];
    int ops[3] = {x, -1, -1}, n = 6;
    const Onnx__NodeProto *mul = node_is(ox, at[7] = sole_reader(ox, y), "Mul", 2);
    if (mul && (ops[1] = affine_const(ox, other_input(mul, y), rank, D)) >= 0) {
        y = mul->output[0], n = 7;
        const Onnx__NodeProto *ad = node_is(ox, at[8] = sole_reader(ox, y), "Add", 2);
        if (ad && (ops[2] = affine_const(ox, other_input(ad, y), rank, D)) >= 0) y = ad->output[0], n = 8;
    }
    char name[300];
    if (ops[1] < 0) { /* no scale: times 1 changes nothing */
        float *one = malloc((size_t)D * 4 + 4);
        if (!one) return cv_fail(c, "out of memory");
        for (int64_t i = 0; i < D; i++) one[i] = 1.0f;
        snprintf(name, sizeof name, "%s/scale", y);
        ops[1] = cv_new_const(c, name, KD_F32, 1, &D, one);
        free(one);
        if (ops[1] < 0) return -1;
    }
    kd_desc d = {.op = OP_LAYERNORM, .noperands = (uint8_t)(ops[2] >= 0 ? 3 : 2), .ia = {axis}, .fa = {eps}};
    cv_set_out(&d, rank, c->syms[x].dims);
    if (cv_emit(c, &d, ops, y) < 0) return -1;
    for (int i = 1; i <= n; i++) skip[at[i]] = 1;
    return 1;
}

/* The exact GELU chain from Div node n0 (of x by sqrt 2), fused into one Gelu node. */
static int fuse_gelu(onnx_ctx *ox, size_t n0, uint8_t *skip) {
    conv *c = ox->c;
    const Onnx__NodeProto *dv = ox->g->node[n0];
    int x = cv_find(c, dv->input[0]), at[5] = {(int)n0};
    if (x < 0 || c->syms[x].is_const || c->syms[x].dtype != KD_F32 || !scalar_is(ox, dv->input[1], 1.41421353816986083984375f))
        return 0;
    const Onnx__NodeProto *erf = node_is(ox, at[1] = sole_reader(ox, dv->output[0]), "Erf", 1);
    const Onnx__NodeProto *add = erf ? node_is(ox, at[2] = sole_reader(ox, erf->output[0]), "Add", 2) : NULL;
    if (!add || !scalar_is(ox, other_input(add, erf->output[0]), 1.0f)) return 0;
    const Onnx__NodeProto *m1 = node_is(ox, at[3] = sole_reader(ox, add->output[0]), "Mul", 2);
    if (!m1 || !other_input(m1, add->output[0]) || strcmp(other_input(m1, add->output[0]), dv->input[0])) return 0;
    const Onnx__NodeProto *m2 = node_is(ox, at[4] = sole_reader(ox, m1->output[0]), "Mul", 2);
    if (!m2 || !scalar_is(ox, other_input(m2, m1->output[0]), 0.5f)) return 0;
    kd_desc d = {.op = OP_GELU, .noperands = 1};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    if (cv_emit(c, &d, &x, m2->output[0]) < 0) return -1;
    for (int i = 1; i < 5; i++) skip[at[i]] = 1;
    return 1;
}

int onnx_fuse(onnx_ctx *ox, size_t n, uint8_t *skip) {
    if (node_is(ox, (int)n, "ReduceMean", 1)) return fuse_layernorm(ox, n, skip);
    if (node_is(ox, (int)n, "Div", 2)) return fuse_gelu(ox, n, skip);
    return 0;
}
