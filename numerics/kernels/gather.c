/* gather.c: OP_GATHER, ONNX's Gather at run time. Operands: 0 data (any dtype, rank r >= 1),
 * 1 indices (int64 or int32, any shape of rank q, r - 1 + q <= 6); ia[0] the axis a (0 <= a < r).
 * Output: data's dtype, dims data[0..a-1] ++ indices' dims ++ data[a+1..r-1]; the block of
 * data at position i of axis a for each index in index order, i = index + dims[a] when the index
 * is negative. An index still outside [0, dims[a]) is data, not a shape: its block is canonical
 * NaN (f32) or zero bytes (other dtypes), never a read outside the tensor. Bytes are moved. */
#include "fmath.h"
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *ix = &d->in[1], *y = &d->out;
    if (d->noperands != 2 || y->dtype != x->dtype || (ix->dtype != KD_I64 && ix->dtype != KD_I32) || x->rank < 1)
        return KD_ESHAPE;
    int32_t a = d->ia[0];
    if (a < 0 || a >= (int32_t)x->rank) return KD_EATTR;
    if (y->rank != x->rank - 1 + ix->rank) return KD_ESHAPE;
    for (unsigned i = 0; i < y->rank; i++) {
        uint32_t want = i < (unsigned)a ? x->dims[i] : i < (unsigned)a + ix->rank ? ix->dims[i - a] : x->dims[i - ix->rank + 1];
        if (y->dims[i] != want) return KD_ESHAPE;
    }
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const kd_tensor *x = &d->in[0], *ix = &d->in[1];
    unsigned a = (unsigned)d->ia[0], es = kd_elsize(x->dtype);
    size_t outer = 1, block = es, n = (size_t)kd_numel(ix), len = x->dims[a];
    for (unsigned i = 0; i < x->rank; i++) {
        if (i < a) outer *= x->dims[i];
        if (i > a) block *= x->dims[i];
    }
    const uint8_t *src = in[0];
    uint8_t *dst = out;
    for (size_t o = 0; o < outer; o++)
        for (size_t t = 0; t < n; t++, dst += block) {
            int64_t j = ix->dtype == KD_I64 ? ((const int64_t *)in[1])[t] : ((const int32_t *)in[1])[t];
            if (j < 0) j += (int64_t)len;
            if (j >= 0 && (uint64_t)j < len) {
                memcpy(dst, src + (o * len + (size_t)j) * block, block);
            } else if (x->dtype == KD_F32) {
                for (size_t e = 0; e < block / 4; e++) ((float *)dst)[e] = kf_from_bits(KF_CANON_NAN);
            } else {
                memset(dst, 0, block);
            }
        }
}

const kernel_op kop_gather = {"Gather", check, NULL, run, KD_IA(1), 0};
