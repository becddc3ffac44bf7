/* kvappend.c: OP_KVAPPEND, the key/value cache of causal self-attention as graph values. A
 * decoding step takes the caches as graph inputs and returns the updated ones as node outputs, so
 * the cache is committed like every other value. Operands: 0 cache f32 [S, Hkv, Dh]; 1 new f32
 * [T, Hkv, Dh]; 2 pos int32, one element. Output: the cache with rows pos .. pos+T-1 replaced by
 * the new rows, bytes moved unchanged. A position that does not fit (pos < 0 or pos + T > S)
 * leaves the cache unchanged (and OP_ATTENTION then answers NaN for that position). */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *c = &d->in[0], *n = &d->in[1], *p = &d->in[2];
    if (d->noperands != 3 || c->dtype != KD_F32 || c->rank != 3 || !kd_same(c, &d->out) || n->dtype != KD_F32 ||
        n->rank != 3 || n->dims[1] != c->dims[1] || n->dims[2] != c->dims[2] || n->dims[0] > c->dims[0] ||
        p->dtype != KD_I32 || kd_numel(p) != 1)
        return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    int32_t pos = *(const int32_t *)in[2];
    size_t s = d->in[0].dims[0], t = d->in[1].dims[0], row = (size_t)d->in[0].dims[1] * d->in[0].dims[2] * 4;
    memmove(out, in[0], s * row);
    if (pos >= 0 && (size_t)pos <= s && t <= s - (size_t)pos) memcpy((uint8_t *)out + (size_t)pos * row, in[1], t * row);
}

const kernel_op kop_kvappend = {"KVAppend", check, NULL, run, 0, 0};
