/* where.c: OP_WHERE, ONNX's Where: operand 0 the condition (bool), 1 X and 2 Y of the output's
 * dtype (any), all three broadcast (numpy) to the output; y = cond ? x : y element by element
 * (any non-zero condition byte is true). Bytes are moved, never changed. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    if (d->noperands != 3 || d->in[0].dtype != KD_BOOL || d->in[1].dtype != d->out.dtype || d->in[2].dtype != d->out.dtype)
        return KD_ESHAPE;
    return kd_check_bcast_shapes(d, 3, 0);
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_bcast w;
    kd_bcast_init(&w, d, 3);
    const uint8_t *c = in[0], *x = in[1], *yv = in[2];
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out), es = kd_elsize(d->out.dtype);
    for (size_t i = 0; i < n; i++, kd_bcast_next(&w))
        memcpy(y + i * es, c[w.off[0]] ? x + w.off[1] * es : yv + w.off[2] * es, es);
}

const kernel_op kop_where = {"Where", check, NULL, run, 0, 0};
