/* argminmax.c: OP_ARGMINMAX (131), ONNX's ArgMax and ArgMin along any axis: x f32 -> i32 of x's
 * shape without the axis, or with it as 1 (keepdims; the output record says which). ia[0] axis,
 * ia[1] 0 max / 1 min, ia[2] select_last_index (0/1). Along each line, best = 0; for j = 1, 2, ..
 * in order, j becomes best when x_j is better than x_best, or, with select_last_index, when
 * x_best is not better than x_j (a tie). Better: x_j NaN and x_best not, or (no NaN) x_j > x_best
 * for max, x_j < x_best for min; so NaN counts as the extreme and, without select_last_index,
 * the first extreme wins (numpy's rule). */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || y->dtype != KD_I32) return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] >= (int32_t)x->rank || (uint32_t)d->ia[1] > 1 || (uint32_t)d->ia[2] > 1) return KD_EATTR;
    unsigned a = (unsigned)d->ia[0];
    if (x->dims[a] < 1) return KD_ESHAPE;
    if (y->rank == x->rank) { /* keepdims */
        for (unsigned i = 0; i < x->rank; i++)
            if (y->dims[i] != (i == a ? 1 : x->dims[i])) return KD_ESHAPE;
    } else if (y->rank + 1 == x->rank) {
        for (unsigned i = 0, k = 0; i < x->rank; i++)
            if (i != a && y->dims[k++] != x->dims[i]) return KD_ESHAPE;
    } else {
        return KD_ESHAPE;
    }
    return KD_OK;
}

static int better(float a, float b, int min) {
    if (kf_isnan(a) || kf_isnan(b)) return kf_isnan(a) && !kf_isnan(b);
    return min ? a < b : a > b;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    int32_t *y = out;
    const kd_tensor *t = &d->in[0];
    unsigned a = (unsigned)d->ia[0];
    int min = d->ia[1], last = d->ia[2];
    size_t outer = 1, len = t->dims[a], inner = 1;
    for (unsigned i = 0; i < a; i++) outer *= t->dims[i];
    for (unsigned i = a + 1; i < t->rank; i++) inner *= t->dims[i];
    for (size_t o = 0; o < outer; o++)
        for (size_t e = 0; e < inner; e++) {
            const float *xl = x + o * len * inner + e;
            size_t best = 0;
            for (size_t j = 1; j < len; j++)
                if (better(xl[j * inner], xl[best * inner], min) || (last && !better(xl[best * inner], xl[j * inner], min)))
                    best = j;
            y[o * inner + e] = (int32_t)best;
        }
}

const kernel_op kop_argminmax = {"ArgMinMax", check, NULL, run, KD_IA(3), 0};
