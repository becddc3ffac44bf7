/* The reference kernels on small cases checked against independent formulas (quantization by
 * nearbyintf, i.e. round half to even, written separately from quant.c), the descriptor's byte
 * round trip and its rejections, and kernel_run's errors on inconsistent shapes. The ONNX
 * conformance tests (convert/tests) cover each operator's meaning more widely. */
#include "check.h"
#include "fmath.h"
#include "kernel.h"

#include <math.h>
#include <stdlib.h>

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, d2, d3, 0, 0}};
    return t;
}

static uint8_t scratch[1 << 16];

static int run(kd_desc *d, const void *const in[12], void *out) {
    uint8_t buf[KD_BYTES];
    kd_encode(d, buf);
    return kernel_run(buf, sizeof buf, in, out, scratch, sizeof scratch);
}

static float qref(float x, float s) {
    float t = x / s;
    if (t != t) return 0;
    t = t > 127 ? 127 : t < -127 ? -127 : t;
    return nearbyintf(t);
}

int main(void) {
    /* QLinear: 3 rows, K = 5, N = 4, with bias; compared with the formula of docs/numerics.md */
    float x[15], sw[4], bias[4], y[12];
    int8_t w[20];
    for (int i = 0; i < 15; i++) x[i] = (float)((i * 37) % 11) - 5.25f;
    x[7] = 2.5f * (x[5] / 127.0f);
    for (int i = 0; i < 20; i++) w[i] = (int8_t)((i * 53) % 255 - 127);
    for (int i = 0; i < 4; i++) sw[i] = 0.01f * (float)(i + 1), bias[i] = (float)i - 1.5f;
    kd_desc d = {.op = OP_QLINEAR, .noperands = 4};
    d.out = T(KD_F32, 2, 3, 4, 0, 0);
    d.in[0] = T(KD_F32, 2, 3, 5, 0, 0);
    d.in[1] = T(KD_I8, 2, 4, 5, 0, 0);
    d.in[2] = T(KD_F32, 1, 4, 0, 0, 0);
    d.in[3] = T(KD_F32, 1, 4, 0, 0, 0);
    const void *in[12] = {x, w, sw, bias};
    CHECK_EQ_INT(run(&d, in, y), 0);
    for (int r = 0; r < 3; r++) {
        float m = 0;
        for (int k = 0; k < 5; k++) m = fabsf(x[r * 5 + k]) > m ? fabsf(x[r * 5 + k]) : m;
        float s = m / 127.0f;
        for (int n = 0; n < 4; n++) {
            int32_t acc = 0;
            for (int k = 0; k < 5; k++) acc += (int32_t)qref(x[r * 5 + k], s) * w[n * 5 + k];
            float want = ((float)acc * s) * sw[n] + bias[n];
            CHECK(kf_bits(y[r * 4 + n]) == kf_bits(want));
        }
    }
    /* wrong K is a shape error, a bad magic a format error */
    d.in[1] = T(KD_I8, 2, 4, 6, 0, 0);
    CHECK_EQ_INT(run(&d, in, y), KD_ESHAPE);
    uint8_t buf[KD_BYTES];
    d.in[1] = T(KD_I8, 2, 4, 5, 0, 0);
    kd_encode(&d, buf);
    kd_desc back;
    CHECK_EQ_INT(kd_decode(buf, sizeof buf, &back), 0);
    uint8_t buf2[KD_BYTES];
    kd_encode(&back, buf2);
    CHECK_MEM(buf, buf2, KD_BYTES);
    CHECK_EQ_INT(kd_decode(buf, sizeof buf - 1, &back), KD_EFORMAT);
    buf[0] ^= 1;
    CHECK_EQ_INT(kd_decode(buf, sizeof buf, &back), KD_EFORMAT);
    buf[0] ^= 1;
    buf[40 + 28 * 5] = KD_F32; /* a shape on an unused operand */
    CHECK_EQ_INT(kd_decode(buf, sizeof buf, &back), KD_EFORMAT);
    d.op = 999;
    CHECK_EQ_INT(run(&d, in, y), KD_EOP);
    /* the integer dtypes: int64 (8 bytes) and bool (1 byte) round-trip; unknown dtypes are refused */
    kd_tensor ti = T(KD_I64, 2, 3, 5, 0, 0), tb = T(KD_BOOL, 1, 7, 0, 0, 0), back_t;
    CHECK_EQ_INT((int)kd_nbytes(&ti), 120);
    CHECK_EQ_INT((int)kd_nbytes(&tb), 7);
    uint8_t rec[28];
    kd_encode_tensor(rec, &ti);
    CHECK_EQ_INT(kd_decode_tensor(rec, &back_t), KD_OK);
    CHECK(kd_same(&ti, &back_t));
    kd_encode_tensor(rec, &tb);
    CHECK_EQ_INT(kd_decode_tensor(rec, &back_t), KD_OK);
    CHECK(kd_same(&tb, &back_t));
    for (unsigned dt = 7; dt < 256; dt += 31) {
        rec[0] = (uint8_t)dt;
        CHECK_EQ_INT(kd_decode_tensor(rec, &back_t), KD_EFORMAT);
    }

    /* QConv: 1 image 2x4x4, 3 filters 2x3x3, stride 1, pad 1 */
    float cx[32], cs[3] = {0.5f, 0.25f, 0.125f}, cy[48];
    int8_t cw[54];
    for (int i = 0; i < 32; i++) cx[i] = (float)(i % 7) * 0.3f - 0.8f;
    for (int i = 0; i < 54; i++) cw[i] = (int8_t)((i * 29) % 200 - 100);
    kd_desc c = {.op = OP_QCONV, .noperands = 3, .ia = {1, 1, 1, 1, 1, 1, 1, 1, 1}};
    c.out = T(KD_F32, 4, 1, 3, 4, 4);
    c.in[0] = T(KD_F32, 4, 1, 2, 4, 4);
    c.in[1] = T(KD_I8, 4, 3, 2, 3, 3);
    c.in[2] = T(KD_F32, 1, 3, 0, 0, 0);
    const void *cin[12] = {cx, cw, cs};
    CHECK_EQ_INT(run(&c, cin, cy), 0);
    float m = 0;
    for (int i = 0; i < 32; i++) m = fabsf(cx[i]) > m ? fabsf(cx[i]) : m;
    float s = m / 127.0f;
    for (int o = 0; o < 3; o++)
        for (int py = 0; py < 4; py++)
            for (int px = 0; px < 4; px++) {
                int32_t acc = 0;
                for (int ci = 0; ci < 2; ci++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = py - 1 + ky, ix = px - 1 + kx;
                            if (iy >= 0 && iy < 4 && ix >= 0 && ix < 4)
                                acc += (int32_t)qref(cx[ci * 16 + iy * 4 + ix], s) * cw[((o * 2 + ci) * 3 + ky) * 3 + kx];
                        }
                CHECK(kf_bits(cy[(o * 4 + py) * 4 + px]) == kf_bits(((float)acc * s) * cs[o]));
            }
    c.out.dims[2] = 5; /* wrong output height */
    CHECK_EQ_INT(run(&c, cin, cy), KD_ESHAPE);

    /* element-wise: relu of -0 is +0, NaN canonical, broadcasting Add [2,3] + [3] */
    float a[6] = {-0.0f, 1.5f, -2.0f, NAN, INFINITY, -INFINITY}, b[3] = {1, 2, 3}, e[6];
    kd_desc u = {.op = OP_RELU, .noperands = 1};
    u.out = u.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    const void *uin[12] = {a};
    CHECK_EQ_INT(run(&u, uin, e), 0);
    CHECK(kf_bits(e[0]) == 0 && e[1] == 1.5f && e[2] == 0 && kf_bits(e[3]) == KF_CANON_NAN && e[4] == INFINITY && e[5] == 0);
    kd_desc ad = {.op = OP_ADD, .noperands = 2};
    ad.out = ad.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    ad.in[1] = T(KD_F32, 1, 3, 0, 0, 0);
    const void *ain[12] = {a, b};
    CHECK_EQ_INT(run(&ad, ain, e), 0);
    CHECK(e[0] == 1 && e[1] == 3.5f && e[2] == 1 && kf_bits(e[3]) == KF_CANON_NAN && e[4] == INFINITY && e[5] == -INFINITY);
    ad.in[1] = T(KD_F32, 1, 2, 0, 0, 0);
    CHECK_EQ_INT(run(&ad, ain, e), KD_ESHAPE);

    /* Softmax over the last axis sums to 1; Transpose [2,3] -> [3,2] */
    float sx[6] = {1, 2, 3, -1, 0, 1000}, sy[6];
    kd_desc sm = {.op = OP_SOFTMAX, .noperands = 1, .ia = {1, 0}};
    sm.out = sm.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    const void *sin[12] = {sx};
    CHECK_EQ_INT(run(&sm, sin, sy), 0);
    CHECK(fabsf(sy[0] + sy[1] + sy[2] - 1) < 1e-6f && sy[5] == 1.0f && sy[3] == 0.0f);
    CHECK(fabsf(sy[2] - 0.66524096f) < 1e-6f);
    kd_desc tr = {.op = OP_TRANSPOSE, .noperands = 1, .ia = {1, 0}};
    tr.in[0] = T(KD_F32, 2, 2, 3, 0, 0);
    tr.out = T(KD_F32, 2, 3, 2, 0, 0);
    CHECK_EQ_INT(run(&tr, sin, sy), 0);
    CHECK(sy[0] == 1 && sy[1] == -1 && sy[2] == 2 && sy[3] == 0 && sy[4] == 3 && sy[5] == 1000);
    tr.ia[1] = 1;
    CHECK_EQ_INT(run(&tr, sin, sy), KD_EATTR);

    /* MaxPool 2x2 stride 2 on 1x1x2x4, AveragePool with padding counted or not */
    float px[8] = {1, 5, 2, 0, -3, 4, 8, -1}, py[4];
    kd_desc mp = {.op = OP_MAXPOOL, .noperands = 1, .ia = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1}};
    mp.in[0] = T(KD_F32, 4, 1, 1, 2, 4);
    mp.out = T(KD_F32, 4, 1, 1, 1, 2);
    const void *pin[12] = {px};
    CHECK_EQ_INT(run(&mp, pin, py), 0);
    CHECK(py[0] == 5 && py[1] == 8);
    kd_desc ap = {.op = OP_AVGPOOL, .noperands = 1, .ia = {2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1}};
    ap.in[0] = T(KD_F32, 4, 1, 1, 2, 4);
    ap.out = T(KD_F32, 4, 1, 1, 2, 3);
    float ay[6];
    CHECK_EQ_INT(run(&ap, pin, ay), 0);
    CHECK(ay[0] == 0.25f && ay[1] == 1.75f);
    ap.ia[10] = 0;
    CHECK_EQ_INT(run(&ap, pin, ay), 0);
    CHECK(ay[0] == 1.0f && ay[1] == 3.5f);
    return check_summary("test_kernels");
}
