/* argmax.c: OP_ARGMAX over the last dimension: x f32 [.., N] (N >= 1) -> int32 [..] (the last
 * dimension dropped). Per row: best = index 0; for j = 1..N-1 in order, j becomes best when x_j > x_best
 * or x_j is NaN; a NaN best is final. So the first maximum wins and NaN counts as the largest
 * value (numpy's rule). */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || x->rank < 1 || x->dims[x->rank - 1] < 1 || y->dtype != KD_I32 ||
        y->rank != x->rank - 1)
        return KD_ESHAPE;
    for (unsigned i = 0; i < y->rank; i++)
        if (y->dims[i] != x->dims[i]) return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    int32_t *y = out;
    size_t n = d->in[0].dims[d->in[0].rank - 1], rows = (size_t)kd_numel(&d->out);
    for (size_t r = 0; r < rows; r++, x += n) {
        size_t best = 0;
        for (size_t j = 1; j < n && !kf_isnan(x[best]); j++)
            if (kf_isnan(x[j]) || x[j] > x[best]) best = j;
        y[r] = (int32_t)best;
    }
}

const kernel_op kop_argmax = {"ArgMax", check, NULL, run, 0, 0};
