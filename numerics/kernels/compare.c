/* compare.c: the comparison and logic operators of ONNX (docs/numerics.md), numpy broadcasting to
 * a bool output (kd_bcast, broadcast.c):
 *   Compare (135): two operands of one dtype (f32, i8, i32, i64); ia[0] the relation, 0 a < b,
 *     1 a <= b, 2 a > b, 3 a >= b (floats as IEEE numbers: a NaN compares false, +0 == -0);
 *   Logic (136): two bool operands (any non-zero byte is true); ia[0] 0 and, 1 or, 2 xor;
 *   IsNaNInf (137): one f32 operand; ia[0] 0 IsNaN, 1 IsInf with ia[1] detect_negative and ia[2]
 *     detect_positive (0/1 each). */
#include "fmath.h"
#include "ops.h"

static int check_compare(const kd_desc *d) {
    unsigned t = d->in[0].dtype;
    if (d->noperands != 2 || d->out.dtype != KD_BOOL || d->in[1].dtype != t ||
        (t != KD_F32 && t != KD_I8 && t != KD_I32 && t != KD_I64))
        return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] > 3) return KD_EATTR;
    return kd_check_bcast_shapes(d, 2, 0);
}

/* -1, 0, 1 for a < b, a == b, a > b; 2 when unordered (a NaN). */
static int order_at(unsigned t, const void *a, const void *b, size_t i, size_t j) {
    switch (t) {
    case KD_F32: {
        float x = ((const float *)a)[i], y = ((const float *)b)[j];
        return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    case KD_I8: {
        int8_t x = ((const int8_t *)a)[i], y = ((const int8_t *)b)[j];
        return x < y ? -1 : x > y;
    }
    case KD_I32: {
        int32_t x = ((const int32_t *)a)[i], y = ((const int32_t *)b)[j];
        return x < y ? -1 : x > y;
    }
    default: {
        int64_t x = ((const int64_t *)a)[i], y = ((const int64_t *)b)[j];
        return x < y ? -1 : x > y;
    }
    }
}

static void run_compare(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_bcast w;
    kd_bcast_init(&w, d, 2);
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    int rel = d->ia[0];
    for (size_t i = 0; i < n; i++, kd_bcast_next(&w)) {
        int o = order_at(d->in[0].dtype, in[0], in[1], w.off[0], w.off[1]);
        y[i] = (uint8_t)(o == 2 ? 0 : rel == 0 ? o < 0 : rel == 1 ? o <= 0 : rel == 2 ? o > 0 : o >= 0);
    }
}

static int check_logic(const kd_desc *d) {
    if (d->noperands != 2 || d->out.dtype != KD_BOOL || d->in[0].dtype != KD_BOOL || d->in[1].dtype != KD_BOOL)
        return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] > 2) return KD_EATTR;
    return kd_check_bcast_shapes(d, 2, 0);
}

static void run_logic(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_bcast w;
    kd_bcast_init(&w, d, 2);
    const uint8_t *a = in[0], *b = in[1];
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++, kd_bcast_next(&w)) {
        int x = a[w.off[0]] != 0, z = b[w.off[1]] != 0;
        y[i] = (uint8_t)(d->ia[0] == 0 ? x && z : d->ia[0] == 1 ? x || z : x != z);
    }
}

static int check_isnaninf(const kd_desc *d) {
    if (d->noperands != 1 || d->in[0].dtype != KD_F32 || d->out.dtype != KD_BOOL || d->out.rank != d->in[0].rank)
        return KD_ESHAPE;
    for (unsigned i = 0; i < d->out.rank; i++)
        if (d->out.dims[i] != d->in[0].dims[i]) return KD_ESHAPE;
    if ((uint32_t)d->ia[0] > 1 || (uint32_t)d->ia[1] > 1 || (uint32_t)d->ia[2] > 1 || (!d->ia[0] && (d->ia[1] || d->ia[2])))
        return KD_EATTR;
    return KD_OK;
}

static void run_isnaninf(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = kf_bits(x[i]);
        if (!d->ia[0]) y[i] = kf_isnan(x[i]);
        else y[i] = (uint8_t)((u == 0xFF800000u && d->ia[1]) || (u == 0x7F800000u && d->ia[2]));
    }
}

const kernel_op kop_compare = {"Compare", check_compare, NULL, run_compare, KD_IA(1), 0};
const kernel_op kop_logic = {"Logic", check_logic, NULL, run_logic, KD_IA(1), 0};
const kernel_op kop_isnaninf = {"IsNaNInf", check_isnaninf, NULL, run_isnaninf, KD_IA(3), 0};
