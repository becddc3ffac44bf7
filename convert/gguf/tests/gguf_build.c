/* gguf_build.c: see gguf_build.h. Allocation failure aborts: these are test helpers. */
#include "gguf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gb_bytes(gb *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

void gb_u32(gb *b, uint32_t v) { gb_bytes(b, &v, 4); }
void gb_u64(gb *b, uint64_t v) { gb_bytes(b, &v, 8); }

void gb_str(gb *b, const char *s) {
    gb_u64(b, strlen(s));
    gb_bytes(b, s, strlen(s));
}

void gb_pad(gb *b, size_t align) {
    static const uint8_t zero[256];
    gb_bytes(b, zero, (align - b->n % align) % align);
}

void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    gb_str(b, key);
    gb_u32(b, 4 /* GGUF_TYPE_UINT32 */);
    gb_u32(b, v);
}

void gb_kv_str(gb *b, const char *key, const char *v) {
    gb_str(b, key);
    gb_u32(b, 8 /* GGUF_TYPE_STRING */);
    gb_str(b, v);
}

void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

static void gb_kv_scalar(gb *b, const char *key, uint32_t type, const void *v, size_t n) {
    gb_str(b, key);
    gb_u32(b, type);
    gb_bytes(b, v, n);
}

void gb_valid(gb *b) {
    gb_header(b, 3, 2, 14);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "general.alignment", 32);
    uint8_t u8 = 200;
    int8_t i8 = -3;
    uint16_t u16 = 65000;
    int16_t i16 = -30000;
    int32_t i32 = -7;
    float f32 = 1.5f;
    uint8_t t = 1;
    uint64_t u64 = 0xFFFFFFFFFFFFFFFFull;
    int64_t i64 = -9;
    double f64 = 2.25;
    gb_kv_scalar(b, "t.u8", 0, &u8, 1);
    gb_kv_scalar(b, "t.i8", 1, &i8, 1);
    gb_kv_scalar(b, "t.u16", 2, &u16, 2);
    gb_kv_scalar(b, "t.i16", 3, &i16, 2);
    gb_kv_scalar(b, "t.i32", 5, &i32, 4);
    gb_kv_scalar(b, "t.f32", 6, &f32, 4);
    gb_kv_scalar(b, "t.bool", 7, &t, 1);
    gb_kv_scalar(b, "t.u64", 10, &u64, 8);
    gb_kv_scalar(b, "t.i64", 11, &i64, 8);
    gb_kv_scalar(b, "t.f64", 12, &f64, 8);
    gb_str(b, "t.strs"); /* array of 3 strings */
    gb_u32(b, 9);
    gb_u32(b, 8);
    gb_u64(b, 3);
    gb_str(b, "x");
    gb_str(b, "yy");
    gb_str(b, "");
    float f32s[2] = {0.5f, -1.0f};
    gb_str(b, "t.f32s"); /* array of 2 f32 */
    gb_u32(b, 9);
    gb_u32(b, 6);
    gb_u64(b, 2);
    gb_bytes(b, f32s, sizeof f32s);
    uint64_t ne_w[2] = {32, 2}, ne_n[1] = {4};
    gb_tensor(b, "w", 2, ne_w, 8 /* Q8_0 */, 0);
    gb_tensor(b, "n", 1, ne_n, 0 /* F32 */, 96);
    gb_pad(b, 32);
    uint8_t data[96 + 16];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i % 251);
    gb_bytes(b, data, sizeof data);
}

void gb_free(gb *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}
