/* avgpool.c: OP_AVGPOOL, 2-D average pooling, attributes as OP_MAXPOOL (maxpool.c) plus ia[10] =
 * count_include_pad (0 or 1). The window's elements inside the input are summed row by row from
 * +0; the divisor is their count, or with count_include_pad the count of window positions inside
 * the padded input; y = sum / (float)count, NaN canonical. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    int r = kd_check_pool2d(d);
    if (r) return r;
    return d->ia[10] == 0 || d->ia[10] == 1 ? KD_OK : KD_EATTR;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    const int32_t *a = d->ia;
    size_t planes = (size_t)d->in[0].dims[0] * d->in[0].dims[1];
    int64_t h = d->in[0].dims[2], w = d->in[0].dims[3];
    size_t oh = d->out.dims[2], ow = d->out.dims[3];
    for (size_t p = 0; p < planes; p++)
        for (size_t py = 0; py < oh; py++)
            for (size_t px = 0; px < ow; px++) {
                float s = 0.0f;
                int32_t count = 0;
                for (int64_t ky = 0; ky < a[0]; ky++) {
                    int64_t iy = (int64_t)py * a[2] - a[4] + ky * a[8];
                    int in_y = iy >= 0 && iy < h, pad_y = iy >= -a[4] && iy < h + a[6];
                    for (int64_t kx = 0; kx < a[1]; kx++) {
                        int64_t ix = (int64_t)px * a[3] - a[5] + kx * a[9];
                        if (in_y && ix >= 0 && ix < w) {
                            s = s + x[(p * (size_t)h + (size_t)iy) * (size_t)w + (size_t)ix];
                            count++;
                        } else if (a[10] && pad_y && ix >= -a[5] && ix < w + a[7]) {
                            count++;
                        }
                    }
                }
                y[(p * oh + py) * ow + px] = kf_canon(s / (float)count);
            }
}

const kernel_op kop_avgpool = {"AveragePool", check, NULL, run, KD_IA(11), 0};
