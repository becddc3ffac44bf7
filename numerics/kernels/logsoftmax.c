/* logsoftmax.c: OP_LOGSOFTMAX, attributes and rows as OP_SOFTMAX (softmax.c). For each row, in
 * index order: m = max (by "greater than" from -Inf; any NaN makes m NaN); s = sum of
 * kf_exp(x_j - m) from j = 0 up; l = kf_log(s); y_j = (x_j - m) - l. NaN canonical. */
#include "fmath.h"
#include "ops.h"

static void logsoftmax_row(const float *xr, float *yr, size_t len, size_t inner) {
    float m = kd_softmax_row_max(xr, len, inner);
    float s = 0.0f;
    for (size_t j = 0; j < len; j++) s = s + kf_exp(xr[j * inner] - m);
    float l = kf_log(s);
    for (size_t j = 0; j < len; j++) yr[j * inner] = kf_canon((xr[j * inner] - m) - l);
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_softmax_each_row(d, in[0], out, logsoftmax_row);
}

const kernel_op kop_logsoftmax = {"LogSoftmax", kd_check_softmax, NULL, run, KD_IA(2), 0};
