/* qconv.c: OP_QCONV, 2-D convolution with int8 weights (ONNX Conv, BatchNormalization folded in).
 * Operands: 0 X f32 [N, C, H, W]; 1 W int8 [M, C/G, KH, KW]; 2 scale f32 [M]; 3 (optional) bias
 * f32 [M]. Output f32 [N, M, OH, OW]. Attributes ia: 0 group G, 1-2 strides (h, w), 3-6 pads
 * (top, left, bottom, right), 7-8 dilations (h, w). Each image X[n] is quantized with one scale;
 * padding contributes zeros; y = ((float)acc * sx[n]) * sw[m] + bias[m]. */
#include "fmath.h"
#include "ops.h"
#include "quant.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *w = &d->in[1], *y = &d->out;
    const int32_t *a = d->ia;
    int r = kd_check_qconv_operands(d, 0);
    if (r) return r;
    for (int i = 0; i < 2; i++) {
        int64_t span = (int64_t)x->dims[2 + i] + a[3 + i] + a[5 + i] - (int64_t)a[7 + i] * (w->dims[2 + i] - 1) - 1;
        if (span < 0 || (int64_t)y->dims[2 + i] != span / a[1 + i] + 1) return KD_ESHAPE;
    }
    return KD_OK;
}

size_t kd_qconv_scratch(const kd_desc *d) { return (size_t)(kd_numel(&d->in[0]) / (d->in[0].dims[0] ? d->in[0].dims[0] : 1)); }

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const kd_tensor *tx = &d->in[0], *tw = &d->in[1], *ty = &d->out;
    const float *x = in[0], *sw = in[2], *bias = d->noperands == 4 ? in[3] : NULL;
    const int8_t *w = in[1];
    int8_t *q = scr;
    float *y = out;
    size_t nb = tx->dims[0], c = tx->dims[1], h = tx->dims[2], wd = tx->dims[3];
    size_t m = tw->dims[0], cg = tw->dims[1], kh = tw->dims[2], kw = tw->dims[3];
    size_t oh = ty->dims[2], ow = ty->dims[3], g = (size_t)d->ia[0], mg = m / g;
    int64_t sh = d->ia[1], sv = d->ia[2], pt = d->ia[3], pl = d->ia[4], dh = d->ia[7], dw = d->ia[8];
    size_t img = c * h * wd;
    for (size_t n = 0; n < nb; n++) {
        float sx = kq_scale(x + n * img, img, 1);
        kq_quantize(x + n * img, img, 1, sx, q);
        for (size_t o = 0; o < m; o++) {
            size_t c0 = (o / mg) * cg;
            const int8_t *wo = w + o * cg * kh * kw;
            for (size_t py = 0; py < oh; py++)
                for (size_t px = 0; px < ow; px++) {
                    int32_t acc = 0;
                    for (size_t ci = 0; ci < cg; ci++)
                        for (size_t ky = 0; ky < kh; ky++) {
                            int64_t iy = (int64_t)py * sh - pt + (int64_t)ky * dh;
                            if (iy < 0 || iy >= (int64_t)h) continue;
                            const int8_t *qrow = q + ((c0 + ci) * h + (size_t)iy) * wd;
                            const int8_t *wrow = wo + (ci * kh + ky) * kw;
                            for (size_t kx = 0; kx < kw; kx++) {
                                int64_t ix = (int64_t)px * sv - pl + (int64_t)kx * dw;
                                if (ix >= 0 && ix < (int64_t)wd) acc += (int32_t)qrow[ix] * wrow[kx];
                            }
                        }
                    y[((n * m + o) * oh + py) * ow + px] = kq_output(acc, sx, sw[o], bias != NULL, bias ? bias[o] : 0.0f);
                }
        }
    }
}

const kernel_op kop_qconv = {"QConv", check, kd_qconv_scratch, run, KD_IA(9), 0};
