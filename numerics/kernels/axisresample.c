/* axisresample.c: OP_AXISRESAMPLE (126), a linear map along one axis with constant taps: x f32,
 * idx i32 [L, K], w f32 [L, K] (K >= 1), ia[0] = axis -> y, x's shape with dims[axis] = L. For
 * every output element with position i on the axis: s = w[i,0] * v(idx[i,0]), then for
 * k = 1..K-1 in order s = s + w[i,k] * v(idx[i,k]); y = kf_canon(s), where v(j) is x at position j
 * on the axis (same other coordinates) and fa[0] (the extrapolation value) for j outside
 * [0, dims[axis]). The converter computes the taps of Resize and Upsample (nearest: K = 1, w = 1;
 * linear: 2; cubic: 4; antialiased: more) once per axis. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *ix = &d->in[1], *w = &d->in[2], *y = &d->out;
    if (d->noperands != 3 || x->dtype != KD_F32 || y->dtype != KD_F32 || ix->dtype != KD_I32 || w->dtype != KD_F32)
        return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] >= (int32_t)x->rank) return KD_EATTR;
    unsigned a = (unsigned)d->ia[0];
    if (ix->rank != 2 || ix->dims[1] < 1 || w->rank != 2 || w->dims[0] != ix->dims[0] || w->dims[1] != ix->dims[1] || y->rank != x->rank)
        return KD_ESHAPE;
    for (unsigned i = 0; i < x->rank; i++)
        if (y->dims[i] != (i == a ? ix->dims[0] : x->dims[i])) return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0], *w = in[2];
    const int32_t *idx = in[1];
    float *y = out;
    const kd_tensor *t = &d->in[0];
    unsigned a = (unsigned)d->ia[0];
    size_t outer = 1, inner = 1, lin = t->dims[a], lout = d->out.dims[a], k = d->in[1].dims[1];
    for (unsigned i = 0; i < a; i++) outer *= t->dims[i];
    for (unsigned i = a + 1; i < t->rank; i++) inner *= t->dims[i];
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < lout; i++)
            for (size_t e = 0; e < inner; e++) {
                const float *xl = x + o * lin * inner + e;
                float s = 0.0f;
                for (size_t j = 0; j < k; j++) {
                    int32_t p = idx[i * k + j];
                    float v = p >= 0 && (size_t)p < lin ? xl[(size_t)p * inner] : d->fa[0];
                    s = j == 0 ? w[i * k] * v : s + w[i * k + j] * v;
                }
                y[(o * lout + i) * inner + e] = kf_canon(s);
            }
}

const kernel_op kop_axisresample = {"AxisResample", check, NULL, run, KD_IA(1), KD_FA(1)};
