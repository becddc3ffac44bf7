/* det.c: OP_DET (133), the determinant of each square matrix: x f32 [.., M, M] (M >= 1) -> f32
 * [..]. Gaussian elimination with partial pivoting, in this order: for column k = 0..M-1, the
 * pivot is the first row i >= k with the largest |a[i][k]| (by "greater than"); a row swap flips
 * the sign; a zero pivot gives +0; each row i > k: f = a[i][k] / a[k][k], a[i][j] = a[i][j] - f *
 * a[k][j] for j = k+1..M-1 in order. det = sign * ((a00 * a11) * a22) ... in diagonal order; NaN
 * canonical. */
#include "fmath.h"
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *y = &d->out;
    if (d->noperands != 1 || x->dtype != KD_F32 || y->dtype != KD_F32 || x->rank < 2 || y->rank != x->rank - 2)
        return KD_ESHAPE;
    uint32_t m = x->dims[x->rank - 1];
    if (m < 1 || x->dims[x->rank - 2] != m || (uint64_t)m * m * 4 > KD_MAX_TENSOR_BYTES) return KD_ESHAPE;
    for (unsigned i = 0; i < y->rank; i++)
        if (y->dims[i] != x->dims[i]) return KD_ESHAPE;
    return KD_OK;
}

static size_t scratch(const kd_desc *d) {
    size_t m = d->in[0].dims[d->in[0].rank - 1];
    return m * m * 4;
}

static float absf(float v) { return kf_from_bits(kf_bits(v) & 0x7FFFFFFFu); }

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scr) {
    const float *x = in[0];
    float *y = out, *a = scr;
    size_t m = d->in[0].dims[d->in[0].rank - 1], count = (size_t)kd_numel(&d->out);
    for (size_t n = 0; n < count; n++) {
        memcpy(a, x + n * m * m, m * m * 4);
        float sign = 1.0f, det = 1.0f;
        int zero = 0;
        for (size_t k = 0; k < m && !zero; k++) {
            size_t p = k;
            for (size_t i = k + 1; i < m; i++)
                if (absf(a[i * m + k]) > absf(a[p * m + k])) p = i;
            if (a[p * m + k] == 0.0f) {
                zero = 1;
                break;
            }
            if (p != k) {
                for (size_t j = 0; j < m; j++) {
                    float t = a[k * m + j];
                    a[k * m + j] = a[p * m + j], a[p * m + j] = t;
                }
                sign = -sign;
            }
            for (size_t i = k + 1; i < m; i++) {
                float f = a[i * m + k] / a[k * m + k];
                for (size_t j = k + 1; j < m; j++) a[i * m + j] = a[i * m + j] - f * a[k * m + j];
            }
        }
        for (size_t k = 0; k < m && !zero; k++) det = det * a[k * m + k];
        y[n] = zero ? 0.0f : kf_canon(sign * det);
    }
}

const kernel_op kop_det = {"Det", check, scratch, run, 0, 0};
