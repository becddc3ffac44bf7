/* rlp.c: see rlp.h. */
#include "rlp.h"

#include <stdlib.h>
#include <string.h>

static int reserve(rlp_buf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void rlp_raw(rlp_buf *b, const uint8_t *data, size_t len) {
    if (reserve(b, len)) return;
    if (len) memcpy(b->p + b->len, data, len);
    b->len += len;
}

/* The header of a payload of len bytes with short-form base 0x80 (strings) or 0xc0 (lists). */
static size_t header(uint8_t out[9], uint8_t base, size_t len) {
    if (len < 56) {
        out[0] = (uint8_t)(base + len);
        return 1;
    }
    int n = 0;
    for (size_t l = len; l; l >>= 8) n++;
    out[0] = (uint8_t)(base + 55 + n);
    for (int i = 0; i < n; i++) out[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    return 1 + (size_t)n;
}

void rlp_bytes(rlp_buf *b, const uint8_t *data, size_t len) {
    if (len == 1 && data[0] < 0x80) {
        rlp_raw(b, data, 1);
        return;
    }
    uint8_t h[9];
    rlp_raw(b, h, header(h, 0x80, len));
    rlp_raw(b, data, len);
}

void rlp_uint(rlp_buf *b, uint64_t v) {
    u256 x;
    u256_from_u64(&x, v);
    rlp_u256(b, &x);
}

void rlp_u256(rlp_buf *b, const u256 *v) {
    size_t i = 0;
    while (i < 32 && v->b[i] == 0) i++;
    rlp_bytes(b, v->b + i, 32 - i);
}

size_t rlp_list_begin(rlp_buf *b) { return b->len; }

void rlp_list_end(rlp_buf *b, size_t mark) {
    if (b->oom) return;
    uint8_t h[9];
    size_t hl = header(h, 0xc0, b->len - mark);
    if (reserve(b, hl)) return;
    memmove(b->p + mark + hl, b->p + mark, b->len - mark);
    memcpy(b->p + mark, h, hl);
    b->len += hl;
}

void rlp_buf_free(rlp_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

size_t rlp_decode(const uint8_t *in, size_t len, rlp_item *out) {
    if (len == 0) return 0;
    uint8_t p = in[0];
    if (p < 0x80) {
        out->data = in;
        out->len = 1;
        out->is_list = 0;
        return 1;
    }
    int list = p >= 0xc0;
    uint8_t base = list ? 0xc0 : 0x80;
    size_t hl, pl;
    if (p - base < 56) {
        hl = 1;
        pl = (size_t)(p - base);
        if (!list && pl == 1 && (len < 2 || in[1] < 0x80)) return 0; /* single byte must stand alone */
    } else {
        size_t n = (size_t)(p - base - 55);
        if (n > sizeof(size_t) || len < 1 + n || in[1] == 0) return 0; /* no leading zero in the length */
        pl = 0;
        for (size_t i = 0; i < n; i++) pl = pl << 8 | in[1 + i];
        if (pl < 56) return 0; /* should have used the short form */
        hl = 1 + n;
    }
    if (pl > len - hl) return 0;
    out->data = in + hl;
    out->len = pl;
    out->is_list = list;
    return hl + pl;
}

int rlp_next(rlp_item *list, rlp_item *out) {
    if (list->len == 0) return 0;
    size_t n = rlp_decode(list->data, list->len, out);
    if (!n) return -1;
    list->data += n;
    list->len -= n;
    return 1;
}

int rlp_to_u256(const rlp_item *it, u256 *v) {
    if (it->is_list || it->len > 32 || (it->len > 0 && it->data[0] == 0)) return -1;
    memset(v->b, 0, 32);
    memcpy(v->b + 32 - it->len, it->data, it->len);
    return 0;
}

int rlp_to_uint(const rlp_item *it, uint64_t *v) {
    u256 x;
    if (it->len > 8 || rlp_to_u256(it, &x)) return -1;
    return u256_to_u64(&x, v);
}
