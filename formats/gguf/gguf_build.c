/* gguf_build.c: see gguf_build.h. */
#include "gguf_build.h"

#include "gguf_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gb_bytes(gb *b, const void *p, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 64;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q, b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

void gb_u32(gb *b, uint32_t v) { gb_bytes(b, &v, 4); }
void gb_u64(gb *b, uint64_t v) { gb_bytes(b, &v, 8); }

void gb_strn(gb *b, const char *s, uint64_t len) {
    gb_u64(b, len);
    gb_bytes(b, s, (size_t)len);
}

void gb_str(gb *b, const char *s) { gb_strn(b, s, strlen(s)); }

void gb_pad(gb *b, size_t align) {
    static const uint8_t zero[256];
    size_t n = (align - b->n % align) % align;
    while (n) {
        size_t k = n < sizeof zero ? n : sizeof zero;
        gb_bytes(b, zero, k);
        n -= k;
    }
}

void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_bytes(b, GGUF_MAGIC, 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

static void kv(gb *b, const char *key, uint32_t type) {
    gb_str(b, key);
    gb_u32(b, type);
}

void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    kv(b, key, GGUF_TYPE_UINT32);
    gb_u32(b, v);
}

void gb_kv_f32(gb *b, const char *key, float v) {
    kv(b, key, GGUF_TYPE_FLOAT32);
    gb_bytes(b, &v, 4);
}

void gb_kv_bool(gb *b, const char *key, int v) {
    uint8_t x = v != 0;
    kv(b, key, GGUF_TYPE_BOOL);
    gb_bytes(b, &x, 1);
}

void gb_kv_str(gb *b, const char *key, const char *v) {
    kv(b, key, GGUF_TYPE_STRING);
    gb_str(b, v);
}

void gb_kv_arr(gb *b, const char *key, uint32_t elem_type, uint64_t n) {
    kv(b, key, GGUF_TYPE_ARRAY);
    gb_u32(b, elem_type);
    gb_u64(b, n);
}

void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

void gb_free(gb *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

int gb_write_file(const gb *b, const char *path) {
    if (b->oom) return -1;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(b->p, 1, b->n, f) != b->n;
    return fclose(f) != 0 || bad ? -1 : 0;
}
