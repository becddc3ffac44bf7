/* recurrent.c: the recurrent nets LSTM (128), GRU (129) and RNN (130) (ONNX's equations;
 * docs/numerics.md, "Recurrent nets"), one node for the whole sequence and every direction. The
 * products with the input and with the previous hidden state are W8A8 (quant.h): each x_t row
 * and each h_{t-1} row is quantized with its own scale at run time, the weights are int8 with one
 * scale per gate row (the converter quantizes them), acc is exact int32 and
 * g = ((float)acc * s_row) * s_weight. The gate arithmetic is fp32, in the order written here.
 *
 * Operands (D directions, S steps, B batch, I input size, H hidden size, G gates: LSTM 4 in the
 * order i o f c, GRU 3 in the order z r h, RNN 1):
 *   0 X f32 [S, B, I]; 1 W i8 [D, G*H, I]; 2 sw f32 [D, G*H]; 3 R i8 [D, G*H, H]; 4 sr f32 [D, G*H];
 *   LSTM: 5 bias f32 [D, 4H] (ONNX's Wb + Rb); 6 h0 f32 [D, B, H]; 7 c0 f32 [D, B, H];
 *         8 P f32 [D, 3H] (peepholes i o f);
 *   GRU:  5 Wb f32 [D, 3H]; 6 Rb f32 [D, 3H]; 7 h0 f32 [D, B, H];
 *   RNN:  5 bias f32 [D, H] (Wb + Rb); 6 h0 f32 [D, B, H].
 * Output: f32 [S, D, B, H] (LSTM [S, D, B, 2H]: h then c), the state after each step; direction 0
 * runs t = 0 .. S-1 unless ia[0] = 1 (reverse), direction 1 (ia[0] = 2, bidirectional) runs
 * t = S-1 .. 0. Attributes: ia[0] direction (0 forward, 1 reverse, 2 bidirectional); ia[1..3] the
 * activations f, g, h of direction 0 and ia[4..6] of direction 1 (1 Sigmoid, 2 Tanh, 3 Relu; the
 * slots an operator or direction does not use are 0); ia[7] GRU's linear_before_reset (0/1);
 * fa[0] the clip threshold (+0: none; else finite and > 0). */
#include "fmath.h"
#include "ops.h"
#include "quant.h"

enum { ACT_SIGMOID = 1, ACT_TANH = 2, ACT_RELU = 3 };
enum { KIND_LSTM, KIND_GRU, KIND_RNN };

static const unsigned gates_of[] = {4, 3, 1}, acts_of[] = {3, 2, 1}, nops_of[] = {9, 8, 7};

static int shape_is(const kd_tensor *t, unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2) {
    uint32_t d[3] = {d0, d1, d2};
    if (t->dtype != dtype || t->rank != rank) return 0;
    for (unsigned i = 0; i < rank; i++)
        if (t->dims[i] != d[i]) return 0;
    return 1;
}

static int check(const kd_desc *d, int kind) {
    const kd_tensor *x = &d->in[0], *w = &d->in[1], *y = &d->out;
    unsigned g = gates_of[kind], na = acts_of[kind];
    if (d->noperands != nops_of[kind] || x->dtype != KD_F32 || x->rank != 3 || w->rank != 3) return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] > 2) return KD_EATTR;
    uint32_t dirs = d->ia[0] == 2 ? 2 : 1, s = x->dims[0], b = x->dims[1], in = x->dims[2], gh = w->dims[1], h = gh / g;
    if (h < 1 || gh != g * h || in < 1 || in > KD_MAX_K || h > KD_MAX_K) return KD_ESHAPE;
    if (!shape_is(w, KD_I8, 3, dirs, gh, in) || !shape_is(&d->in[2], KD_F32, 2, dirs, gh, 0) ||
        !shape_is(&d->in[3], KD_I8, 3, dirs, gh, h) || !shape_is(&d->in[4], KD_F32, 2, dirs, gh, 0))
        return KD_ESHAPE;
    if (kind == KIND_LSTM && (!shape_is(&d->in[5], KD_F32, 2, dirs, gh, 0) || !shape_is(&d->in[6], KD_F32, 3, dirs, b, h) ||
                              !shape_is(&d->in[7], KD_F32, 3, dirs, b, h) || !shape_is(&d->in[8], KD_F32, 2, dirs, 3 * h, 0)))
        return KD_ESHAPE;
    if (kind == KIND_GRU && (!shape_is(&d->in[5], KD_F32, 2, dirs, gh, 0) || !shape_is(&d->in[6], KD_F32, 2, dirs, gh, 0) ||
                             !shape_is(&d->in[7], KD_F32, 3, dirs, b, h)))
        return KD_ESHAPE;
    if (kind == KIND_RNN && (!shape_is(&d->in[5], KD_F32, 2, dirs, gh, 0) || !shape_is(&d->in[6], KD_F32, 3, dirs, b, h)))
        return KD_ESHAPE;
    uint32_t width = kind == KIND_LSTM ? 2 * h : h;
    if (y->dtype != KD_F32 || y->rank != 4 || y->dims[0] != s || y->dims[1] != dirs || y->dims[2] != b || y->dims[3] != width)
        return KD_ESHAPE;
    for (unsigned dir = 0; dir < 2; dir++)
        for (unsigned k = 0; k < 3; k++) {
            int32_t a = d->ia[1 + 3 * dir + k];
            int used = dir < dirs && k < na;
            if (used ? a < ACT_SIGMOID || a > ACT_RELU : a != 0) return KD_EATTR;
        }
    if ((kind == KIND_GRU ? (uint32_t)d->ia[7] > 1 : d->ia[7] != 0)) return KD_EATTR;
    float clip = d->fa[0];
    if (kf_bits(clip) != 0 && !(clip > 0.0f && clip <= 3.4028234663852886e38f)) return KD_EATTR;
    return KD_OK;
}

static int check_lstm(const kd_desc *d) { return check(d, KIND_LSTM); }
static int check_gru(const kd_desc *d) { return check(d, KIND_GRU); }
static int check_rnn(const kd_desc *d) { return check(d, KIND_RNN); }

/* Scratch: gate products of x and of h (G*H floats each), r (.) h (H floats), then the int8 rows. */
static size_t scratch(const kd_desc *d) {
    size_t gh = d->in[1].dims[1], in = d->in[0].dims[2], h = d->in[3].dims[2];
    return 4 * (2 * gh + h) + in + h;
}

static float act(int32_t code, float v) {
    switch (code) {
    case ACT_SIGMOID: return kf_sigmoid(v);
    case ACT_TANH: return kf_tanh(v);
    default: return v > 0.0f ? v : (kf_isnan(v) ? v : 0.0f);
    }
}

static float clip(const kd_desc *d, float v) {
    float c = d->fa[0];
    if (kf_bits(c) == 0) return v;
    return v < -c ? -c : v > c ? c : v;
}

/* out[j] = W8A8 product of the n floats v (quantized with their own scale into q) with the rows
 * j0 .. j0 + rows - 1 of the int8 matrix w [.., n] and their scales sw. */
static void product(const float *v, size_t n, const int8_t *w, const float *sw, size_t j0, size_t rows, int8_t *q,
                    float *out) {
    float sv = kq_scale(v, n, 1);
    kq_quantize(v, n, 1, sv, q);
    for (size_t j = 0; j < rows; j++) {
        const int8_t *wr = w + (j0 + j) * n;
        int32_t acc = 0;
        for (size_t k = 0; k < n; k++) acc += (int32_t)q[k] * wr[k];
        out[j] = kq_output(acc, sv, sw[j0 + j], 0, 0.0f);
    }
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr, int kind) {
    const float *x = in[0];
    const int8_t *w = in[1], *r = in[3];
    const float *sw = in[2], *sr = in[4];
    float *y = out;
    size_t s = d->in[0].dims[0], b = d->in[0].dims[1], ni = d->in[0].dims[2], gh = d->in[1].dims[1],
           h = d->in[3].dims[2], dirs = d->in[1].dims[0], width = kind == KIND_LSTM ? 2 * h : h;
    float *gx = scr, *gr = gx + gh, *rh = gr + gh;
    int8_t *qx = (int8_t *)(rh + h), *qh = qx + ni;
    const float *h0 = in[kind == KIND_LSTM ? 6 : kind == KIND_GRU ? 7 : 6], *c0 = kind == KIND_LSTM ? in[7] : NULL;
    for (size_t dir = 0; dir < dirs; dir++) {
        int back = d->ia[0] == 1 || dir == 1;
        const int32_t *a = d->ia + 1 + 3 * dir;
        for (size_t step = 0; step < s; step++) {
            size_t t = back ? s - 1 - step : step, tp = back ? t + 1 : t - 1;
            for (size_t bi = 0; bi < b; bi++) {
                float *yo = y + ((t * dirs + dir) * b + bi) * width;
                const float *hp = step == 0 ? h0 + (dir * b + bi) * h : y + ((tp * dirs + dir) * b + bi) * width;
                product(x + (t * b + bi) * ni, ni, w + dir * gh * ni, sw + dir * gh, 0, gh, qx, gx);
                product(hp, h, r + dir * gh * h, sr + dir * gh, 0, gh, qh, gr);
                if (kind == KIND_LSTM) {
                    const float *bias = (const float *)in[5] + dir * gh, *p = (const float *)in[8] + dir * 3 * h;
                    const float *cp = step == 0 ? c0 + (dir * b + bi) * h : hp + h;
                    for (size_t j = 0; j < h; j++) {
                        float pi = (gx[j] + gr[j]) + bias[j], po = (gx[h + j] + gr[h + j]) + bias[h + j];
                        float pf = (gx[2 * h + j] + gr[2 * h + j]) + bias[2 * h + j];
                        float pc = (gx[3 * h + j] + gr[3 * h + j]) + bias[3 * h + j];
                        float ig = act(a[0], clip(d, pi + p[j] * cp[j]));
                        float fg = act(a[0], clip(d, pf + p[2 * h + j] * cp[j]));
                        float cc = act(a[1], clip(d, pc));
                        float c = fg * cp[j] + ig * cc;
                        float og = act(a[0], clip(d, po + p[h + j] * c));
                        yo[h + j] = kf_canon(c);
                        yo[j] = kf_canon(og * act(a[2], c));
                    }
                } else if (kind == KIND_GRU) {
                    const float *wb = (const float *)in[5] + dir * gh, *rb = (const float *)in[6] + dir * gh;
                    float *hh = gx + 2 * h; /* the candidate state, over x's h-gate products once used */
                    if (!d->ia[7]) { /* (r (.) h_{t-1}) . Rh^T */
                        for (size_t j = 0; j < h; j++) {
                            float rg = act(a[0], clip(d, ((gx[h + j] + gr[h + j]) + wb[h + j]) + rb[h + j]));
                            rh[j] = rg * hp[j];
                        }
                        product(rh, h, r + dir * gh * h, sr + dir * gh, 2 * h, h, qh, gr + 2 * h);
                        for (size_t j = 0; j < h; j++)
                            hh[j] = act(a[1], clip(d, ((gx[2 * h + j] + gr[2 * h + j]) + rb[2 * h + j]) + wb[2 * h + j]));
                    } else { /* r (.) (h_{t-1} . Rh^T + Rbh) */
                        for (size_t j = 0; j < h; j++) {
                            float rg = act(a[0], clip(d, ((gx[h + j] + gr[h + j]) + wb[h + j]) + rb[h + j]));
                            hh[j] = act(a[1], clip(d, (gx[2 * h + j] + wb[2 * h + j]) + rg * (gr[2 * h + j] + rb[2 * h + j])));
                        }
                    }
                    for (size_t j = 0; j < h; j++) {
                        float z = act(a[0], clip(d, ((gx[j] + gr[j]) + wb[j]) + rb[j]));
                        yo[j] = kf_canon((1.0f - z) * hh[j] + z * hp[j]);
                    }
                } else {
                    const float *bias = (const float *)in[5] + dir * gh;
                    for (size_t j = 0; j < h; j++) yo[j] = kf_canon(act(a[0], clip(d, (gx[j] + gr[j]) + bias[j])));
                }
            }
        }
    }
}

static void run_lstm(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    run(d, in, out, scr, KIND_LSTM);
}
static void run_gru(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    run(d, in, out, scr, KIND_GRU);
}
static void run_rnn(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    run(d, in, out, scr, KIND_RNN);
}

const kernel_op kop_lstm = {"LSTM", check_lstm, scratch, run_lstm, KD_IA(8), KD_FA(1)};
const kernel_op kop_gru = {"GRU", check_gru, scratch, run_gru, KD_IA(8), KD_FA(1)};
const kernel_op kop_rnn = {"RNN", check_rnn, scratch, run_rnn, KD_IA(8), KD_FA(1)};
