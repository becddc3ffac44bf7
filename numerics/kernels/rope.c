/* rope.c: OP_ROPE, rotary position embedding. Operands: 0 x f32 [T, H, Dh] (Dh even; token t is
 * at position pos + t); 1 cos f32 [P, Dh/2]; 2 sin f32 [P, Dh/2] (the tables are weights, built
 * when the model is made, so the kernel needs no trigonometry); 3 pos int32, one element.
 * ia[0] = 0: pairs (2i, 2i+1) (Meta's LLaMA), 1: pairs (i, i + Dh/2) (rotate_half, Hugging Face).
 * For each pair (a, b) with c = cos[pos+t][i], s = sin[pos+t][i]:
 *     a' = (a * c) - (b * s),    b' = (a * s) + (b * c),    NaN canonical.
 * A position outside the tables (pos < 0 or pos + T > P) makes every output a canonical NaN. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *c = &d->in[1], *s = &d->in[2], *p = &d->in[3];
    if (d->noperands != 4 || x->dtype != KD_F32 || x->rank != 3 || x->dims[2] % 2 || x->dims[2] < 2 ||
        !kd_same(x, &d->out) || c->dtype != KD_F32 || c->rank != 2 || c->dims[1] != x->dims[2] / 2 ||
        !kd_same(c, s) || p->dtype != KD_I32 || kd_numel(p) != 1)
        return KD_ESHAPE;
    if (d->ia[0] != 0 && d->ia[0] != 1) return KD_EATTR;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0], *cs = in[1], *sn = in[2];
    int32_t pos = *(const int32_t *)in[3];
    float *y = out;
    size_t t_n = d->in[0].dims[0], heads = d->in[0].dims[1], dh = d->in[0].dims[2], half = dh / 2;
    size_t tables = d->in[1].dims[0], n = (size_t)kd_numel(&d->out);
    if (pos < 0 || (size_t)pos > tables || t_n > tables - (size_t)pos) {
        for (size_t i = 0; i < n; i++) y[i] = kf_from_bits(KF_CANON_NAN);
        return;
    }
    size_t step = d->ia[0] ? 1 : 2, other = d->ia[0] ? half : 1;
    for (size_t t = 0; t < t_n; t++) {
        const float *c = cs + ((size_t)pos + t) * half, *s = sn + ((size_t)pos + t) * half;
        for (size_t h = 0; h < heads; h++) {
            const float *xr = x + (t * heads + h) * dh;
            float *yr = y + (t * heads + h) * dh;
            for (size_t i = 0; i < half; i++) {
                size_t ia = i * step, ib = ia + other;
                float a = xr[ia], b = xr[ib];
                yr[ia] = kf_canon(a * c[i] - b * s[i]);
                yr[ib] = kf_canon(a * s[i] + b * c[i]);
            }
        }
    }
}

const kernel_op kop_rope = {"Rope", check, NULL, run, KD_IA(1), 0};
