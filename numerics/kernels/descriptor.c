/* descriptor.c: the node descriptor's bytes (kernel.h, docs/model-format.md) to and from kd_desc.
 * Reads byte by byte, so it works at any alignment and on any host endianness. Decoding rejects
 * everything not exactly as the writer produces it (reserved bytes non-zero, dims past the rank,
 * unused operands with a shape), so one descriptor has exactly one byte encoding. */
#include "kernel.h"

#include <string.h>

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

uint64_t kd_numel(const kd_tensor *t) {
    uint64_t n = 1;
    for (unsigned i = 0; i < t->rank && i < KD_MAX_RANK; i++) {
        if (t->dims[i] && n > (UINT64_MAX / 2) / t->dims[i]) return UINT64_MAX / 2;
        n *= t->dims[i];
    }
    return n;
}

unsigned kd_elsize(unsigned dtype) {
    switch (dtype) {
    case KD_F32: case KD_I32: return 4;
    case KD_I8: case KD_BOOL: return 1;
    case KD_I64: return 8;
    default: return 0;
    }
}

uint64_t kd_nbytes(const kd_tensor *t) {
    uint64_t n = kd_numel(t);
    if (t->dtype == KD_Q8_0) return n >= UINT64_MAX / 8 ? UINT64_MAX / 2 : n / KD_Q8_BLOCK * KD_Q8_BYTES;
    unsigned s = kd_elsize(t->dtype);
    return n >= UINT64_MAX / 8 ? UINT64_MAX / 2 : n * s;
}

int kd_decode_tensor(const uint8_t p[28], kd_tensor *t) {
    t->dtype = p[0];
    t->rank = p[1];
    if (rd16(p + 2) != 0 || (t->dtype != KD_NONE && t->dtype != KD_Q8_0 && !kd_elsize(t->dtype)) ||
        t->rank > KD_MAX_RANK)
        return KD_EFORMAT;
    for (unsigned i = 0; i < KD_MAX_RANK; i++) {
        t->dims[i] = rd32(p + 4 + 4 * i);
        if (i >= t->rank && t->dims[i] != 0) return KD_EFORMAT;
    }
    if (t->dtype == KD_NONE && t->rank != 0) return KD_EFORMAT;
    if (t->dtype == KD_Q8_0 && (t->rank < 1 || t->dims[t->rank - 1] % KD_Q8_BLOCK)) return KD_EFORMAT;
    if (kd_nbytes(t) > KD_MAX_TENSOR_BYTES) return KD_EFORMAT;
    return KD_OK;
}

void kd_encode_tensor(uint8_t p[28], const kd_tensor *t) {
    memset(p, 0, 28);
    p[0] = t->dtype;
    p[1] = t->rank;
    for (unsigned i = 0; i < t->rank && i < KD_MAX_RANK; i++) wr32(p + 4 + 4 * i, t->dims[i]);
}

int kd_decode(const uint8_t *buf, size_t len, kd_desc *d) {
    if (len != KD_BYTES || rd32(buf) != KD_MAGIC || rd16(buf + 4) != KD_VERSION) return KD_EFORMAT;
    d->op = rd16(buf + 6);
    d->noperands = buf[8];
    if (d->noperands > KD_MAX_OPERANDS || buf[9] || buf[10] || buf[11]) return KD_EFORMAT;
    if (kd_decode_tensor(buf + 12, &d->out) || d->out.dtype == KD_NONE) return KD_EFORMAT;
    for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) {
        if (kd_decode_tensor(buf + 40 + 28 * j, &d->in[j])) return KD_EFORMAT;
        if (j >= d->noperands && d->in[j].dtype != KD_NONE) return KD_EFORMAT;
    }
    for (unsigned i = 0; i < KD_NIATTR; i++) d->ia[i] = (int32_t)rd32(buf + 376 + 4 * i);
    for (unsigned i = 0; i < KD_NFATTR; i++) {
        uint32_t u = rd32(buf + 440 + 4 * i);
        memcpy(&d->fa[i], &u, 4);
    }
    return KD_OK;
}

void kd_encode(const kd_desc *d, uint8_t out[KD_BYTES]) {
    memset(out, 0, KD_BYTES);
    wr32(out, KD_MAGIC);
    wr16(out + 4, KD_VERSION);
    wr16(out + 6, d->op);
    out[8] = d->noperands;
    kd_encode_tensor(out + 12, &d->out);
    for (unsigned j = 0; j < KD_MAX_OPERANDS; j++)
        if (j < d->noperands) kd_encode_tensor(out + 40 + 28 * j, &d->in[j]);
    for (unsigned i = 0; i < KD_NIATTR; i++) wr32(out + 376 + 4 * i, (uint32_t)d->ia[i]);
    for (unsigned i = 0; i < KD_NFATTR; i++) {
        uint32_t u;
        memcpy(&u, &d->fa[i], 4);
        wr32(out + 440 + 4 * i, u);
    }
}
