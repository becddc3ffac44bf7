/* equal.c: OP_EQUAL, ONNX's Equal: two operands of one dtype (float32, int8, int32, int64 or
 * bool) broadcast (numpy) to the bool output; y = 1 where a == b, else 0. Floats compare as IEEE
 * numbers (+0 == -0, a NaN equals nothing); bools compare their truth (any non-zero byte is
 * true). */
#include "ops.h"

static int check(const kd_desc *d) {
    unsigned t = d->in[0].dtype;
    if (d->noperands != 2 || d->out.dtype != KD_BOOL || d->in[1].dtype != t ||
        (t != KD_F32 && t != KD_I8 && t != KD_I32 && t != KD_I64 && t != KD_BOOL))
        return KD_ESHAPE;
    return kd_check_bcast_shapes(d, 2, 0);
}

static int equal_at(unsigned t, const void *a, const void *b, size_t i, size_t j) {
    switch (t) {
    case KD_F32: return ((const float *)a)[i] == ((const float *)b)[j];
    case KD_I8: return ((const int8_t *)a)[i] == ((const int8_t *)b)[j];
    case KD_I32: return ((const int32_t *)a)[i] == ((const int32_t *)b)[j];
    case KD_I64: return ((const int64_t *)a)[i] == ((const int64_t *)b)[j];
    default: return (((const uint8_t *)a)[i] != 0) == (((const uint8_t *)b)[j] != 0); /* KD_BOOL */
    }
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_bcast w;
    kd_bcast_init(&w, d, 2);
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++, kd_bcast_next(&w)) y[i] = (uint8_t)equal_at(d->in[0].dtype, in[0], in[1], w.off[0], w.off[1]);
}

const kernel_op kop_equal = {"Equal", check, NULL, run, 0, 0};
