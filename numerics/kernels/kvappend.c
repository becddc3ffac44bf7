/* kvappend.c: OP_KVAPPEND, the key/value cache of causal self-attention as graph values. A
 * decoding step takes the caches as graph inputs and returns the updated ones as node outputs, so
 * the cache is committed like every other value. Operands: 0 cache [S, Hkv, Dh], f32 or Q8_0; 1 new
 * f32 [T, Hkv, Dh]; 2 pos int32, one element. Output: the cache with rows pos .. pos+T-1 replaced
 * by the new rows: their bytes (f32 cache), or the rows quantized per block of 32 with the Q8_0
 * activation rule (kq8_quantize_block; a Q8_0 cache, Dh a multiple of 32). Other rows are moved
 * unchanged. A position that does not fit (pos < 0 or pos + T > S) leaves the cache unchanged
 * (and OP_ATTENTION then answers NaN for that position). The output may be the cache operand
 * itself (an engine appending in place): then only the new rows are written. */
#include "ops.h"
#include "q8.h"

#include <string.h>

static int check(const kd_desc *d) {
    const kd_tensor *c = &d->in[0], *n = &d->in[1], *p = &d->in[2];
    if (d->noperands != 3 || (c->dtype != KD_F32 && c->dtype != KD_Q8_0) || c->rank != 3 || !kd_same(c, &d->out) ||
        n->dtype != KD_F32 || n->rank != 3 || n->dims[1] != c->dims[1] || n->dims[2] != c->dims[2] ||
        n->dims[0] > c->dims[0] || p->dtype != KD_I32 || kd_numel(p) != 1)
        return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    int32_t pos = *(const int32_t *)in[2];
    const kd_tensor *c = &d->in[0];
    size_t s = c->dims[0], t = d->in[1].dims[0], vals = (size_t)c->dims[1] * c->dims[2];
    size_t row = c->dtype == KD_Q8_0 ? vals / KD_Q8_BLOCK * KD_Q8_BYTES : vals * 4;
    if (out != in[0]) memmove(out, in[0], s * row);
    if (pos < 0 || (size_t)pos > s || t > s - (size_t)pos) return;
    uint8_t *dst = (uint8_t *)out + (size_t)pos * row;
    if (c->dtype == KD_F32) {
        memcpy(dst, in[1], t * row);
        return;
    }
    const float *x = in[1];
    for (size_t b = 0; b < t * vals / KD_Q8_BLOCK; b++, x += KD_Q8_BLOCK, dst += KD_Q8_BYTES) {
        uint16_t h = kq8_quantize_block(x, (int8_t *)(dst + 2));
        dst[0] = (uint8_t)h, dst[1] = (uint8_t)(h >> 8);
    }
}

const kernel_op kop_kvappend = {"KVAppend", check, NULL, run, 0, 0};
