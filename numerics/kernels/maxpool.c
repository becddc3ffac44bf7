/* maxpool.c: OP_MAXPOOL, 2-D max pooling of X f32 [N, C, H, W] to [N, C, OH, OW] (OH, OW from the
 * output tensor: floor or ceil mode). ia: 0-1 kernel (h, w), 2-3 strides, 4-7 pads (top, left,
 * bottom, right), 8-9 dilations. The window is scanned row by row; padding is skipped; a window
 * holding a NaN gives NaN (canonical); a window with no element inside the input gives -Inf. */
#include "fmath.h"
#include "ops.h"

/* The window offsets k whose position base + k * dil lies in [0, n): [*lo, *hi). */
static void window_range(int64_t base, int64_t k, int64_t dil, int64_t n, int64_t *lo, int64_t *hi) {
    *lo = base >= 0 ? 0 : (-base + dil - 1) / dil;
    *hi = n - base <= 0 ? 0 : (n - base + dil - 1) / dil;
    if (*hi > k) *hi = k;
    if (*lo > *hi) *lo = *hi;
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
        for (size_t py = 0; py < oh; py++) {
            int64_t y0 = (int64_t)py * a[2] - a[4], ky0, ky1;
            window_range(y0, a[0], a[8], h, &ky0, &ky1);
            for (size_t px = 0; px < ow; px++) {
                int64_t x0 = (int64_t)px * a[3] - a[5], kx0, kx1;
                window_range(x0, a[1], a[9], w, &kx0, &kx1);
                float m = kf_from_bits(0xFF800000u);
                int nan = 0;
                for (int64_t ky = ky0; ky < ky1; ky++) {
                    const float *row = x + (p * (size_t)h + (size_t)(y0 + ky * a[8])) * (size_t)w;
                    for (int64_t kx = kx0; kx < kx1; kx++) {
                        float v = row[x0 + kx * a[9]];
                        nan |= kf_isnan(v);
                        m = v > m ? v : m;
                    }
                }
                y[(p * oh + py) * ow + px] = nan ? kf_from_bits(KF_CANON_NAN) : m;
            }
        }
}

const kernel_op kop_maxpool = {"MaxPool", kd_check_pool2d, NULL, run, KD_IA(10), 0};
