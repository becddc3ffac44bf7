/* shape.c: ONNX's shape and tensor operators (onnx_lower.h): Flatten, Reshape, Squeeze,
 * Unsqueeze, Transpose, Concat, Split, Slice, Pad, Gather and Cast (run-time nodes, or folded
 * when their inputs are constant), and the shape arithmetic of exported graphs (Shape, Constant,
 * Size, Identity/Dropout). A reshape of a constant only re-dimensions it; the moving operators keep
 * their input's dtype. */
#include "onnx_lower.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int onnx_op_flatten(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    cv_sym *s = &c->syms[x];
    int64_t axis = onnx_attr_i(ox, "axis", 1);
    if (axis < 0) axis += s->rank;
    if (axis < 0 || axis > s->rank) return cv_fail(c, "axis out of range");
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < s->rank; i++) dims[i >= axis] *= s->dims[i];
    return cv_reshape_to(c, x, 2, dims, onnx_out_name(ox, 0));
}

int onnx_op_reshape(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"allowzero", "shape", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int x, sh;
    if (onnx_in(ox, 0, &x) || onnx_in(ox, 1, &sh) || x < 0) return x < 0 ? cv_fail(c, "missing input") : -1;
    int64_t shape[KD_MAX_RANK];
    int rank;
    if (sh >= 0) {
        cv_sym *t = &c->syms[sh];
        if (!t->is_const || t->dtype != CV_I64) return cv_fail(c, "a run-time shape is not supported");
        if (cv_numel(t) > KD_MAX_RANK) return cv_fail(c, "rank %lld is not supported", (long long)cv_numel(t));
        rank = (int)cv_numel(t);
        memcpy(shape, t->i, (size_t)rank * 8);
    } else if ((rank = onnx_attr_ints(ox, "shape", shape, KD_MAX_RANK)) < 0) {
        return cv_fail(c, "no shape");
    }
    cv_sym *s = &c->syms[x];
    int allowzero = (int)onnx_attr_i(ox, "allowzero", 0), infer = -1;
    int64_t known_prod = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= s->rank) return cv_fail(c, "shape copies a missing dimension");
            shape[i] = s->dims[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0) return cv_fail(c, "two -1 dimensions");
            infer = i;
        } else if (shape[i] < 0) {
            return cv_fail(c, "bad dimension %lld", (long long)shape[i]);
        } else {
            known_prod *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known_prod == 0 || cv_numel(s) % known_prod) return cv_fail(c, "cannot infer the -1 dimension");
        shape[infer] = cv_numel(s) / known_prod;
    }
    return cv_reshape_to(c, x, rank, shape, onnx_out_name(ox, 0));
}

/* axes of Squeeze/Unsqueeze: attribute (opset < 13) or constant input 1 */
static int axes_of(onnx_ctx *ox, int64_t *axes, int *n) {
    conv *c = ox->c;
    int a;
    if (onnx_in(ox, 1, &a)) return -1;
    if (a >= 0) {
        cv_sym *t = &c->syms[a];
        if (!t->is_const || t->dtype != CV_I64 || cv_numel(t) > KD_MAX_RANK) return cv_fail(c, "axes must be a constant");
        *n = (int)cv_numel(t);
        memcpy(axes, t->i, (size_t)*n * 8);
        return 0;
    }
    *n = onnx_attr_ints(ox, "axes", axes, KD_MAX_RANK);
    if (*n == -2) return cv_fail(c, "too many axes");
    return 0;
}

int onnx_op_squeeze(onnx_ctx *ox, unsigned unsqueeze) {
    conv *c = ox->c;
    static const char *const known[] = {"axes", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    cv_sym *s = &c->syms[x];
    int64_t axes[KD_MAX_RANK], dims[KD_MAX_RANK];
    int n = 0, rank = 0;
    if (axes_of(ox, axes, &n)) return -1;
    if (unsqueeze) {
        int outrank = s->rank + n;
        if (n < 0 || outrank > KD_MAX_RANK) return cv_fail(c, "bad axes");
        int mark[KD_MAX_RANK] = {0};
        for (int i = 0; i < n; i++) {
            int64_t a = 0;
            if (cv_norm_axis(c, axes[i], outrank, &a)) return -1;
            if (mark[a]) return cv_fail(c, "repeated axis");
            mark[a] = 1;
        }
        for (int i = 0, j = 0; i < outrank; i++) dims[rank++] = mark[i] ? 1 : s->dims[j++];
    } else {
        int mark[KD_MAX_RANK] = {0};
        for (int i = 0; i < n; i++) {
            int64_t a = 0;
            if (cv_norm_axis(c, axes[i], s->rank, &a)) return -1;
            if (s->dims[a] != 1) return cv_fail(c, "axis %lld has size %lld, not 1", (long long)a, (long long)s->dims[a]);
            mark[a] = 1;
        }
        for (int i = 0; i < s->rank; i++)
            if (!(n < 0 ? s->dims[i] == 1 : mark[i])) dims[rank++] = s->dims[i];
    }
    return cv_reshape_to(c, x, rank, dims, onnx_out_name(ox, 0));
}

int onnx_op_transpose(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"perm", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    cv_sym *s = &c->syms[x];
    int64_t perm[KD_MAX_RANK], dims[KD_MAX_RANK];
    int n = onnx_attr_ints(ox, "perm", perm, KD_MAX_RANK);
    if (n < 0)
        for (n = 0; n < s->rank; n++) perm[n] = s->rank - 1 - n;
    if (n != s->rank) return cv_fail(c, "perm has %d entries for rank %d", n, s->rank);
    kd_desc d = {.op = OP_TRANSPOSE, .noperands = 1};
    for (int i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n) return cv_fail(c, "bad perm");
        d.ia[i] = (int32_t)perm[i];
        dims[i] = s->dims[perm[i]];
    }
    cv_set_out(&d, n, dims);
    d.out.dtype = (uint8_t)s->dtype;
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_concat(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int ops[KD_MAX_OPERANDS], n = 0;
    for (size_t i = 0; i < ox->cur->n_input; i++) {
        int k;
        if (onnx_in(ox, i, &k)) return -1;
        if (k < 0) continue;
        if (cv_numel(&c->syms[k]) == 0 && c->syms[k].rank == 1) continue; /* ONNX allows empty pieces */
        if (n == KD_MAX_OPERANDS) return cv_fail(c, "more than %d inputs", KD_MAX_OPERANDS);
        ops[n++] = k;
    }
    if (n == 0) return cv_fail(c, "no inputs");
    cv_sym *s0 = &c->syms[ops[0]];
    int64_t axis = 0;
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s0->rank, &axis)) return -1;
    int64_t dims[KD_MAX_RANK];
    memcpy(dims, s0->dims, sizeof dims);
    int all_i64 = 1;
    for (int j = 1; j < n; j++) dims[axis] += c->syms[ops[j]].dims[axis];
    for (int j = 0; j < n; j++) all_i64 &= c->syms[ops[j]].is_const && c->syms[ops[j]].dtype == CV_I64;
    if (all_i64) { /* shape vectors */
        if (s0->rank != 1 || dims[0] > 64) return cv_fail(c, "int64 concat beyond shape vectors");
        int64_t out[64];
        int at = 0;
        for (int j = 0; j < n; j++) {
            memcpy(out + at, c->syms[ops[j]].i, (size_t)c->syms[ops[j]].dims[0] * 8);
            at += (int)c->syms[ops[j]].dims[0];
        }
        return cv_new_const(c, onnx_out_name(ox, 0), CV_I64, 1, dims, out) < 0 ? -1 : 0;
    }
    for (int j = 1; j < n; j++) /* a constant piece takes the type of the run-time ones */
        if ((ops[j] = cv_as_dtype(c, ops[j], s0->dtype)) < 0) return -1;
    kd_desc d = {.op = OP_CONCAT, .noperands = (uint8_t)n, .ia = {(int32_t)axis}};
    cv_set_out(&d, s0->rank, dims);
    d.out.dtype = (uint8_t)c->syms[ops[0]].dtype;
    return cv_emit(c, &d, ops, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_split(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", "split", "num_outputs", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int x, sp;
    if (onnx_in(ox, 0, &x) || onnx_in(ox, 1, &sp) || x < 0) return x < 0 ? cv_fail(c, "missing input") : -1;
    cv_sym *s = &c->syms[x];
    int64_t axis = 0, parts[64];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s->rank, &axis)) return -1;
    int n = (int)ox->cur->n_output;
    if (n < 1 || n > 64) return cv_fail(c, "%d outputs", n);
    if (sp >= 0) {
        cv_sym *t = &c->syms[sp];
        if (!t->is_const || t->dtype != CV_I64 || cv_numel(t) != n) return cv_fail(c, "split sizes must be a constant per output");
        memcpy(parts, t->i, (size_t)n * 8);
    } else if (onnx_attr_ints(ox, "split", parts, 64) != n) {
        if (onnx_attr(ox, "split")) return cv_fail(c, "split sizes do not match the outputs");
        int64_t each = (s->dims[axis] + n - 1) / n;
        for (int i = 0; i < n; i++) parts[i] = i < n - 1 ? each : s->dims[axis] - each * (n - 1);
    }
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (parts[i] < 0 || at + parts[i] > s->dims[axis]) return cv_fail(c, "split sizes exceed the axis");
        int64_t start[KD_MAX_RANK] = {0}, step[KD_MAX_RANK], dims[KD_MAX_RANK];
        for (int k = 0; k < s->rank; k++) step[k] = 1, dims[k] = s->dims[k];
        start[axis] = at, dims[axis] = parts[i];
        if (parts[i] == 0) start[axis] = 0;
        if (ox->cur->output[i][0] && cv_emit_slice(c, x, start, step, dims, ox->cur->output[i])) return -1;
        at += parts[i];
    }
    if (at != s->dims[axis]) return cv_fail(c, "split sizes do not cover the axis");
    return 0;
}

int onnx_op_slice(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"starts", "ends", "axes", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    cv_sym *s = &c->syms[x];
    int64_t starts[KD_MAX_RANK], ends[KD_MAX_RANK], axes[KD_MAX_RANK], steps[KD_MAX_RANK];
    int ns, ne, na, nst;
    if (onnx_ints_of(ox, 1, "starts", starts, &ns) || onnx_ints_of(ox, 2, "ends", ends, &ne) || onnx_ints_of(ox, 3, "axes", axes, &na) ||
        onnx_ints_of(ox, 4, "steps", steps, &nst))
        return -1;
    if (ns < 0 || ns != ne) return cv_fail(c, "starts and ends differ in length");
    if (na < 0)
        for (na = 0; na < ns; na++) axes[na] = na;
    if (nst < 0)
        for (nst = 0; nst < ns; nst++) steps[nst] = 1;
    if (na != ns || nst != ns) return cv_fail(c, "axes or steps differ in length");
    int64_t start[KD_MAX_RANK] = {0}, step[KD_MAX_RANK], dims[KD_MAX_RANK];
    for (int k = 0; k < s->rank; k++) step[k] = 1, dims[k] = s->dims[k];
    for (int i = 0; i < ns; i++) {
        int64_t a = 0;
        if (cv_norm_axis(c, axes[i], s->rank, &a)) return -1;
        int64_t d = s->dims[a], st = steps[i], b = starts[i], e = ends[i];
        if (st == 0) return cv_fail(c, "step 0");
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
    return cv_emit_slice(c, x, start, step, dims, onnx_out_name(ox, 0));
}

int onnx_op_pad(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"mode", "pads", "value", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    if (strcmp(onnx_attr_s(ox, "mode", "constant"), "constant")) return cv_fail(c, "mode '%s' is not supported", onnx_attr_s(ox, "mode", ""));
    int x, v;
    if (onnx_in(ox, 0, &x) || x < 0) return x < 0 ? cv_fail(c, "missing input") : -1;
    cv_sym *s = &c->syms[x];
    int64_t pads[2 * KD_MAX_RANK], axes[KD_MAX_RANK];
    int np = 0, na = -1;
    {
        int k;
        if (onnx_in(ox, 1, &k)) return -1;
        if (k >= 0) {
            cv_sym *t = &c->syms[k];
            if (!t->is_const || t->dtype != CV_I64 || cv_numel(t) > 2 * KD_MAX_RANK) return cv_fail(c, "pads must be a constant");
            np = (int)cv_numel(t);
            memcpy(pads, t->i, (size_t)np * 8);
        } else if ((np = onnx_attr_ints(ox, "pads", pads, 2 * KD_MAX_RANK)) < 0) {
            return cv_fail(c, "no pads");
        }
    }
    if (onnx_ints_of(ox, 3, "axes", axes, &na)) return -1;
    if (na < 0)
        for (na = 0; na < s->rank; na++) axes[na] = na;
    if (np != 2 * na) return cv_fail(c, "%d pads for %d axes", np, na);
    float value = onnx_attr_f(ox, "value", 0.0f);
    if (onnx_in(ox, 2, &v)) return -1;
    if (v >= 0) {
        cv_sym *t = &c->syms[v];
        if (!t->is_const || cv_numel(t) != 1) return cv_fail(c, "a run-time pad value is not supported");
        value = t->dtype != KD_F32 ? (float)t->i[0] : t->f[0];
    }
    kd_desc d = {.op = OP_PAD, .noperands = 1, .fa = {value}};
    int64_t dims[KD_MAX_RANK];
    memcpy(dims, s->dims, sizeof dims);
    for (int i = 0; i < na; i++) {
        int64_t a = 0;
        if (cv_norm_axis(c, axes[i], s->rank, &a)) return -1;
        if (pads[i] < 0 || pads[na + i] < 0 || pads[i] > 65536 || pads[na + i] > 65536)
            return cv_fail(c, "negative or huge pads are not supported");
        d.ia[a] = (int32_t)pads[i], d.ia[6 + a] = (int32_t)pads[na + i];
        dims[a] += pads[i] + pads[na + i];
    }
    cv_set_out(&d, s->rank, dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_shape(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"start", "end", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    cv_sym *s = &c->syms[x];
    int64_t b = onnx_attr_i(ox, "start", 0), e = onnx_attr_i(ox, "end", s->rank);
    if (b < 0) b += s->rank;
    if (e < 0) e += s->rank;
    b = b < 0 ? 0 : b > s->rank ? s->rank : b;
    e = e < b ? b : e > s->rank ? s->rank : e;
    int64_t n = e - b;
    return cv_new_const(c, onnx_out_name(ox, 0), CV_I64, 1, &n, s->dims + b) < 0 ? -1 : 0;
}

/* Size: the element count of its input, an int64 scalar constant (shapes are static). */
int onnx_op_size(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    static const char *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, none, &x)) return -1;
    int64_t n = cv_numel(&ox->c->syms[x]);
    return cv_new_const(ox->c, onnx_out_name(ox, 0), CV_I64, 0, NULL, &n) < 0 ? -1 : 0;
}

int onnx_op_gather(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int x, ix;
    if (onnx_in(ox, 0, &x) || onnx_in(ox, 1, &ix)) return -1;
    if (x < 0 || ix < 0) return cv_fail(c, "missing input");
    cv_sym *s = &c->syms[x], *si = &c->syms[ix];
    if (si->dtype != KD_I64 && si->dtype != KD_I32) return cv_fail(c, "indices are %s, not int64 or int32", opml_dtype_name(si->dtype));
    int64_t axis = 0, dims[KD_MAX_RANK];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s->rank, &axis)) return -1;
    int rank = s->rank - 1 + si->rank;
    if (s->rank < 1 || rank > KD_MAX_RANK) return cv_fail(c, "output of rank %d (at most %d supported)", rank, KD_MAX_RANK);
    for (int i = 0; i < rank; i++) dims[i] = i < axis ? s->dims[i] : i < axis + si->rank ? si->dims[i - axis] : s->dims[i - si->rank + 1];
    kd_desc d = {.op = OP_GATHER, .noperands = 2, .ia = {(int32_t)axis}};
    cv_set_out(&d, rank, dims);
    d.out.dtype = (uint8_t)s->dtype;
    int ops[2] = {x, ix};
    return cv_emit(c, &d, ops, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_cast(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"to", "saturate", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    cv_sym *s = &c->syms[x];
    int64_t to = onnx_attr_i(ox, "to", 0);
    int want = onnx_dtype(to);
    if (!want) return cv_fail(c, "cast to ONNX type %lld is not supported", (long long)to);
    if (s->dtype == want) return cv_alias(c, x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
    kd_desc d = {.op = OP_CAST, .noperands = 1};
    cv_set_out(&d, s->rank, s->dims);
    d.out.dtype = (uint8_t)want;
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_constant(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    const Onnx__AttributeProto *a = ox->cur->n_attribute == 1 ? ox->cur->attribute[0] : NULL;
    if (!a) return cv_fail(c, "needs exactly one attribute");
    int64_t n;
    if (!strcmp(a->name, "value") && a->t) return onnx_tensor_const(c, onnx_out_name(ox, 0), a->t) < 0 ? -1 : 0;
    if (!strcmp(a->name, "value_float")) return cv_new_const(c, onnx_out_name(ox, 0), KD_F32, 0, NULL, &a->f) < 0 ? -1 : 0;
    if (!strcmp(a->name, "value_int")) return cv_new_const(c, onnx_out_name(ox, 0), CV_I64, 0, NULL, &a->i) < 0 ? -1 : 0;
    if (!strcmp(a->name, "value_floats")) {
        n = (int64_t)a->n_floats;
        return cv_new_const(c, onnx_out_name(ox, 0), KD_F32, 1, &n, a->floats) < 0 ? -1 : 0;
    }
    if (!strcmp(a->name, "value_ints")) {
        n = (int64_t)a->n_ints;
        return cv_new_const(c, onnx_out_name(ox, 0), CV_I64, 1, &n, a->ints) < 0 ? -1 : 0;
    }
    return cv_fail(c, "attribute '%s' is not supported", a->name);
}

int onnx_op_identity(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    int x;
    if (onnx_single_output(ox) || onnx_in(ox, 0, &x)) return -1;
    if (x < 0) return cv_fail(c, "missing input");
    if (!strcmp(ox->cur->op_type, "Dropout") && ox->cur->n_input > 2 && ox->cur->input[2][0]) {
        int t = cv_find(c, ox->cur->input[2]);
        if (t < 0 || !c->syms[t].is_const || cv_numel(&c->syms[t]) != 1 ||
            (c->syms[t].dtype != KD_F32 ? c->syms[t].i[0] != 0 : c->syms[t].f[0] != 0))
            return cv_fail(c, "training mode is not supported");
    }
    return cv_alias(c, x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
