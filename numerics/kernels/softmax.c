/* softmax.c: OP_SOFTMAX over one axis of a f32 tensor. ia[0] = axis (0 <= axis < rank); ia[1] = 1
 * for the opset < 13 meaning (every dimension from axis on is one softmax row), else 0. For each
 * row, in index order: m = max (by "greater than" from -Inf), e_j = exp(x_j - m), s = sum of e_j
 * from j = 0 up, y_j = e_j / s. NaN canonical. */
#include "fmath.h"
#include "ops.h"

int kd_check_softmax(const kd_desc *d) {
    if (kd_check_unary_f32(d)) return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] >= (int32_t)(d->out.rank ? d->out.rank : 1) || (d->ia[1] != 0 && d->ia[1] != 1))
        return KD_EATTR;
    return KD_OK;
}

void kd_softmax_rows(const kd_desc *d, size_t *outer, size_t *len, size_t *inner) {
    const kd_tensor *t = &d->out;
    unsigned axis = (unsigned)d->ia[0];
    *outer = *len = *inner = 1;
    for (unsigned i = 0; i < t->rank; i++) {
        if (i < axis) *outer *= t->dims[i];
        else if (i == axis || d->ia[1]) *len *= t->dims[i];
        else *inner *= t->dims[i];
    }
}

float kd_softmax_row_max(const float *xr, size_t len, size_t inner) {
    float m = kf_from_bits(0xFF800000u);
    for (size_t j = 0; j < len; j++) {
        if (kf_isnan(xr[j * inner])) m = xr[j * inner];
        else if (!kf_isnan(m) && xr[j * inner] > m) m = xr[j * inner];
    }
    return m;
}

void kd_softmax_each_row(const kd_desc *d, const float *x, float *y, kd_row_fn row) {
    size_t outer, len, inner;
    kd_softmax_rows(d, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) row(x + o * len * inner + i, y + o * len * inner + i, len, inner);
}

static void softmax_row(const float *xr, float *yr, size_t len, size_t inner) {
    float m = kd_softmax_row_max(xr, len, inner);
    float s = 0.0f;
    for (size_t j = 0; j < len; j++) {
        yr[j * inner] = kf_exp(xr[j * inner] - m);
        s = s + yr[j * inner];
    }
    for (size_t j = 0; j < len; j++) yr[j * inner] = kf_canon(yr[j * inner] / s);
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_softmax_each_row(d, in[0], out, softmax_row);
}

const kernel_op kop_softmax = {"Softmax", kd_check_softmax, NULL, run, KD_IA(2), 0};
