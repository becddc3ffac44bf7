/* attention.c: OP_ATTENTION, causal self-attention over a key/value cache (LLaMA, with grouped
 * query heads). Operands: 0 q f32 [T, H, Dh] (rotary already applied; query t is at position
 * pos + t); 1 keys f32 [S, Hkv, Dh]; 2 values f32 [S, Hkv, Dh] (the caches after OP_KVAPPEND of
 * this step's rows); 3 pos int32, one element. H is a multiple of Hkv: head h reads kv head
 * h / (H / Hkv). fa[0] = the score scale (1/sqrt(Dh) as the model's builder rounded it; finite).
 * Output f32 [T, H, Dh].
 *
 * For query t, head h, with L = pos + t + 1 visible positions j = 0..L-1:
 *   - scores through the W8A8 product (docs/numerics.md): the query row (Dh values) and each key
 *     row j (Dh values of kv head h / (H/Hkv)) are quantized per row (kq_scale, kq_quantize);
 *     acc_j = sum of int8 products in int32; s_j = kq_output(acc_j, sq, sk_j, no bias) * fa[0];
 *   - softmax in fp32 over j = 0..L-1: m = max by ">" from -Inf in order (NaN makes m NaN);
 *     e_j = kf_exp(s_j - m); z = ((e_0 + e_1) + ...) in order; p_j = e_j / z;
 *   - y[d] = ((+0 + p_0 * v_0[d]) + p_1 * v_1[d]) + ... in order of j, NaN canonical.
 * A position that does not fit (pos < 0 or pos + T > S) makes every output a canonical NaN. */
#include "fmath.h"
#include "ops.h"
#include "quant.h"

static int check(const kd_desc *d) {
    const kd_tensor *q = &d->in[0], *k = &d->in[1], *v = &d->in[2], *p = &d->in[3];
    if (d->noperands != 4 || q->dtype != KD_F32 || q->rank != 3 || !kd_same(q, &d->out) || k->dtype != KD_F32 ||
        k->rank != 3 || !kd_same(k, v) || p->dtype != KD_I32 || kd_numel(p) != 1)
        return KD_ESHAPE;
    uint32_t heads = q->dims[1], kvh = k->dims[1], dh = q->dims[2];
    if (dh < 1 || dh > KD_MAX_K || k->dims[2] != dh || kvh < 1 || heads % kvh || q->dims[0] > k->dims[0])
        return KD_ESHAPE;
    if (kf_isnan(d->fa[0]) || d->fa[0] > 3.4e38f || d->fa[0] < -3.4e38f) return KD_EATTR;
    return KD_OK;
}

/* scores: S floats; key scales: S * Hkv floats; quantized keys: S * Hkv * Dh bytes; query: Dh. */
static size_t scratch(const kd_desc *d) {
    size_t s = d->in[1].dims[0], kvh = d->in[1].dims[1], dh = d->in[1].dims[2];
    return 4 * s + 4 * s * kvh + s * kvh * dh + dh;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const float *q = in[0], *k = in[1], *v = in[2];
    int32_t pos = *(const int32_t *)in[3];
    float *y = out, scale = d->fa[0];
    size_t t_n = d->in[0].dims[0], heads = d->in[0].dims[1], dh = d->in[0].dims[2];
    size_t s_n = d->in[1].dims[0], kvh = d->in[1].dims[1], group = heads / kvh, n = (size_t)kd_numel(&d->out);
    if (pos < 0 || (size_t)pos > s_n || t_n > s_n - (size_t)pos) {
        for (size_t i = 0; i < n; i++) y[i] = kf_from_bits(KF_CANON_NAN);
        return;
    }
    size_t visible = (size_t)pos + t_n; /* keys any query of this step can see */
    float *sc = scr, *ks = sc + s_n;
    int8_t *kq = (int8_t *)(ks + s_n * kvh), *qq = kq + s_n * kvh * dh;
    for (size_t j = 0; j < visible; j++)
        for (size_t g = 0; g < kvh; g++) {
            const float *row = k + (j * kvh + g) * dh;
            ks[j * kvh + g] = kq_scale(row, dh, 1);
            kq_quantize(row, dh, 1, ks[j * kvh + g], kq + (j * kvh + g) * dh);
        }
    for (size_t t = 0; t < t_n; t++) {
        size_t len = (size_t)pos + t + 1;
        for (size_t h = 0; h < heads; h++) {
            size_t g = h / group;
            const float *qr = q + (t * heads + h) * dh;
            float sq = kq_scale(qr, dh, 1);
            kq_quantize(qr, dh, 1, sq, qq);
            float m = kf_from_bits(0xFF800000u);
            for (size_t j = 0; j < len; j++) {
                const int8_t *kr = kq + (j * kvh + g) * dh;
                int32_t acc = 0;
                for (size_t i = 0; i < dh; i++) acc += (int32_t)qq[i] * kr[i];
                float s = kf_canon(kq_output(acc, sq, ks[j * kvh + g], 0, 0.0f) * scale);
                sc[j] = s;
                if (kf_isnan(s)) m = s;
                else if (!kf_isnan(m) && s > m) m = s;
            }
            float z = 0.0f;
            for (size_t j = 0; j < len; j++) {
                sc[j] = kf_exp(sc[j] - m);
                z = z + sc[j];
            }
            for (size_t j = 0; j < len; j++) sc[j] = sc[j] / z;
            float *yr = y + (t * heads + h) * dh;
            for (size_t i = 0; i < dh; i++) yr[i] = 0.0f;
            for (size_t j = 0; j < len; j++) {
                const float *vr = v + (j * kvh + g) * dh;
                float p = sc[j];
                for (size_t i = 0; i < dh; i++) yr[i] = yr[i] + p * vr[i];
            }
            for (size_t i = 0; i < dh; i++) yr[i] = kf_canon(yr[i]);
        }
    }
}

const kernel_op kop_attention = {"Attention", check, scratch, run, 0, KD_FA(1)};
