/* expand.c: OP_EXPAND, ONNX's Expand: one operand of any dtype whose dims, aligned right, equal
 * the output's or are 1, copied to the output's (larger or equal) shape as numpy broadcasts it.
 * Bytes are moved, never changed. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    if (d->noperands != 1 || d->in[0].dtype != d->out.dtype) return KD_ESHAPE;
    return kd_check_bcast_shapes(d, 1, 1);
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_bcast w;
    kd_bcast_init(&w, d, 1);
    const uint8_t *x = in[0];
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out), es = kd_elsize(d->out.dtype);
    for (size_t i = 0; i < n; i++, kd_bcast_next(&w)) memcpy(y + i * es, x + w.off[0] * es, es);
}

const kernel_op kop_expand = {"Expand", check, NULL, run, 0, 0};
