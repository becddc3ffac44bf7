/* rmsnorm.c: OP_RMSNORM, root-mean-square normalization over the last dimension (LLaMA).
 * Operands: 0 x f32 [.., D]; 1 gamma f32 [D]. fa[0] = eps (finite, >= 0). Output shaped like x.
 * Per row, in index order: ss = +0, ss = ss + x_i * x_i; r = kf_sqrt(ss / (float)D + eps);
 * inv = 1 / r; y_i = (x_i * inv) * gamma_i. NaN canonical. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *g = &d->in[1];
    if (d->noperands != 2 || x->dtype != KD_F32 || x->rank < 1 || !kd_same(x, &d->out) || g->dtype != KD_F32 ||
        g->rank != 1 || g->dims[0] != x->dims[x->rank - 1] || g->dims[0] < 1)
        return KD_ESHAPE;
    float eps = d->fa[0];
    if (kf_isnan(eps) || eps < 0.0f || eps > 3.4e38f) return KD_EATTR;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0], *g = in[1];
    float *y = out, eps = d->fa[0];
    size_t dim = d->in[1].dims[0], rows = (size_t)(kd_numel(&d->out) / dim);
    for (size_t r = 0; r < rows; r++, x += dim, y += dim) {
        float ss = 0.0f;
        for (size_t i = 0; i < dim; i++) ss = ss + x[i] * x[i];
        float inv = 1.0f / kf_sqrt(ss / (float)dim + eps);
        for (size_t i = 0; i < dim; i++) y[i] = kf_canon((x[i] * inv) * g[i]);
    }
}

const kernel_op kop_rmsnorm = {"RMSNorm", check, NULL, run, 0, KD_FA(1)};
