/* conv_pool.c: ONNX's windowed operators (onnx_lower.h): Conv (a QConv with int8 weights),
 * ConvTranspose (a QConvTranspose), MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool; 1-D
 * ones run as 2-D with height 1. The window
 * attributes (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) are read here. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pads and output size of 2-D windows (Conv, pools) including auto_pad */
static int window2d(onnx_ctx *ox, const cv_sym *x, const int64_t *k, const int64_t *st, const int64_t *dil, int ceil_mode,
                    int64_t *pads /* t l b r */, int64_t *out) {
    conv *c = ox->c;
    const char *ap = onnx_attr_s(ox, "auto_pad", "NOTSET");
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
            return cv_fail(c, "auto_pad '%s' is not supported", ap);
        }
        int64_t span = in + pads[i] + pads[2 + i] - ext;
        if (span < 0) return cv_fail(c, "window larger than the padded input");
        out[i] = (ceil_mode ? (span + st[i] - 1) / st[i] : span / st[i]) + 1;
        if (ceil_mode && (out[i] - 1) * st[i] >= in + pads[i]) out[i]--;
    }
    return 0;
}

/* 2-D window attributes shared by Conv and the pools */
static int window_attrs(onnx_ctx *ox, const cv_sym *x, int64_t *k, int64_t *st, int64_t *dil, int64_t *pads) {
    conv *c = ox->c;
    if (x->rank != 4) return cv_fail(c, "only 1-D and 2-D (rank 3 or 4) inputs are supported, not rank %d", x->rank);
    int n, d = ox->as1d ? 1 : 2; /* 1-D attributes describe the width; the height is 1 */
    int64_t v[4];
    if ((n = onnx_attr_ints(ox, "kernel_shape", v, d)) != d && n != -1) return cv_fail(c, "kernel_shape must have %d entries", d);
    if (n == d) k[0] = d == 1 ? 1 : v[0], k[1] = v[d - 1];
    for (int i = 0; n == d && i < d; i++)
        if (v[i] < 1 || v[i] > 65536) return cv_fail(c, "kernel_shape %lld is not supported (1 to 65536)", (long long)v[i]);
    if ((n = onnx_attr_ints(ox, "strides", v, d)) == -1) st[0] = st[1] = 1;
    else if (n != d) return cv_fail(c, "strides must have %d entries", d);
    else st[0] = d == 1 ? 1 : v[0], st[1] = v[d - 1];
    if ((n = onnx_attr_ints(ox, "dilations", v, d)) == -1) dil[0] = dil[1] = 1;
    else if (n != d) return cv_fail(c, "dilations must have %d entries", d);
    else dil[0] = d == 1 ? 1 : v[0], dil[1] = v[d - 1];
    if ((n = onnx_attr_ints(ox, "pads", v, 2 * d)) == -1) pads[0] = pads[1] = pads[2] = pads[3] = 0;
    else if (n != 2 * d) return cv_fail(c, "pads must have %d entries", 2 * d);
    else if (d == 1) pads[0] = pads[2] = 0, pads[1] = v[0], pads[3] = v[1];
    else memcpy(pads, v, 4 * sizeof *v);
    for (int i = 0; i < 2; i++)
        if (st[i] < 1 || dil[i] < 1 || st[i] > 65536 || dil[i] > 65536) return cv_fail(c, "bad strides or dilations");
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > 65536) return cv_fail(c, "bad pads");
    return 0;
}

/* A 1-D Conv or pool's input [N, C, L] as [N, C, 1, L] (a Reshape); sets ox->as1d. Returns the
 * view's symbol, or -1. */
static int view_2d(onnx_ctx *ox, int x) {
    conv *c = ox->c;
    const cv_sym *s = &c->syms[x];
    int64_t dims[4] = {s->dims[0], s->dims[1], 1, s->dims[2]};
    char name[300];
    snprintf(name, sizeof name, "%s/as2d", onnx_out_name(ox, 0));
    if (cv_reshape_to(c, x, 4, dims, name)) return -1;
    ox->as1d = 1;
    return cv_find(c, name);
}

/* The 2-D result y [N, M, 1, L'] of a 1-D node, back to [N, M, L'] under the node's output name. */
static int back_to_1d(onnx_ctx *ox, int y) {
    conv *c = ox->c;
    if (y < 0) return -1;
    const cv_sym *s = &c->syms[y];
    int64_t dims[3] = {s->dims[0], s->dims[1], s->dims[3]};
    return cv_reshape_to(c, y, 3, dims, onnx_out_name(ox, 0));
}

int onnx_op_pool(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const known[] = {"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad",
                                        "count_include_pad", "storage_order", NULL};
    if (onnx_only_attrs(ox, known) || onnx_single_output(ox)) return -1;
    int x;
    if (onnx_in(ox, 0, &x) || x < 0) return x < 0 ? cv_fail(c, "missing input") : -1;
    if (c->syms[x].rank == 3 && (x = view_2d(ox, x)) < 0) return -1;
    cv_sym *s = &c->syms[x];
    int64_t k[2], st[2], dil[2], pads[4], o[2];
    if (window_attrs(ox, s, k, st, dil, pads)) return -1;
    if (!onnx_attr(ox, "kernel_shape")) return cv_fail(c, "kernel_shape is required");
    if (onnx_attr_i(ox, "storage_order", 0)) return cv_fail(c, "storage_order 1 is not supported");
    if (op == OP_AVGPOOL && (dil[0] != 1 || dil[1] != 1)) return cv_fail(c, "dilations are not supported for AveragePool");
    if (window2d(ox, s, k, st, dil, (int)onnx_attr_i(ox, "ceil_mode", 0), pads, o)) return -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1,
                 .ia = {(int32_t)k[0], (int32_t)k[1], (int32_t)st[0], (int32_t)st[1], (int32_t)pads[0], (int32_t)pads[1],
                        (int32_t)pads[2], (int32_t)pads[3], (int32_t)dil[0], (int32_t)dil[1],
                        (int32_t)onnx_attr_i(ox, "count_include_pad", 0)}};
    int64_t dims[4] = {s->dims[0], s->dims[1], o[0], o[1]};
    cv_set_out(&d, 4, dims);
    if (ox->as1d) {
        char name[300];
        snprintf(name, sizeof name, "%s/2d", onnx_out_name(ox, 0));
        return back_to_1d(ox, cv_emit(c, &d, &x, name));
    }
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_gap(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, none, &x)) return -1;
    cv_sym *s = &c->syms[x];
    if (s->rank < 3) return cv_fail(c, "input of rank %d", s->rank);
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < s->rank; i++) dims[i] = i < 2 ? s->dims[i] : 1;
    kd_desc d = {.op = OP_GLOBALAVGPOOL, .noperands = 1};
    cv_set_out(&d, s->rank, dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* GlobalMaxPool: ReduceMax over every dimension after the channels, kept as 1. */
int onnx_op_gmp(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, none, &x)) return -1;
    int rank = c->syms[x].rank;
    if (rank < 3) return cv_fail(c, "input of rank %d", rank);
    return cv_reduce(c, OP_REDUCEMAX, x, ((1u << rank) - 1) & ~3u, 1, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_conv(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int x, w, b;
    if (onnx_in(ox, 0, &x) || onnx_in(ox, 1, &w) || onnx_in(ox, 2, &b)) return -1;
    if (x < 0 || w < 0) return cv_fail(c, "missing input");
    if (!c->syms[w].is_const || c->syms[w].dtype != KD_F32) return cv_fail(c, "weights must be float32 constants");
    if (c->syms[x].rank == 3 && c->syms[w].rank == 3) { /* 1-D: weights [M, C/G, K] as [M, C/G, 1, K] */
        char name[300];
        snprintf(name, sizeof name, "%s/w2d", onnx_out_name(ox, 0));
        int64_t wd[4] = {c->syms[w].dims[0], c->syms[w].dims[1], 1, c->syms[w].dims[2]};
        if ((x = view_2d(ox, x)) < 0 || (w = cv_alias(c, w, name)) < 0 || cv_set_dims(c, &c->syms[w], 4, wd)) return -1;
    }
    cv_sym *sx = &c->syms[x], *sw = &c->syms[w];
    if (sw->rank != 4) return cv_fail(c, "only 1-D and 2-D convolutions are supported (weights of rank %d)", sw->rank);
    int64_t k[2] = {sw->dims[2], sw->dims[3]}, st[2], dil[2], pads[4], o[2], ks[2];
    if (window_attrs(ox, sx, ks, st, dil, pads)) return -1;
    if (onnx_attr(ox, "kernel_shape") && (ks[0] != k[0] || ks[1] != k[1])) return cv_fail(c, "kernel_shape differs from the weights");
    if (window2d(ox, sx, k, st, dil, 0, pads, o)) return -1;
    int64_t g = onnx_attr_i(ox, "group", 1), m = sw->dims[0];
    if (g < 1 || sx->dims[1] % g || m % g || sw->dims[1] != sx->dims[1] / g) return cv_fail(c, "channels do not fit group %lld", (long long)g);
    size_t rowlen = (size_t)(sw->dims[1] * k[0] * k[1]);
    float *wf = malloc((size_t)m * rowlen * 4 + 4), *bias = NULL;
    if (!wf) return cv_fail(c, "out of memory");
    memcpy(wf, sw->f, (size_t)m * rowlen * 4);
    if (b >= 0) {
        cv_sym *sb = &c->syms[b];
        if (!sb->is_const || sb->dtype != KD_F32 || cv_numel(sb) != m) {
            free(wf);
            return cv_fail(c, "bias must be a float32 constant of %lld values", (long long)m);
        }
        bias = malloc((size_t)m * 4);
        if (!bias) {
            free(wf);
            return cv_fail(c, "out of memory");
        }
        memcpy(bias, sb->f, (size_t)m * 4);
    }
    kd_desc d = {.op = OP_QCONV,
                 .ia = {(int32_t)g, (int32_t)st[0], (int32_t)st[1], (int32_t)pads[0], (int32_t)pads[1], (int32_t)pads[2],
                        (int32_t)pads[3], (int32_t)dil[0], (int32_t)dil[1]}};
    d.in[1].dtype = KD_I8, d.in[1].rank = 4;
    for (int i = 0; i < 4; i++) d.in[1].dims[i] = (uint32_t)sw->dims[i];
    int64_t dims[4] = {sx->dims[0], m, o[0], o[1]};
    cv_set_out(&d, 4, dims);
    if (ox->as1d) {
        char name[300];
        snprintf(name, sizeof name, "%s/2d", onnx_out_name(ox, 0));
        return back_to_1d(ox, cv_emit_quant(c, &d, x, wf, (size_t)m, rowlen, bias, name));
    }
    return cv_emit_quant(c, &d, x, wf, (size_t)m, rowlen, bias, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* ConvTranspose (1-D as 2-D of height 1): a QConvTranspose whose int8 weights are ONNX's
 * [C, M/G, KH, KW] laid out by output channel, [M, C/G, KH, KW], so that each row (one output
 * channel's weights) gets its own scale. Pads from the attribute, or from output_shape / auto_pad
 * as the ONNX operator defines them: total = stride * (in - 1) + output_padding + (k - 1) * dil + 1
 * - out; SAME_UPPER puts floor(total / 2) first, otherwise total - floor(total / 2) (a negative pad
 * extends the output past what the input reaches: bias only there). */
int onnx_op_convtranspose(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad",
                                        "output_padding", "output_shape", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int x, w, b;
    if (onnx_in(ox, 0, &x) || onnx_in(ox, 1, &w) || onnx_in(ox, 2, &b)) return -1;
    if (x < 0 || w < 0) return cv_fail(c, "missing input");
    if (!c->syms[w].is_const || c->syms[w].dtype != KD_F32) return cv_fail(c, "weights must be float32 constants");
    if (c->syms[x].rank == 3 && c->syms[w].rank == 3) { /* 1-D: weights [C, M/G, K] as [C, M/G, 1, K] */
        char name[CV_NAME];
        int64_t wd[4] = {c->syms[w].dims[0], c->syms[w].dims[1], 1, c->syms[w].dims[2]};
        if ((x = view_2d(ox, x)) < 0 || (w = cv_alias(c, w, cv_subname(name, onnx_out_name(ox, 0), "w2d"))) < 0 ||
            cv_set_dims(c, &c->syms[w], 4, wd))
            return -1;
    }
    cv_sym *sx = &c->syms[x], *sw = &c->syms[w];
    if (sw->rank != 4) return cv_fail(c, "only 1-D and 2-D transposed convolutions are supported (weights of rank %d)", sw->rank);
    int64_t k[2] = {sw->dims[2], sw->dims[3]}, st[2], dil[2], pads[4], ks[2], opad[2] = {0, 0}, oshape[2], v[4];
    const char *ap = onnx_attr_s(ox, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER") && strcmp(ap, "VALID"))
        return cv_fail(c, "auto_pad '%s' is not supported", ap);
    if (window_attrs(ox, sx, ks, st, dil, pads)) return -1;
    if (onnx_attr(ox, "kernel_shape") && (ks[0] != k[0] || ks[1] != k[1])) return cv_fail(c, "kernel_shape differs from the weights");
    int d1 = ox->as1d ? 1 : 2, n;
    if ((n = onnx_attr_ints(ox, "output_padding", v, d1)) >= 0) {
        if (n != d1) return cv_fail(c, "output_padding must have %d entries", d1);
        opad[0] = d1 == 1 ? 0 : v[0], opad[1] = v[d1 - 1];
    }
    int has_oshape = (n = onnx_attr_ints(ox, "output_shape", v, 4)) >= 0;
    if (has_oshape) {
        if (n != d1 && n != d1 + 2) return cv_fail(c, "output_shape must have %d entries", d1);
        oshape[0] = d1 == 1 ? 1 : v[n - 2], oshape[1] = v[n - 1];
    }
    for (int i = 0; i < 2; i++) {
        if (opad[i] < 0 || opad[i] >= st[i]) return cv_fail(c, "output_padding must be in [0, stride)");
        int64_t full = st[i] * (sx->dims[2 + i] - 1) + opad[i] + (k[i] - 1) * dil[i] + 1;
        if (has_oshape || !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            int64_t out = has_oshape ? oshape[i] : sx->dims[2 + i] * st[i], total = full - out;
            int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2); /* rounded down, as ONNX's // */
            if (total < -65536 || total > 65536) return cv_fail(c, "output_shape does not fit the transposed convolution");
            int upper = !strcmp(ap, "SAME_UPPER");
            pads[i] = upper ? half : total - half; /* negative: the output extends past the input's reach */
            pads[2 + i] = total - pads[i];
        } else if (!strcmp(ap, "VALID")) {
            pads[i] = pads[2 + i] = 0;
        }
    }
    int64_t g = onnx_attr_i(ox, "group", 1), cin = sx->dims[1];
    if (g < 1 || cin % g || sw->dims[0] != cin) return cv_fail(c, "channels do not fit group %lld", (long long)g);
    int64_t mg = sw->dims[1], m = mg * g, cg = cin / g, kk = k[0] * k[1];
    size_t rowlen = (size_t)(cg * kk);
    float *wf = malloc((size_t)m * rowlen * 4 + 4), *bias = NULL;
    if (!wf) return cv_fail(c, "out of memory");
    for (int64_t o = 0; o < m; o++) /* W'[o][ci] = W[g * C/G + ci][o % (M/G)] */
        for (int64_t ci = 0; ci < cg; ci++)
            memcpy(wf + ((size_t)o * rowlen + (size_t)(ci * kk)), sw->f + ((size_t)(((o / mg) * cg + ci) * mg + o % mg) * (size_t)kk),
                   (size_t)kk * 4);
    if (b >= 0) {
        cv_sym *sb = &c->syms[b];
        if (!sb->is_const || sb->dtype != KD_F32 || cv_numel(sb) != m) {
            free(wf);
            return cv_fail(c, "bias must be a float32 constant of %lld values", (long long)m);
        }
        if (!(bias = malloc((size_t)m * 4))) {
            free(wf);
            return cv_fail(c, "out of memory");
        }
        memcpy(bias, sb->f, (size_t)m * 4);
    }
    kd_desc d = {.op = OP_QCONVTRANSPOSE,
                 .ia = {(int32_t)g, (int32_t)st[0], (int32_t)st[1], (int32_t)pads[0], (int32_t)pads[1], (int32_t)pads[2],
                        (int32_t)pads[3], (int32_t)dil[0], (int32_t)dil[1]}};
    d.in[1].dtype = KD_I8, d.in[1].rank = 4;
    d.in[1].dims[0] = (uint32_t)m, d.in[1].dims[1] = (uint32_t)cg, d.in[1].dims[2] = (uint32_t)k[0], d.in[1].dims[3] = (uint32_t)k[1];
    int64_t dims[4] = {sx->dims[0], m, 0, 0};
    for (int i = 0; i < 2; i++) dims[2 + i] = st[i] * (sx->dims[2 + i] - 1) + opad[i] + (k[i] - 1) * dil[i] + 1 - pads[i] - pads[2 + i];
    if (dims[2] < 1 || dims[3] < 1) {
        free(wf), free(bias);
        return cv_fail(c, "empty output");
    }
    cv_set_out(&d, 4, dims);
    if (ox->as1d) {
        char name[CV_NAME];
        return back_to_1d(ox, cv_emit_quant(c, &d, x, wf, (size_t)m, rowlen, bias, cv_subname(name, onnx_out_name(ox, 0), "2d")));
    }
    return cv_emit_quant(c, &d, x, wf, (size_t)m, rowlen, bias, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
