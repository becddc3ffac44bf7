/* take.c: OP_TAKE (125), a gather by a flat index map: x (any dtype, any shape), map i32 (any
 * shape) -> y of x's dtype and numel(map) elements (any shape): y[i] = x[map[i]] read as flat
 * row-major, and zero bytes where map[i] is outside [0, numel(x)). Bytes are moved, never
 * changed. The converter builds the map from constant indices, so that ONNX's data-movement
 * operators with constant indices (Tile, DepthToSpace, SpaceToDepth, Trilu, GatherElements,
 * GatherND, Compress, the Scatters, MaxUnpool, ReverseSequence, ...) are each one Take. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *x = &d->in[0], *m = &d->in[1], *y = &d->out;
    if (d->noperands != 2 || x->dtype == KD_NONE || m->dtype != KD_I32 || y->dtype != x->dtype ||
        kd_numel(y) != kd_numel(m))
        return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const uint8_t *x = in[0];
    const int32_t *map = in[1];
    uint8_t *y = out;
    unsigned es = kd_elsize(d->out.dtype);
    size_t n = (size_t)kd_numel(&d->out), nx = (size_t)kd_numel(&d->in[0]);
    for (size_t i = 0; i < n; i++) {
        int32_t j = map[i];
        if (j >= 0 && (size_t)j < nx) memcpy(y + i * es, x + (size_t)j * es, es);
        else memset(y + i * es, 0, es);
    }
}

const kernel_op kop_take = {"Take", check, NULL, run, 0, 0};
