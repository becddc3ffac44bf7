/* concat.c: OP_CONCAT, operands 0 .. noperands-1 (1 to 12, same dtype and rank, equal dims but
 * on axis ia[0]) joined along that axis in operand order. Bytes are copied, never changed. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *y = &d->out;
    int32_t axis = d->ia[0];
    if (d->noperands < 1 || axis < 0 || axis >= (int32_t)y->rank) return d->noperands < 1 ? KD_ESHAPE : KD_EATTR;
    uint64_t sum = 0;
    for (unsigned j = 0; j < d->noperands; j++) {
        const kd_tensor *t = &d->in[j];
        if (t->dtype != y->dtype || !kd_elsize(y->dtype) || t->rank != y->rank) return KD_ESHAPE;
        for (unsigned i = 0; i < y->rank; i++)
            if ((int32_t)i != axis && t->dims[i] != y->dims[i]) return KD_ESHAPE;
        sum += t->dims[axis];
    }
    return sum == y->dims[axis] ? KD_OK : KD_ESHAPE;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const kd_tensor *y = &d->out;
    unsigned axis = (unsigned)d->ia[0];
    size_t outer = 1, inner = kd_elsize(y->dtype);
    for (unsigned i = 0; i < y->rank; i++) {
        if (i < axis) outer *= y->dims[i];
        if (i > axis) inner *= y->dims[i];
    }
    uint8_t *dst = out;
    size_t row = (size_t)y->dims[axis] * inner, at = 0;
    for (unsigned j = 0; j < d->noperands; j++) {
        size_t part = (size_t)d->in[j].dims[axis] * inner;
        const uint8_t *src = in[j];
        for (size_t o = 0; o < outer; o++) memcpy(dst + o * row + at, src + o * part, part);
        at += part;
    }
}

const kernel_op kop_concat = {"Concat", check, NULL, run, KD_IA(1), 0};
