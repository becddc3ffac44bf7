/* resize.c: ONNX's Resize (opset 10 on) and Upsample (onnx_lower.h): one AxisResample node per
 * axis whose size or sampling changes (numerics/kernels/axisresample.c), its taps computed here in
 * double, as ONNX's reference computes them (onnx/reference/ops/op_resize.py: one axis after the
 * other), each weight then rounded to binary32 once:
 *   - the source coordinate x_ori of output position x by coordinate_transformation_mode
 *     (half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn,
 *     tf_crop_and_resize, whose positions outside the input read extrapolation_value), with the
 *     reference's output width scale * input (a real number, not the integer size);
 *   - ratio = x_ori - floor(x_ori), or 1 when x_ori is an integer; the n taps read positions
 *     ceil(x_ori) - n/2 + k (the n nearest, ties to the smaller), clamped to the input (edge
 *     padding); weights: nearest one tap chosen by nearest_mode, linear (1 - ratio, ratio), cubic
 *     Keys' kernel with cubic_coeff_a; exclude_outside zeroes the taps outside the input and
 *     divides the others by their sum.
 * Output sizes: `sizes`, or floor(scale * input). Upsample is Resize with asymmetric coordinates
 * (nearest: floor). */
#include "onnx_lower.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rs_mode { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum rs_ctm { RS_HALF_PIXEL, RS_PYTORCH_HALF_PIXEL, RS_ALIGN_CORNERS, RS_ASYMMETRIC, RS_TF_HALF_PIXEL_NN, RS_TF_CROP };
enum rs_nearest { RS_ROUND_PREFER_FLOOR, RS_ROUND_PREFER_CEIL, RS_FLOOR, RS_CEIL };

typedef struct rs_params {
    enum rs_mode mode;
    enum rs_ctm ctm;
    enum rs_nearest nearest;
    double cubic_a;
    int exclude_outside;
    float extrapolation;
} rs_params;

#define RS_MAX_TAPS 4

/* The taps of output position x: n positions and weights; 0, or 1 when x reads the extrapolation
 * value. */
static int taps_of(const rs_params *p, int64_t x, int64_t in, double scale, const double *roi, int64_t *pos, double *w,
                   int *n) {
    double xi = (double)x, out_w = scale * (double)in, xo;
    switch (p->ctm) {
    case RS_ALIGN_CORNERS: xo = out_w == 1 ? 0 : xi * (double)(in - 1) / (out_w - 1); break;
    case RS_ASYMMETRIC: xo = xi / scale; break;
    case RS_TF_HALF_PIXEL_NN: xo = (xi + 0.5) / scale; break;
    case RS_PYTORCH_HALF_PIXEL: xo = out_w == 1 ? -0.5 : (xi + 0.5) / scale - 0.5; break;
    case RS_TF_CROP:
        xo = out_w == 1 ? (roi[1] - roi[0]) * (double)(in - 1) / 2 : xi * (roi[1] - roi[0]) * (double)(in - 1) / (out_w - 1);
        xo += roi[0] * (double)(in - 1);
        if (xo < 0 || xo > (double)(in - 1)) return 1;
        break;
    default: xo = (xi + 0.5) / scale - 0.5; break;
    }
    double fl = floor(xo), ratio = xo == fl ? 1.0 : xo - fl, c[RS_MAX_TAPS];
    if (p->mode == RS_CUBIC) {
        double a = p->cubic_a, r1 = ratio + 1, s = 1 - ratio, s1 = s + 1;
        c[0] = ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a;
        c[1] = ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1;
        c[2] = ((a + 2) * s - (a + 3)) * s * s + 1;
        c[3] = ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a;
        *n = 4;
    } else if (p->mode == RS_LINEAR) {
        c[0] = 1 - ratio, c[1] = ratio, *n = 2;
    } else {
        int second = ratio == 1.0 || p->nearest == RS_CEIL ||
                     (p->nearest == RS_ROUND_PREFER_FLOOR && ratio > 0.5) ||
                     (p->nearest == RS_ROUND_PREFER_CEIL && ratio >= 0.5);
        c[0] = !second, c[1] = second, *n = 2;
    }
    int64_t base = (int64_t)ceil(xo) - *n / 2;
    if (p->exclude_outside) {
        double sum = 0;
        for (int k = 0; k < *n; k++) {
            if (base + k < 0 || base + k >= in) c[k] = 0;
            sum += c[k];
        }
        for (int k = 0; k < *n && sum != 0; k++) c[k] /= sum;
    }
    for (int k = 0; k < *n; k++) {
        int64_t q = base + k;
        pos[k] = q < 0 ? 0 : q >= in ? in - 1 : q;
        w[k] = c[k];
    }
    if (p->mode == RS_NEAREST) { /* one tap: the chosen position */
        pos[0] = c[1] != 0 ? pos[1] : pos[0];
        w[0] = 1, *n = 1;
    }
    return 0;
}

/* One AxisResample of x along `axis` to `out` positions (skipped when it is the identity). */
static int resample_axis(onnx_ctx *ox, int x, int axis, int64_t out, double scale, const double *roi, const rs_params *p,
                         const char *name) {
    conv *c = ox->c;
    int64_t in = c->syms[x].dims[axis];
    int k = p->mode == RS_NEAREST ? 1 : p->mode == RS_LINEAR ? 2 : 4;
    if (out < 1 || out > CV_MAX_NUMEL / k) return cv_fail(c, "output size %lld is not supported", (long long)out);
    int32_t *idx = malloc((size_t)(out * k) * 4 + 4);
    float *w = malloc((size_t)(out * k) * 4 + 4);
    if (!idx || !w) {
        free(idx), free(w);
        return cv_fail(c, "out of memory");
    }
    int identity = out == in;
    for (int64_t i = 0; i < out; i++) {
        int64_t pos[RS_MAX_TAPS];
        double wd[RS_MAX_TAPS];
        int n;
        if (taps_of(p, i, in, scale, roi, pos, wd, &n)) { /* outside the crop: the extrapolation value */
            n = 1, pos[0] = -1, wd[0] = 1;
        }
        for (int t = 0; t < k; t++) {
            idx[i * k + t] = t < n ? (int32_t)pos[t] : -1;
            w[i * k + t] = t < n ? (float)wd[t] : 0.0f;
            if (t < n && wd[t] != 0 && !(pos[t] == i && wd[t] == 1)) identity = 0;
        }
    }
    if (identity) {
        free(idx), free(w);
        return cv_alias(c, x, name);
    }
    char b1[CV_NAME], b2[CV_NAME];
    int64_t tdims[2] = {out, k};
    int ki = cv_i32_const(c, cv_subname(b1, name, "taps"), 2, tdims, idx);
    int kw = ki < 0 ? -1 : cv_new_const(c, cv_subname(b2, name, "weights"), KD_F32, 2, tdims, w);
    free(idx), free(w);
    if (kw < 0) return -1;
    kd_desc d = {.op = OP_AXISRESAMPLE, .noperands = 3, .ia = {axis}, .fa = {p->extrapolation}};
    int64_t dims[KD_MAX_RANK];
    memcpy(dims, c->syms[x].dims, sizeof dims);
    dims[axis] = out;
    cv_set_out(&d, c->syms[x].rank, dims);
    int ops[3] = {x, ki, kw};
    return cv_emit(c, &d, ops, name);
}

/* Every axis in order, each an AxisResample (the last one named as the node's output). */
static int resample(onnx_ctx *ox, int x, const int64_t *out, const double *scales, const double *roi, const rs_params *p) {
    conv *c = ox->c;
    int rank = c->syms[x].rank, last = -1;
    const char *name = onnx_out_name(ox, 0);
    for (int a = 0; a < rank; a++)
        if (out[a] != c->syms[x].dims[a] || scales[a] != 1.0) last = a;
    if (last < 0) return cv_alias(c, x, name) < 0 ? -1 : 0;
    for (int a = 0; a <= last; a++) {
        if (out[a] == c->syms[x].dims[a] && scales[a] == 1.0) continue;
        char buf[CV_NAME], step[32];
        snprintf(step, sizeof step, "axis%d", a);
        double r[2] = {roi ? roi[a] : 0, roi ? roi[rank + a] : 1};
        if ((x = resample_axis(ox, x, a, out[a], scales[a], r, p, a == last ? name : cv_subname(buf, name, step))) < 0)
            return -1;
    }
    return 0;
}

/* A constant float input of n values (scales, roi), or *present 0 when absent or empty. */
static int float_input(onnx_ctx *ox, size_t i, int n, double *out, int *present, const char *what) {
    conv *c = ox->c;
    int k;
    *present = 0;
    if (onnx_in(ox, i, &k)) return -1;
    if (k < 0 || cv_numel(&c->syms[k]) == 0) return 0;
    const cv_sym *s = &c->syms[k];
    if (!s->is_const) return cv_fail(c, "run-time %s are not supported", what);
    if (cv_numel(s) != n) return cv_fail(c, "%s has %lld values, %d expected", what, (long long)cv_numel(s), n);
    for (int j = 0; j < n; j++) out[j] = s->dtype != KD_F32 ? (double)s->i[j] : (double)s->f[j];
    *present = 1;
    return 0;
}

static int lookup(const char *v, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

int onnx_op_resize(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                                        "exclude_outside", "extrapolation_value", "antialias", NULL};
    static const char *const modes[] = {"nearest", "linear", "cubic"}, *const ctms[] = {"half_pixel", "pytorch_half_pixel",
        "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"},
        *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    if (onnx_attr_i(ox, "antialias", 0)) return cv_fail(c, "antialias is not supported");
    rs_params p;
    int mode = lookup(onnx_attr_s(ox, "mode", "nearest"), modes, 3);
    if (mode < 0) return cv_fail(c, "mode '%s' is not supported", onnx_attr_s(ox, "mode", ""));
    const char *ctm_s = onnx_attr_s(ox, "coordinate_transformation_mode", ox->opset < 11 ? "asymmetric" : "half_pixel");
    int ctm = lookup(ctm_s, ctms, 6);
    if (ctm < 0) return cv_fail(c, "coordinate_transformation_mode '%s' is not supported", ctm_s);
    const char *nm_s = onnx_attr_s(ox, "nearest_mode", ox->opset < 11 ? "floor" : "round_prefer_floor");
    int nm = lookup(nm_s, nearests, 4);
    if (nm < 0) return cv_fail(c, "nearest_mode '%s' is not supported", nm_s);
    p.mode = (enum rs_mode)mode, p.ctm = (enum rs_ctm)ctm, p.nearest = (enum rs_nearest)nm;
    p.cubic_a = onnx_attr_f(ox, "cubic_coeff_a", -0.75f);
    p.exclude_outside = (int)onnx_attr_i(ox, "exclude_outside", 0);
    p.extrapolation = onnx_attr_f(ox, "extrapolation_value", 0.0f);
    int rank = c->syms[x].rank, have_scales, have_roi = 0, have_sizes = 0, ks;
    double scales[KD_MAX_RANK], roi[2 * KD_MAX_RANK];
    int64_t out[KD_MAX_RANK];
    if (ox->opset < 11) {
        if (float_input(ox, 1, rank, scales, &have_scales, "scales")) return -1;
    } else {
        if (float_input(ox, 1, 2 * rank, roi, &have_roi, "roi") || float_input(ox, 2, rank, scales, &have_scales, "scales"))
            return -1;
        if (onnx_in(ox, 3, &ks)) return -1;
        if (ks >= 0 && cv_numel(&c->syms[ks]) > 0) {
            const cv_sym *s = &c->syms[ks];
            if (!s->is_const || s->dtype == KD_F32 || cv_numel(s) != rank)
                return cv_fail(c, "sizes must be a constant of %d integers", rank);
            for (int a = 0; a < rank; a++) out[a] = s->i[a], scales[a] = (double)out[a] / (double)c->syms[x].dims[a];
            have_sizes = 1;
        }
    }
    if (have_sizes == have_scales) return cv_fail(c, "exactly one of scales and sizes must be given");
    if (p.ctm == RS_TF_CROP && !have_roi) return cv_fail(c, "tf_crop_and_resize needs a constant roi");
    for (int a = 0; a < rank && !have_sizes; a++) {
        if (!(scales[a] > 0) || scales[a] > 65536) return cv_fail(c, "scale %g is not supported", scales[a]);
        out[a] = (int64_t)floor(scales[a] * (double)c->syms[x].dims[a]);
    }
    return resample(ox, x, out, scales, have_roi ? roi : NULL, &p);
}

int onnx_op_upsample(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"mode", "scales", NULL};
    int x, have;
    if (onnx_first_input(ox, known, &x)) return -1;
    int rank = c->syms[x].rank;
    rs_params p = {.ctm = RS_ASYMMETRIC, .nearest = RS_FLOOR};
    const char *mode = onnx_attr_s(ox, "mode", "nearest");
    if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) p.mode = RS_LINEAR;
    else if (strcmp(mode, "nearest")) return cv_fail(c, "mode '%s' is not supported", mode);
    double scales[KD_MAX_RANK];
    const Onnx__AttributeProto *a = onnx_attr(ox, "scales");
    if (a) {
        if ((int)a->n_floats != rank) return cv_fail(c, "scales has %zu values for rank %d", a->n_floats, rank);
        for (int i = 0; i < rank; i++) scales[i] = a->floats[i];
    } else {
        if (float_input(ox, 1, rank, scales, &have, "scales")) return -1;
        if (!have) return cv_fail(c, "missing scales");
    }
    int64_t out[KD_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        if (!(scales[i] > 0) || scales[i] > 65536) return cv_fail(c, "scale %g is not supported", scales[i]);
        out[i] = (int64_t)floor(scales[i] * (double)c->syms[x].dims[i]);
    }
    return resample(ox, x, out, scales, NULL, &p);
}
