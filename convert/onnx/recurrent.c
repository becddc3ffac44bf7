/* recurrent.c: ONNX's LSTM, GRU and RNN (onnx_lower.h), each one node of the kernel of the same
 * name (numerics/kernels/recurrent.c) over the whole sequence, then one Take per output read:
 * Y (every step's hidden state), Y_h (the last one per direction), Y_c (LSTM's last cell state),
 * in ONNX's layout 0 ([S, D, B, H]) or 1 (batch first). The weights W and R (constants) are
 * quantized here per gate row by the kernels' own rule (quant.h); LSTM's and RNN's biases are
 * Wb + Rb (one float addition each), GRU keeps both (linear_before_reset needs Rb alone). Missing
 * initial states, biases and peepholes are zeros. Supported: directions forward, reverse and
 * bidirectional; activations Sigmoid, Tanh, Relu; clip; sequence_lens only when every length is
 * the sequence's. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

typedef struct rnn_shape {
    int64_t s, b, in, h, dirs, gates;
    int layout;
} rnn_shape;

/* Constant float input i of exactly n values (NULL data when absent: *present 0). */
static int const_input(onnx_ctx *ox, size_t i, int64_t n, const float **data, const char *what) {
    conv *c = ox->c;
    int k;
    *data = NULL;
    if (onnx_in(ox, i, &k)) return -1;
    if (k < 0) return 0;
    const cv_sym *s = &c->syms[k];
    if (!s->is_const || s->dtype != KD_F32) return cv_fail(c, "%s must be a float32 constant", what);
    if (cv_numel(s) != n) return cv_fail(c, "%s has %lld values, %lld expected", what, (long long)cv_numel(s), (long long)n);
    *data = s->f;
    return 0;
}

/* The int8 weights [D, G*H, cols] and their row scales [D, G*H] as constants named after the
 * node. Returns 0 with *kw, *ks. */
static int quantized(onnx_ctx *ox, const float *w, const rnn_shape *sh, int64_t cols, const char *what, int *kw, int *ks) {
    conv *c = ox->c;
    int64_t rows = sh->dirs * sh->gates * sh->h;
    int8_t *q = malloc((size_t)(rows * cols) + 1);
    float *sc = malloc((size_t)rows * 4 + 4);
    if (!q || !sc) {
        free(q), free(sc);
        return cv_fail(c, "out of memory");
    }
    for (int64_t r = 0; r < rows; r++) {
        sc[r] = kq_scale(w + r * cols, (size_t)cols, 1);
        kq_quantize(w + r * cols, (size_t)cols, 1, sc[r], q + r * cols);
    }
    char b1[CV_NAME], b2[CV_NAME], n1[32], n2[32];
    snprintf(n1, sizeof n1, "%s_int8", what), snprintf(n2, sizeof n2, "%s_scale", what);
    int64_t wd[3] = {sh->dirs, sh->gates * sh->h, cols};
    *kw = cv_const_from_bytes(c, cv_subname(b1, onnx_out_name(ox, 0), n1), KD_I8, 3, wd, q);
    *ks = *kw < 0 ? -1 : cv_new_const(c, cv_subname(b2, onnx_out_name(ox, 0), n2), KD_F32, 2, wd, sc);
    free(q), free(sc);
    return *ks < 0 ? -1 : 0;
}

/* A constant of n values: data, or zeros when data is NULL; initial states in layout 1
 * ([B, D, H]) are transposed to [D, B, H]. */
static int state_const(onnx_ctx *ox, const float *data, int rank, const int64_t *dims, int batch_first, const char *what) {
    conv *c = ox->c;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = calloc((size_t)n + 1, 4);
    if (!v) return cv_fail(c, "out of memory");
    if (data && batch_first) /* [B, D, H] -> [D, B, H] */
        for (int64_t d = 0; d < dims[0]; d++)
            for (int64_t b = 0; b < dims[1]; b++) memcpy(v + (d * dims[1] + b) * dims[2], data + (b * dims[0] + d) * dims[2], (size_t)dims[2] * 4);
    else if (data) memcpy(v, data, (size_t)n * 4);
    char name[CV_NAME];
    int k = cv_new_const(c, cv_subname(name, onnx_out_name(ox, 0), what), KD_F32, rank, dims, v);
    free(v);
    return k;
}

/* The activations attribute into ia[1..6] (1 Sigmoid, 2 Tanh, 3 Relu), defaults per operator. */
static int activations(onnx_ctx *ox, unsigned op, int64_t dirs, int32_t *ia) {
    conv *c = ox->c;
    static const char *const names[] = {"Sigmoid", "Tanh", "Relu"};
    int per = op == OP_LSTM ? 3 : op == OP_GRU ? 2 : 1;
    static const int32_t defaults[3][3] = {{1, 2, 2}, {1, 2, 0}, {2, 0, 0}};
    const int32_t *def = defaults[op == OP_LSTM ? 0 : op == OP_GRU ? 1 : 2];
    const Onnx__AttributeProto *a = onnx_attr(ox, "activations");
    if (a && (int64_t)a->n_strings != per * dirs) return cv_fail(c, "activations must name %lld functions", (long long)(per * dirs));
    for (int64_t d = 0; d < dirs; d++)
        for (int k = 0; k < per; k++) {
            int32_t code = def[k];
            if (a) {
                const ProtobufCBinaryData *s = &a->strings[d * per + k];
                code = 0;
                for (int n = 0; n < 3; n++)
                    if (s->len == strlen(names[n]) && !memcmp(s->data, names[n], s->len)) code = n + 1;
                if (!code) return cv_fail(c, "activation '%.*s' is not supported", (int)(s->len < 32 ? s->len : 32), (const char *)s->data);
            }
            ia[1 + 3 * d + k] = code;
        }
    return 0;
}

/* One output of the node (Y, Y_h or Y_c) as a Take of the kernel's states [S, D, B, width]. */
static int output(conv *c, int states, const rnn_shape *sh, int which, int reverse, const char *name) {
    int64_t width = c->syms[states].dims[3], dims[4], n = 1;
    int rank = which == 0 ? 4 : 3;
    if (which == 0) {
        int64_t y[4] = {sh->s, sh->dirs, sh->b, sh->h}, yb[4] = {sh->b, sh->s, sh->dirs, sh->h};
        memcpy(dims, sh->layout ? yb : y, sizeof dims);
    } else {
        int64_t yh[3] = {sh->dirs, sh->b, sh->h}, yhb[3] = {sh->b, sh->dirs, sh->h};
        memcpy(dims, sh->layout ? yhb : yh, 3 * sizeof *dims);
    }
    for (int i = 0; i < rank; i++) n *= dims[i];
    int32_t *map = malloc((size_t)n * 4 + 4);
    if (!map) return cv_fail(c, "out of memory");
    int64_t f = 0;
    for (int64_t i0 = 0; i0 < dims[0]; i0++)
        for (int64_t i1 = 0; i1 < dims[1]; i1++)
            for (int64_t i2 = 0; i2 < (rank == 4 ? dims[2] : 1); i2++)
                for (int64_t k = 0; k < sh->h; k++) {
                    int64_t t, d, b;
                    if (which == 0) t = sh->layout ? i1 : i0, d = sh->layout ? i2 : i1, b = sh->layout ? i0 : i2;
                    else d = sh->layout ? i1 : i0, b = sh->layout ? i0 : i1, t = reverse || d == 1 ? 0 : sh->s - 1;
                    map[f++] = (int32_t)(((t * sh->dirs + d) * sh->b + b) * width + (which == 2 ? sh->h : 0) + k);
                }
    return onnx_take(c, states, map, rank, dims, name);
}

int onnx_op_recurrent(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const known[] = {"activation_alpha", "activation_beta", "activations", "clip", "direction",
                                        "hidden_size", "layout", "input_forget", "linear_before_reset", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    if (onnx_attr(ox, "activation_alpha") || onnx_attr(ox, "activation_beta"))
        return cv_fail(c, "attributes activation_alpha and activation_beta are not supported");
    if (onnx_attr_i(ox, "input_forget", 0)) return cv_fail(c, "input_forget is not supported");
    if (op != OP_GRU && onnx_attr(ox, "linear_before_reset")) return cv_fail(c, "attribute 'linear_before_reset' is not supported");
    rnn_shape sh = {.gates = op == OP_LSTM ? 4 : op == OP_GRU ? 3 : 1, .layout = (int)onnx_attr_i(ox, "layout", 0),
                    .h = onnx_attr_i(ox, "hidden_size", 0)};
    const char *dir = onnx_attr_s(ox, "direction", "forward");
    int32_t dcode = !strcmp(dir, "forward") ? 0 : !strcmp(dir, "reverse") ? 1 : !strcmp(dir, "bidirectional") ? 2 : -1;
    if (dcode < 0) return cv_fail(c, "direction '%s' is not supported", dir);
    sh.dirs = dcode == 2 ? 2 : 1;
    const cv_sym *sx = &c->syms[x];
    if (sx->rank != 3 || (sh.layout != 0 && sh.layout != 1)) return cv_fail(c, "X must be of rank 3 and layout 0 or 1");
    if (sh.h < 1 || sh.h > KD_MAX_K) return cv_fail(c, "hidden_size %lld is not supported", (long long)sh.h);
    sh.s = sx->dims[sh.layout], sh.b = sx->dims[1 - sh.layout], sh.in = sx->dims[2];
    int64_t gh = sh.gates * sh.h, nst = sh.dirs * sh.b * sh.h;
    const float *w, *r, *bias, *h0, *c0 = NULL, *p = NULL;
    if (const_input(ox, 1, sh.dirs * gh * sh.in, &w, "W") || const_input(ox, 2, sh.dirs * gh * sh.h, &r, "R") ||
        const_input(ox, 3, sh.dirs * 2 * gh, &bias, "B") || const_input(ox, 5, nst, &h0, "initial_h") ||
        (op == OP_LSTM && (const_input(ox, 6, nst, &c0, "initial_c") || const_input(ox, 7, sh.dirs * 3 * sh.h, &p, "P"))))
        return -1;
    if (!w || !r) return cv_fail(c, "W and R are required");
    int kl;
    if (onnx_in(ox, 4, &kl)) return -1;
    if (kl >= 0) { /* sequence_lens: accepted when it changes nothing */
        const cv_sym *sl = &c->syms[kl];
        int same = sl->is_const && sl->dtype != KD_F32 && cv_numel(sl) == sh.b;
        for (int64_t i = 0; same && i < sh.b; i++) same = sl->i[i] == sh.s;
        if (!same) return cv_fail(c, "sequence_lens other than the sequence length are not supported");
    }
    kd_desc d = {.op = (uint16_t)op, .ia = {dcode}};
    if (activations(ox, op, sh.dirs, d.ia)) return -1;
    if (op == OP_GRU) d.ia[7] = (int32_t)(onnx_attr_i(ox, "linear_before_reset", 0) != 0);
    if (onnx_attr(ox, "clip")) {
        d.fa[0] = onnx_attr_f(ox, "clip", 0);
        if (!(d.fa[0] > 0)) return cv_fail(c, "clip must be positive");
    }
    const char *first = NULL;
    for (size_t i = 0; i < ox->cur->n_output && !first; i++)
        if (ox->cur->output[i][0]) first = ox->cur->output[i];
    char nb[5][CV_NAME];
    if (sh.layout) { /* X [B, S, I] -> [S, B, I] */
        kd_desc t = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0, 2}};
        int64_t td[3] = {sh.s, sh.b, sh.in};
        cv_set_out(&t, 3, td);
        if ((x = cv_emit(c, &t, &x, cv_subname(nb[0], first, "time_first"))) < 0) return -1;
    }
    int ops[9] = {x};
    if (quantized(ox, w, &sh, sh.in, "W", &ops[1], &ops[2]) || quantized(ox, r, &sh, sh.h, "R", &ops[3], &ops[4])) return -1;
    int64_t bd[2] = {sh.dirs, gh}, sd[3] = {sh.dirs, sh.b, sh.h}, pd[2] = {sh.dirs, 3 * sh.h};
    int n = 0;
    if (op == OP_GRU) { /* Wb and Rb apart */
        float *wb = calloc((size_t)(2 * sh.dirs * gh) + 1, 4);
        if (!wb) return cv_fail(c, "out of memory");
        for (int64_t dd = 0; bias && dd < sh.dirs; dd++)
            for (int64_t j = 0; j < gh; j++) wb[dd * gh + j] = bias[dd * 2 * gh + j], wb[(sh.dirs + dd) * gh + j] = bias[dd * 2 * gh + gh + j];
        ops[5] = cv_new_const(c, cv_subname(nb[1], first, "Wb"), KD_F32, 2, bd, wb);
        ops[6] = ops[5] < 0 ? -1 : cv_new_const(c, cv_subname(nb[2], first, "Rb"), KD_F32, 2, bd, wb + sh.dirs * gh);
        free(wb);
        if (ops[6] < 0 || (ops[7] = state_const(ox, h0, 3, sd, sh.layout, "initial_h")) < 0) return -1;
        n = 8;
    } else {
        float *sum = calloc((size_t)(sh.dirs * gh) + 1, 4);
        if (!sum) return cv_fail(c, "out of memory");
        for (int64_t dd = 0; bias && dd < sh.dirs; dd++)
            for (int64_t j = 0; j < gh; j++) sum[dd * gh + j] = bias[dd * 2 * gh + j] + bias[dd * 2 * gh + gh + j];
        ops[5] = cv_new_const(c, cv_subname(nb[1], first, "bias"), KD_F32, 2, bd, sum);
        free(sum);
        if (ops[5] < 0 || (ops[6] = state_const(ox, h0, 3, sd, sh.layout, "initial_h")) < 0) return -1;
        n = 7;
        if (op == OP_LSTM) {
            if ((ops[7] = state_const(ox, c0, 3, sd, sh.layout, "initial_c")) < 0 ||
                (ops[8] = state_const(ox, p, 2, pd, 0, "peepholes")) < 0)
                return -1;
            n = 9;
        }
    }
    d.noperands = (uint8_t)n;
    int64_t od[4] = {sh.s, sh.dirs, sh.b, op == OP_LSTM ? 2 * sh.h : sh.h};
    cv_set_out(&d, 4, od);
    int states = cv_emit(c, &d, ops, cv_subname(nb[3], first, "states"));
    if (states < 0) return -1;
    for (int which = 0; which < 3; which++) {
        const char *name = (size_t)which < ox->cur->n_output ? ox->cur->output[which] : "";
        if (!name[0]) continue;
        if (which == 2 && op != OP_LSTM) return cv_fail(c, "%s has no output 2", kernel_op_name(op));
        if (output(c, states, &sh, which, dcode == 1, name) < 0) return -1;
    }
    return 0;
}
