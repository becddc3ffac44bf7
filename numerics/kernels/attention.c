/* attention.c: OP_ATTENTION, causal self-attention over a key/value cache (LLaMA, with grouped
 * query heads), in two forms with one meaning:
 *   4 operands: 0 q f32 [T, H, Dh] (rotary already applied; query t is at position pos + t);
 *     1 keys [S, Hkv, Dh]; 2 values [S, Hkv, Dh] (the caches after OP_KVAPPEND of this step's
 *     rows: both f32, or both Q8_0); 3 pos int32, one element;
 *   6 operands (the step graph of docs/generation.md, whose KVAppend nodes come last): 0 q; 1 keys
 *     [S, Hkv, Dh] and 3 values before this step (rows 0..pos-1 are read, the rest ignored); 2 the
 *     step's new keys and 4 new values f32 [T, Hkv, Dh]; 5 pos. Exactly the 4-operand form over
 *     KVAppend(keys, new keys, pos) and KVAppend(values, new values, pos): rows pos..pos+T-1 are
 *     the new rows as KVAppend writes them (their f32 bytes, or quantized by kq8_quantize_block),
 *     so both forms give the same bits (docs/numerics.md, "LLaMA steps").
 * H is a multiple of Hkv: head h reads kv head h / (H / Hkv). fa[0] = the score scale
 * (1/sqrt(Dh) as the model's builder rounded it; finite). Output f32 [T, H, Dh].
 *
 * For query t, head h, with L = pos + t + 1 visible positions j = 0..L-1:
 *   - scores, f32 caches: through the W8A8 product (docs/numerics.md): the query row (Dh values)
 *     and each key row j (Dh values of kv head h / (H/Hkv)) are quantized per row (kq_scale,
 *     kq_quantize); acc_j = sum of int8 products in int32; s_j = kq_output(acc_j, sq, sk_j) * fa[0];
 *   - scores, Q8_0 caches: the query row quantized per block of 32 (kq8_quantize_row) and
 *     s_j = kf_canon(kq8_dot(query, key row j) * fa[0]): the Q8_0 product's order (q8.h);
 *   - softmax in fp32 over j = 0..L-1: m = max by ">" from -Inf in order (NaN makes m NaN);
 *     e_j = kf_exp(s_j - m); z = ((e_0 + e_1) + ...) in order; p_j = e_j / z;
 *   - y[d] = ((+0 + p_0 * v_0[d]) + p_1 * v_1[d]) + ... in order of j, NaN canonical; a Q8_0
 *     value is (float)q * d (exact).
 * A position that does not fit (pos < 0 or pos + T > S) makes every output a canonical NaN. */
#include "fmath.h"
#include "ops.h"
#include "q8.h"
#include "quant.h"

/* the operands of either form: keys, values, new keys and values (NULL in the 4-operand form), pos */
typedef struct kv_operands {
    const void *k, *v;
    const float *kn, *vn;
    int32_t pos;
} kv_operands;

static int split(const kd_desc *d) { return d->noperands == 6; }
static const kd_tensor *keys_t(const kd_desc *d) { return &d->in[1]; }

static int check(const kd_desc *d) {
    int sp = split(d);
    const kd_tensor *q = &d->in[0], *k = &d->in[1], *v = &d->in[sp ? 3 : 2], *p = &d->in[sp ? 5 : 3];
    if ((d->noperands != 4 && !sp) || q->dtype != KD_F32 || q->rank != 3 || !kd_same(q, &d->out) ||
        (k->dtype != KD_F32 && k->dtype != KD_Q8_0) || k->rank != 3 || !kd_same(k, v) || p->dtype != KD_I32 ||
        kd_numel(p) != 1)
        return KD_ESHAPE;
    if (sp) { /* the new rows: f32 [T, Hkv, Dh] */
        const kd_tensor *kn = &d->in[2], *vn = &d->in[4];
        if (kn->dtype != KD_F32 || kn->rank != 3 || !kd_same(kn, vn) || kn->dims[0] != q->dims[0] ||
            kn->dims[1] != k->dims[1] || kn->dims[2] != k->dims[2])
            return KD_ESHAPE;
    }
    uint32_t heads = q->dims[1], kvh = k->dims[1], dh = q->dims[2];
    if (dh < 1 || dh > KD_MAX_K || k->dims[2] != dh || kvh < 1 || heads % kvh || q->dims[0] > k->dims[0])
        return KD_ESHAPE;
    if (kf_isnan(d->fa[0]) || d->fa[0] > 3.4e38f || d->fa[0] < -3.4e38f) return KD_EATTR;
    return KD_OK;
}

/* scores: S floats; f32 caches: key scales S * Hkv floats, quantized keys S * Hkv * Dh bytes, the
 * query Dh bytes; Q8_0 caches: the query's block scales Dh / 32 floats and its Dh bytes, and in
 * the 6-operand form the new keys and values as Q8_0 rows (2 T rows). */
static size_t scratch(const kd_desc *d) {
    size_t s = d->in[1].dims[0], kvh = d->in[1].dims[1], dh = d->in[1].dims[2], t = d->in[0].dims[0];
    if (d->in[1].dtype == KD_Q8_0)
        return 4 * s + dh / KD_Q8_BLOCK * 4 + dh + (split(d) ? 2 * t * kvh * (dh / KD_Q8_BLOCK) * KD_Q8_BYTES : 0);
    return 4 * s + 4 * s * kvh + s * kvh * dh + dh;
}

static void exp_loop(const float *x, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = kf_exp(x[i]);
}

static void softmax(float *sc, size_t len, kd_expv_fn expv) {
    float m = kf_from_bits(0xFF800000u);
    for (size_t j = 0; j < len; j++) m = kf_isnan(sc[j]) ? sc[j] : !kf_isnan(m) && sc[j] > m ? sc[j] : m;
    for (size_t j = 0; j < len; j++) sc[j] = sc[j] - m;
    (expv ? expv : exp_loop)(sc, len, sc);
    float z = 0.0f;
    for (size_t j = 0; j < len; j++) z = z + sc[j];
    for (size_t j = 0; j < len; j++) sc[j] = sc[j] / z;
}

/* ---- the reference pieces ---- */

static float scale_row(const float *x, size_t n) { return kq_scale(x, n, 1); }
static void quantize_row(const float *x, size_t n, float s, int8_t *q) { kq_quantize(x, n, 1, s, q); }
static int32_t dot_i8(const int8_t *a, const int8_t *b, size_t n) {
    int32_t acc = 0;
    for (size_t i = 0; i < n; i++) acc += (int32_t)a[i] * b[i];
    return acc;
}

static void wsum_f32(const float *p, size_t len, const float *v, size_t stride, size_t dh, float *y) {
    for (size_t j = 0; j < len; j++)
        for (size_t i = 0; i < dh; i++) y[i] = y[i] + p[j] * v[j * stride + i];
}

static void scores_q8(const int8_t *qq, const float *dq, size_t nb, const uint8_t *k, size_t row, size_t len,
                      float scale, float *sc) {
    for (size_t j = 0; j < len; j++) sc[j] = kf_canon(kq8_dot(qq, dq, k + j * row, nb) * scale);
}

static void values_q8(const float *p, size_t len, const uint8_t *v, size_t row, size_t nb, float *y) {
    for (size_t j = 0; j < len; j++) {
        const uint8_t *blk = v + j * row;
        for (size_t b = 0; b < nb; b++, blk += KD_Q8_BYTES) {
            float vd = kq8_scale(blk);
            const int8_t *vq = (const int8_t *)(blk + 2);
            for (size_t i = 0; i < KD_Q8_BLOCK; i++)
                y[b * KD_Q8_BLOCK + i] = y[b * KD_Q8_BLOCK + i] + p[j] * ((float)vq[i] * vd);
        }
    }
}

const kd_attention_ops kd_attention_ref = {scale_row, quantize_row, dot_i8, wsum_f32, kq8_quantize_row, scores_q8,
                                           values_q8, NULL};

/* ---- the one loop ---- */

/* Quantize T rows of new keys or values (f32 [T, Hkv, Dh]) into Q8_0 rows as KVAppend does. */
static void quantize_rows(const float *x, size_t blocks, uint8_t *dst) {
    for (size_t b = 0; b < blocks; b++, x += KD_Q8_BLOCK, dst += KD_Q8_BYTES) {
        uint16_t h = kq8_quantize_block(x, (int8_t *)(dst + 2));
        dst[0] = (uint8_t)h, dst[1] = (uint8_t)(h >> 8);
    }
}

/* f32 caches: the visible keys quantized per row once (rows below pos from the cache, the others
 * from the new rows), then per query t and head h the scores, the softmax and the weighted sum
 * (over the cache's rows, then on over the new rows: the same order of j) */
static void run_f32(const kd_desc *d, const kv_operands *kv, const float *q, float *y, void *scr,
                    const kd_attention_ops *o) {
    const float *k = kv->k, *v = kv->v;
    size_t t_n = d->in[0].dims[0], heads = d->in[0].dims[1], dh = d->in[0].dims[2], pos = (size_t)kv->pos;
    size_t s_n = d->in[1].dims[0], kvh = d->in[1].dims[1], group = heads / kvh, cached = kv->kn ? pos : pos + t_n;
    size_t visible = pos + t_n; /* keys any query of this step can see */
    float *sc = scr, *ks = sc + s_n;
    int8_t *kq = (int8_t *)(ks + s_n * kvh), *qq = kq + s_n * kvh * dh;
    for (size_t r = 0; r < visible * kvh; r++) {
        const float *kr = r < cached * kvh ? k + r * dh : kv->kn + (r - cached * kvh) * dh;
        ks[r] = o->scale(kr, dh);
        o->quantize(kr, dh, ks[r], kq + r * dh);
    }
    for (size_t t = 0; t < t_n; t++)
        for (size_t h = 0; h < heads; h++) {
            size_t g = h / group, len = pos + t + 1, first = len < cached ? len : cached;
            const float *qr = q + (t * heads + h) * dh;
            float sq = o->scale(qr, dh), *yr = y + (t * heads + h) * dh;
            o->quantize(qr, dh, sq, qq);
            for (size_t j = 0; j < len; j++)
                sc[j] = kf_canon(kq_output(o->dot(qq, kq + (j * kvh + g) * dh, dh), sq, ks[j * kvh + g], 0, 0.0f) * d->fa[0]);
            softmax(sc, len, o->expv);
            for (size_t i = 0; i < dh; i++) yr[i] = 0.0f;
            o->wsum(sc, first, v + g * dh, kvh * dh, dh, yr);
            if (len > first) o->wsum(sc + first, len - first, kv->vn + g * dh, kvh * dh, dh, yr);
            for (size_t i = 0; i < dh; i++) yr[i] = kf_canon(yr[i]);
        }
}

/* Q8_0 caches: per query the block-quantized query, the scores by the Q8_0 product, the softmax
 * and the values; in the 6-operand form the new rows are quantized into scratch first and read
 * after the cache's rows */
static void run_q8(const kd_desc *d, const kv_operands *kv, const float *q, float *y, void *scr,
                   const kd_attention_ops *o) {
    const uint8_t *k = kv->k, *v = kv->v;
    size_t t_n = d->in[0].dims[0], heads = d->in[0].dims[1], dh = d->in[0].dims[2], nb = dh / KD_Q8_BLOCK;
    size_t s_n = d->in[1].dims[0], kvh = d->in[1].dims[1], group = heads / kvh, row = kvh * nb * KD_Q8_BYTES;
    size_t pos = (size_t)kv->pos, cached = kv->kn ? pos : pos + t_n;
    float *sc = scr, *dq = sc + s_n;
    int8_t *qq = (int8_t *)(dq + nb);
    const uint8_t *kn = NULL, *vn = NULL;
    if (kv->kn) {
        uint8_t *rows = (uint8_t *)(qq + dh);
        quantize_rows(kv->kn, t_n * kvh * nb, rows);
        quantize_rows(kv->vn, t_n * kvh * nb, rows + t_n * row);
        kn = rows, vn = rows + t_n * row;
    }
    for (size_t t = 0; t < t_n; t++)
        for (size_t h = 0; h < heads; h++) {
            size_t g = h / group, len = pos + t + 1, first = len < cached ? len : cached, off = g * nb * KD_Q8_BYTES;
            float *yr = y + (t * heads + h) * dh;
            o->quantize_q8(q + (t * heads + h) * dh, dh, qq, dq);
            o->scores_q8(qq, dq, nb, k + off, row, first, d->fa[0], sc);
            if (len > first) o->scores_q8(qq, dq, nb, kn + off, row, len - first, d->fa[0], sc + first);
            softmax(sc, len, o->expv);
            for (size_t i = 0; i < dh; i++) yr[i] = 0.0f;
            o->values_q8(sc, first, v + off, row, nb, yr);
            if (len > first) o->values_q8(sc + first, len - first, vn + off, row, nb, yr);
            for (size_t i = 0; i < dh; i++) yr[i] = kf_canon(yr[i]);
        }
}

void kd_attention_run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], float *y, void *scr,
                      const kd_attention_ops *o) {
    int sp = split(d);
    kv_operands kv = {in[1], in[sp ? 3 : 2], sp ? in[2] : NULL, sp ? in[4] : NULL, *(const int32_t *)in[sp ? 5 : 3]};
    size_t t_n = d->in[0].dims[0], s_n = keys_t(d)->dims[0], n = (size_t)kd_numel(&d->out);
    if (kv.pos < 0 || (size_t)kv.pos > s_n || t_n > s_n - (size_t)kv.pos) {
        for (size_t i = 0; i < n; i++) y[i] = kf_from_bits(KF_CANON_NAN);
        return;
    }
    if (keys_t(d)->dtype == KD_Q8_0) run_q8(d, &kv, in[0], y, scr, o);
    else run_f32(d, &kv, in[0], y, scr, o);
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    kd_attention_run(d, in, out, scr, &kd_attention_ref);
}

const kernel_op kop_attention = {"Attention", check, scratch, run, 0, KD_FA(1)};
