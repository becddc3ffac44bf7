/* logsoftmax.c: OP_LOGSOFTMAX, attributes and rows as OP_SOFTMAX (softmax.c). For each row, in
 * index order: m = max (by "greater than" from -Inf; any NaN makes m NaN); s = sum of
 * kf_exp(x_j - m) from j = 0 up; l = kf_log(s); y_j = (x_j - m) - l. NaN canonical. */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t outer, len, inner;
    kd_softmax_rows(d, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *xr = x + o * len * inner + i;
            float *yr = y + o * len * inner + i;
            float m = kd_softmax_row_max(xr, len, inner);
            float s = 0.0f;
            for (size_t j = 0; j < len; j++) s = s + kf_exp(xr[j * inner] - m);
            float l = kf_log(s);
            for (size_t j = 0; j < len; j++) yr[j * inner] = kf_canon((xr[j * inner] - m) - l);
        }
}

const kernel_op kop_logsoftmax = {"LogSoftmax", kd_check_softmax, NULL, run, KD_IA(2), 0};
