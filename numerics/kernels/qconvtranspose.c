/* qconvtranspose.c: OP_QCONVTRANSPOSE (127), the 2-D transposed convolution with int8 weights (ONNX
 * ConvTranspose). Operands: 0 X f32 [N, C, H, W]; 1 W int8 [M, C/G, KH, KW] (the converter lays
 * ONNX's [C, M/G, KH, KW] out by output channel, as QConv's); 2 scale f32 [M]; 3 (optional) bias
 * f32 [M]. Attributes ia: 0 group G, 1-2 strides (h, w), 3-6 pads (top, left, bottom, right;
 * negative ones extend the output), 7-8 dilations (h, w). Output f32 [N, M, OH, OW] with OH = (H - 1) * sh - pt - pb + dh * (KH - 1)
 * + 1 + oph, 0 <= oph < sh (the output padding: the output record fixes it), likewise OW. Each
 * image is quantized with one scale (as QConv); output pixel (py, px) of filter m in group g sums,
 * over ci < C/G, ky < KH, kx < KW with iy = (py + pt - ky * dh) / sh and ix likewise exact
 * divisions inside the image, the int32 products q[g * C/G + ci][iy][ix] * w[m][ci][ky][kx];
 * y = ((float)acc * sx[n]) * sw[m] (+ bias[m]). */
#include "ops.h"

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *w = &d->in[1], *y = &d->out;
    const int32_t *a = d->ia;
    int r = kd_check_qconv_operands(d, 1);
    if (r) return r;
    if (x->dims[2] == 0 || x->dims[3] == 0) return KD_ESHAPE;
    for (int i = 0; i < 2; i++) {
        int64_t base = ((int64_t)x->dims[2 + i] - 1) * a[1 + i] - a[3 + i] - a[5 + i] + (int64_t)a[7 + i] * (w->dims[2 + i] - 1) + 1;
        if (base < 1 || (int64_t)y->dims[2 + i] < base || (int64_t)y->dims[2 + i] >= base + a[1 + i]) return KD_ESHAPE;
    }
    return KD_OK;
}

/* The input position feeding output position p through tap k, or -1. */
static int64_t source(int64_t p, int64_t pad, int64_t k, int64_t dil, int64_t stride, int64_t len) {
    int64_t t = p + pad - k * dil;
    if (t < 0 || t % stride) return -1;
    t /= stride;
    return t < len ? t : -1;
}

/* acc of output pixel (py, px): the taps whose source position divides exactly by the stride. */
static int32_t transposed_pixel(const kd_qconv_geom *g, const int8_t *q, const int8_t *wo, size_t c0, size_t py, size_t px) {
    int32_t acc = 0;
    for (size_t ky = 0; ky < g->kh; ky++) {
        int64_t iy = source((int64_t)py, g->pt, (int64_t)ky, g->dh, g->sh, (int64_t)g->h);
        if (iy < 0) continue;
        for (size_t kx = 0; kx < g->kw; kx++) {
            int64_t ix = source((int64_t)px, g->pl, (int64_t)kx, g->dw, g->sw, (int64_t)g->w);
            if (ix < 0) continue;
            for (size_t ci = 0; ci < g->cg; ci++)
                acc += (int32_t)q[((c0 + ci) * g->h + (size_t)iy) * g->w + (size_t)ix] * wo[(ci * g->kh + ky) * g->kw + kx];
        }
    }
    return acc;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    kd_qconv_run(d, in, out, scr, transposed_pixel);
}

const kernel_op kop_qconvtranspose = {"QConvTranspose", check, kd_qconv_scratch, run, KD_IA(9), 0};
