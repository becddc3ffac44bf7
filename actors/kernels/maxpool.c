/* maxpool.c: OP_MAXPOOL, 2-D max pooling of X f32 [N, C, H, W] to [N, C, OH, OW] (OH, OW from the
 * output tensor: floor or ceil mode). ia: 0-1 kernel (h, w), 2-3 strides, 4-7 pads (top, left,
 * bottom, right), 8-9 dilations. The window is scanned row by row; padding is skipped; a window
 * holding a NaN gives NaN (canonical); a window with no element inside the input gives -Inf. */
#include "fmath.h"
#include "ops.h"

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
                float m = kf_from_bits(0xFF800000u);
                int nan = 0;
                for (int64_t ky = 0; ky < a[0]; ky++) {
                    int64_t iy = (int64_t)py * a[2] - a[4] + ky * a[8];
                    if (iy < 0 || iy >= h) continue;
                    for (int64_t kx = 0; kx < a[1]; kx++) {
                        int64_t ix = (int64_t)px * a[3] - a[5] + kx * a[9];
                        if (ix < 0 || ix >= w) continue;
                        float v = x[(p * (size_t)h + (size_t)iy) * (size_t)w + (size_t)ix];
                        if (kf_isnan(v)) nan = 1;
                        else if (v > m) m = v;
                    }
                }
                y[(p * oh + py) * ow + px] = nan ? kf_from_bits(KF_CANON_NAN) : m;
            }
}

const kernel_op kop_maxpool = {"MaxPool", kd_check_pool2d, NULL, run};
