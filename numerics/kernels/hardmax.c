/* hardmax.c: OP_HARDMAX (124): per row of the axis (attributes and rows as Softmax, softmax.c),
 * y = 1 at the row's first maximum and 0 elsewhere. The maximum is ArgMax's (argmax.c): best = 0;
 * j becomes best when x_j > x_best or x_j is NaN; a NaN best is final. */
#include "fmath.h"
#include "ops.h"

static void hardmax_row(const float *xr, float *yr, size_t len, size_t inner) {
    size_t best = 0;
    for (size_t j = 1; j < len && !kf_isnan(xr[best * inner]); j++)
        if (kf_isnan(xr[j * inner]) || xr[j * inner] > xr[best * inner]) best = j;
    for (size_t j = 0; j < len; j++) yr[j * inner] = j == best ? 1.0f : 0.0f;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_softmax_each_row(d, in[0], out, hardmax_row);
}

const kernel_op kop_hardmax = {"Hardmax", kd_check_softmax, NULL, run, KD_IA(2), 0};
