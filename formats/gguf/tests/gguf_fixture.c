/* gguf_fixture.c: see gguf_fixture.h. */
#include "gguf_fixture.h"

#include "gguf_file.h"

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
    uint64_t u64 = 0xFFFFFFFFFFFFFFFFull;
    int64_t i64 = -9;
    double f64 = 2.25;
    gb_kv_scalar(b, "t.u8", GGUF_TYPE_UINT8, &u8, 1);
    gb_kv_scalar(b, "t.i8", GGUF_TYPE_INT8, &i8, 1);
    gb_kv_scalar(b, "t.u16", GGUF_TYPE_UINT16, &u16, 2);
    gb_kv_scalar(b, "t.i16", GGUF_TYPE_INT16, &i16, 2);
    gb_kv_scalar(b, "t.i32", GGUF_TYPE_INT32, &i32, 4);
    gb_kv_f32(b, "t.f32", 1.5f);
    gb_kv_bool(b, "t.bool", 1);
    gb_kv_scalar(b, "t.u64", GGUF_TYPE_UINT64, &u64, 8);
    gb_kv_scalar(b, "t.i64", GGUF_TYPE_INT64, &i64, 8);
    gb_kv_scalar(b, "t.f64", GGUF_TYPE_FLOAT64, &f64, 8);
    gb_kv_arr(b, "t.strs", GGUF_TYPE_STRING, 3);
    gb_str(b, "x");
    gb_str(b, "yy");
    gb_str(b, "");
    float f32s[2] = {0.5f, -1.0f};
    gb_kv_arr(b, "t.f32s", GGUF_TYPE_FLOAT32, 2);
    gb_bytes(b, f32s, sizeof f32s);
    uint64_t ne_w[2] = {32, 2}, ne_n[1] = {4};
    gb_tensor(b, "w", 2, ne_w, GGUF_T_Q8_0, 0);
    gb_tensor(b, "n", 1, ne_n, GGUF_T_F32, 96);
    gb_pad(b, 32);
    uint8_t data[96 + 16];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i % 251);
    gb_bytes(b, data, sizeof data);
}
