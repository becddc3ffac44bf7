/* The GGUF reader: the shared model files read with every key and tensor as llama.cpp's converter
 * wrote them; a hand-made file with every value type read back exactly; and hostile files, each
 * broken in one place (every truncation, one-byte corruptions, huge counts and lengths, bad types,
 * bad alignment, tensors unaligned, out of the file or overlapping), each refused with a message
 * naming the problem and never a crash (this test runs under ASan/UBSan).
 * Usage: test_gguf_file MODELS_DIR
 *        test_gguf_file --write-seeds DIR   (writes the fuzz corpus's seed files: tests/corpus) */
#include "check.h"
#include "gguf_fixture.h"
#include "gguf_file.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char err[512];

/* parse must fail with a message containing want */
#define CHECK_REFUSED(buf, len, want)                                                                                \
    do {                                                                                                              \
        gguf_file g_;                                                                                                 \
        err[0] = 0;                                                                                                   \
        int rc_ = gguf_parse((buf), (len), &g_, err, sizeof err);                                                     \
        CHECK_EQ_INT(rc_, -1);                                                                                        \
        if (rc_ == 0) gguf_close(&g_);                                                                                \
        if (!strstr(err, (want))) {                                                                                   \
            check_failures++;                                                                                         \
            fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, err, (want));                     \
        }                                                                                                             \
    } while (0)

static void check_shared(const char *dir, const char *file, int quantized) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    gguf_file g;
    if (gguf_open(path, &g, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(g.version, 3);
    CHECK_EQ_INT(g.n_tensors, 39);
    CHECK_EQ_INT(g.alignment, 32);
    gguf_str s;
    CHECK_EQ_INT(gguf_get_str(&g, "general.architecture", &s, err, sizeof err), 0);
    CHECK(s.len == 5 && memcmp(s.p, "llama", 5) == 0);
    CHECK_EQ_INT(gguf_get_str(&g, "tokenizer.ggml.model", &s, err, sizeof err), 0);
    CHECK(s.len == 5 && memcmp(s.p, "llama", 5) == 0);
    static const struct {
        const char *key;
        uint64_t v;
    } u[] = {{"llama.block_count", 4},          {"llama.context_length", 256},
             {"llama.embedding_length", 256},   {"llama.feed_forward_length", 704},
             {"llama.attention.head_count", 8}, {"llama.attention.head_count_kv", 8},
             {"llama.rope.dimension_count", 32}, {"tokenizer.ggml.bos_token_id", 1},
             {"tokenizer.ggml.eos_token_id", 2}, {"tokenizer.ggml.unknown_token_id", 0}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        uint64_t v = 99;
        CHECK_EQ_INT(gguf_get_uint(&g, u[i].key, UINT32_MAX, &v, err, sizeof err), 0);
        CHECK_EQ_INT(v, u[i].v);
    }
    double f;
    CHECK_EQ_INT(gguf_get_float(&g, "llama.rope.freq_base", &f, err, sizeof err), 0);
    CHECK(f == 10000.0);
    CHECK_EQ_INT(gguf_get_float(&g, "llama.attention.layer_norm_rms_epsilon", &f, err, sizeof err), 0);
    CHECK(f == (double)1e-5f);
    int add_bos = 0;
    CHECK_EQ_INT(gguf_get_bool(&g, "tokenizer.ggml.add_bos_token", &add_bos, err, sizeof err), 0);
    CHECK_EQ_INT(add_bos, 1);
    const gguf_kv *tok, *scores, *types;
    CHECK_EQ_INT(gguf_get_arr(&g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tok, err, sizeof err), 0);
    CHECK_EQ_INT(gguf_get_arr(&g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &scores, err, sizeof err), 0);
    CHECK_EQ_INT(gguf_get_arr(&g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &types, err, sizeof err), 0);
    CHECK_EQ_INT(tok->n, 1000);
    CHECK_EQ_INT(scores->n, 1000);
    CHECK_EQ_INT(types->n, 1000);
    s = gguf_val_str(tok, 0);
    CHECK(s.len == 5 && memcmp(s.p, "<unk>", 5) == 0);
    s = gguf_val_str(tok, 3); /* byte fallback tokens follow the three specials */
    CHECK(s.len == 6 && memcmp(s.p, "<0x00>", 6) == 0);
    int64_t ty;
    CHECK(gguf_val_int(types, 0, &ty) == 0 && ty == 2); /* unknown */
    CHECK(gguf_val_int(types, 3, &ty) == 0 && ty == 6); /* byte */
    CHECK_EQ_INT(gguf_get_arr(&g, "tokenizer.ggml.tokens", GGUF_TYPE_INT32, &types, err, sizeof err), -1);
    CHECK(strstr(err, "not an array of i32") != NULL);

    /* tensors: the names llama.cpp's llama architecture uses, shapes of the JSON, byte sizes */
    const gguf_tensor *t = gguf_find_tensor(&g, "token_embd.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 256 && t->ne[1] == 1000);
    if (t) CHECK_EQ_INT(t->type, quantized ? GGUF_T_Q8_0 : GGUF_T_F32);
    if (t) CHECK_EQ_INT(t->nbytes, quantized ? 1000 * 8 * GGUF_Q8_0_BYTES : 256 * 1000 * 4);
    t = gguf_find_tensor(&g, "blk.3.ffn_down.weight");
    CHECK(t && t->ne[0] == 704 && t->ne[1] == 256);
    t = gguf_find_tensor(&g, "output_norm.weight");
    CHECK(t && t->type == GGUF_T_F32 && t->n_dims == 1 && t->ne[0] == 256 && t->nbytes == 1024);
    CHECK(gguf_find_tensor(&g, "output.weight") != NULL);
    CHECK(gguf_find_tensor(&g, "blk.4.attn_q.weight") == NULL);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *x = &g.tensors[i];
        CHECK(gguf_find_tensor(&g, x->name) == x);
        CHECK(x->data == g.base + g.data_offset + x->offset);
        CHECK(((uintptr_t)x->data % 32) == 0);
        sum += x->nbytes;
    }
    /* the data section holds the tensors and their padding only */
    CHECK(sum <= g.size - g.data_offset && g.size - g.data_offset - sum < 32 * g.n_tensors);
    gguf_close(&g);
}

static void check_valid(void) {
    gb b = {0};
    gb_valid(&b);
    gguf_file g;
    CHECK_EQ_INT(gguf_parse(b.p, b.n, &g, err, sizeof err), 0);
    CHECK_EQ_INT(g.n_kv, 14);
    uint64_t u;
    int64_t i;
    double f;
    int bo;
    gguf_str s;
    CHECK(gguf_get_uint(&g, "t.u8", 255, &u, err, sizeof err) == 0 && u == 200);
    CHECK(gguf_get_uint(&g, "t.u8", 199, &u, err, sizeof err) == -1 && strstr(err, "above 199"));
    CHECK(gguf_get_int(&g, "t.i8", &i, err, sizeof err) == 0 && i == -3);
    CHECK(gguf_get_uint(&g, "t.i8", 255, &u, err, sizeof err) == -1 && strstr(err, "negative"));
    CHECK(gguf_get_uint(&g, "t.u16", UINT64_MAX, &u, err, sizeof err) == 0 && u == 65000);
    CHECK(gguf_get_int(&g, "t.i16", &i, err, sizeof err) == 0 && i == -30000);
    CHECK(gguf_get_int(&g, "t.i32", &i, err, sizeof err) == 0 && i == -7);
    CHECK(gguf_get_uint(&g, "general.alignment", UINT32_MAX, &u, err, sizeof err) == 0 && u == 32);
    CHECK(gguf_get_float(&g, "t.f32", &f, err, sizeof err) == 0 && f == 1.5);
    CHECK(gguf_get_float(&g, "t.f64", &f, err, sizeof err) == 0 && f == 2.25);
    CHECK(gguf_get_bool(&g, "t.bool", &bo, err, sizeof err) == 0 && bo == 1);
    CHECK(gguf_get_uint(&g, "t.u64", UINT64_MAX, &u, err, sizeof err) == 0 && u == UINT64_MAX);
    CHECK(gguf_get_int(&g, "t.u64", &i, err, sizeof err) == -1 && strstr(err, "does not fit int64"));
    CHECK(gguf_get_int(&g, "t.i64", &i, err, sizeof err) == 0 && i == -9);
    CHECK(gguf_get_str(&g, "t.i64", &s, err, sizeof err) == -1 && strstr(err, "'t.i64' is a i64, not a string"));
    CHECK(gguf_get_float(&g, "t.strs", &f, err, sizeof err) == -1 && strstr(err, "is an array, not a float"));
    CHECK(gguf_get_bool(&g, "no.such", &bo, err, sizeof err) == -1 && strstr(err, "missing key 'no.such'"));
    const gguf_kv *a;
    CHECK_EQ_INT(gguf_get_arr(&g, "t.strs", GGUF_TYPE_STRING, &a, err, sizeof err), 0);
    CHECK_EQ_INT(a->n, 3);
    s = gguf_val_str(a, 1);
    CHECK(s.len == 2 && memcmp(s.p, "yy", 2) == 0);
    CHECK_EQ_INT(gguf_val_str(a, 2).len, 0);
    CHECK_EQ_INT(gguf_get_arr(&g, "t.f32s", GGUF_TYPE_FLOAT32, &a, err, sizeof err), 0);
    CHECK(a->n == 2 && gguf_val_f32(a, 1) == -1.0f && gguf_val_f64(a, 0) == 0.5);
    CHECK(gguf_val_raw(a, 1).len == 4);
    const gguf_tensor *w = gguf_find_tensor(&g, "w"), *n = gguf_find_tensor(&g, "n");
    CHECK(w && w->type == GGUF_T_Q8_0 && w->nbytes == 68 && w->nelem == 64 && w->data == b.p + g.data_offset);
    CHECK(n && n->type == GGUF_T_F32 && n->nbytes == 16 && n->data[0] == 96);
    CHECK(strcmp(gguf_ggml_type_name(GGUF_T_Q4_K), "Q4_K") == 0 && gguf_ggml_type_name(4) == NULL);
    gguf_close(&g);

    /* every truncation is refused (the file ends with the last tensor's bytes) */
    for (size_t len = 0; len < b.n; len++) {
        err[0] = 0;
        if (gguf_parse(b.p, len, &g, err, sizeof err) == 0) {
            gguf_close(&g);
            CHECK(0);
            fprintf(stderr, "truncation to %zu bytes accepted\n", len);
        }
        CHECK(strncmp(err, "gguf: ", 6) == 0 && strlen(err) > 8);
    }
    /* every byte set to 0xFF or 0x80 in turn: accepted or refused, never a crash; anything accepted
     * still has its tensors inside the buffer */
    uint8_t *copy = malloc(b.n);
    for (size_t k = 0; k < b.n; k++)
        for (int v = 0; v < 2; v++) {
            memcpy(copy, b.p, b.n);
            copy[k] = v ? 0xFF : 0x80;
            if (gguf_parse(copy, b.n, &g, err, sizeof err) == 0) {
                for (uint64_t j = 0; j < g.n_tensors; j++)
                    CHECK(g.tensors[j].data + g.tensors[j].nbytes <= copy + b.n);
                gguf_close(&g);
            }
        }
    free(copy);
    gb_free(&b);
}

/* patch a u32/u64 of the valid file at a byte offset */
static void check_header(void) {
    gb b = {0};
    gb_valid(&b);
    uint8_t *c = malloc(b.n);
    uint32_t v32;
    uint64_t v64;
#define PATCHED(off, val, want)                                                                                       \
    do {                                                                                                              \
        memcpy(c, b.p, b.n);                                                                                          \
        memcpy(c + (off), &(val), sizeof(val));                                                                       \
        CHECK_REFUSED(c, b.n, want);                                                                                  \
    } while (0)
    v32 = 0x46554742; /* "BGUF" */
    PATCHED(0, v32, "no \"GGUF\" magic");
    v32 = 1;
    PATCHED(4, v32, "version 1");
    v32 = 4;
    PATCHED(4, v32, "version 4");
    v64 = 1ull << 62;
    PATCHED(8, v64, "tensor infos cannot fit");
    PATCHED(16, v64, "key/values cannot fit");
    v64 = UINT64_MAX;
    PATCHED(16, v64, "key/values cannot fit");
    PATCHED(24, v64, "key runs past the end"); /* the first key's length */
    v64 = 15; /* n_kv one too many: a tensor info read as a key/value */
    PATCHED(16, v64, "gguf: ");
    CHECK_REFUSED(b.p, 10, "header truncated");
    CHECK_REFUSED(b.p, 3, "no \"GGUF\" magic");
    /* the first value's type (after the 8-byte length and 20-byte key "general.architecture") */
    v32 = 13;
    PATCHED(24 + 8 + 20, v32, "unknown value type 13");
    v32 = GGUF_TYPE_ARRAY; /* string "llama" read as an array header: elem type 5 (len low half) */
    PATCHED(24 + 8 + 20, v32, "key 'general.architecture'");
    free(c);
    gb_free(&b);
}

/* one key/value (key, then raw value bytes) and no tensors */
static void one_kv(gb *b, const char *key, uint32_t type, const void *val, size_t n) {
    gb_header(b, 3, 0, 1);
    gb_str(b, key);
    gb_u32(b, type);
    gb_bytes(b, val, n);
}

static void check_values(void) {
    gb b = {0};
    uint8_t raw[64] = {0};
    /* an array header: elem type, count */
    struct {
        uint32_t elem;
        uint64_t n;
    } __attribute__((packed)) ah;

    one_kv(&b, "k", GGUF_TYPE_UINT8, raw, 1);
    gguf_file g;
    CHECK_EQ_INT(gguf_parse(b.p, b.n, &g, err, sizeof err), 0); /* a file of metadata only is fine */
    if (g.base) gguf_close(&g);
    gb_free(&b);

    static const struct {
        uint32_t elem;
        uint64_t n;
        const char *want;
    } arrays[] = {{GGUF_TYPE_ARRAY, 1, "arrays of arrays"},
                  {200, 1, "unknown array element type 200"},
                  {GGUF_TYPE_UINT8, 1ull << 60, "values of type u8 run past the end"},
                  {GGUF_TYPE_UINT64, UINT64_MAX / 8 + 2, "values of type u64 run past the end"}, /* n * 8 wraps */
                  {GGUF_TYPE_STRING, 1ull << 61, "strings cannot fit"}};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        ah.elem = arrays[k].elem, ah.n = arrays[k].n;
        one_kv(&b, "k", GGUF_TYPE_ARRAY, &ah, sizeof ah);
        CHECK_REFUSED(b.p, b.n, arrays[k].want);
        gb_free(&b);
    }
    ah.elem = GGUF_TYPE_STRING, ah.n = 2;
    one_kv(&b, "k", GGUF_TYPE_ARRAY, &ah, sizeof ah);
    gb_str(&b, "ok");
    gb_u64(&b, UINT64_MAX - 3);
    gb_bytes(&b, raw, 16);
    CHECK_REFUSED(b.p, b.n, "string 1 of 2 runs past the end");
    gb_free(&b);
    uint64_t huge = UINT64_MAX;
    one_kv(&b, "k", GGUF_TYPE_STRING, &huge, 8);
    CHECK_REFUSED(b.p, b.n, "string value past the end");
    gb_free(&b);
    one_kv(&b, "", GGUF_TYPE_UINT8, raw, 2); /* a spare byte: 13 bytes cannot hold a key/value */
    CHECK_REFUSED(b.p, b.n, "empty key");
    gb_free(&b);
    gb_header(&b, 3, 0, 1);
    gb_u64(&b, 3);
    gb_bytes(&b, "a\0b", 3);
    gb_u32(&b, GGUF_TYPE_UINT8);
    gb_bytes(&b, raw, 1);
    CHECK_REFUSED(b.p, b.n, "NUL byte");
    gb_free(&b);
    one_kv(&b, "k", GGUF_TYPE_FLOAT64, raw, 7);
    CHECK_REFUSED(b.p, b.n, "run past the end");
    gb_free(&b);

    gb_header(&b, 2, 0, 3); /* version 2 reads the same */
    gb_kv_u32(&b, "a", 1);
    gb_kv_u32(&b, "b", 2);
    gb_kv_u32(&b, "a", 3);
    CHECK_REFUSED(b.p, b.n, "duplicate key 'a'");
    gb_free(&b);
    static const uint32_t aligns[] = {0, 48, 0x80000001u};
    for (int k = 0; k < 3; k++) {
        gb_header(&b, 3, 0, 1);
        gb_kv_u32(&b, "general.alignment", aligns[k]);
        CHECK_REFUSED(b.p, b.n, "is not a power of two");
        gb_free(&b);
    }
    uint64_t a64 = 32;
    one_kv(&b, "general.alignment", GGUF_TYPE_UINT64, &a64, 8);
    CHECK_REFUSED(b.p, b.n, "general.alignment is a u64, not a u32");
    gb_free(&b);
}

typedef struct tspec {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;
    uint64_t offset;
} tspec;

/* general.alignment = align, n tensor infos, padding, then data_len bytes of data */
static void tensors_file(gb *b, uint32_t align, const tspec *t, int n, size_t data_len) {
    gb_header(b, 3, (uint64_t)n, 1);
    gb_kv_u32(b, "general.alignment", align);
    for (int i = 0; i < n; i++) gb_tensor(b, t[i].name, t[i].n_dims, t[i].ne, t[i].type, t[i].offset);
    gb_pad(b, align);
    for (size_t i = 0; i < data_len; i++) gb_bytes(b, "\x5a", 1);
}

#define TENSORS_REFUSED(align, data_len, want, ...)                                                                   \
    do {                                                                                                              \
        tspec ts_[] = {__VA_ARGS__};                                                                                  \
        gb b_ = {0};                                                                                                  \
        tensors_file(&b_, (align), ts_, (int)(sizeof ts_ / sizeof ts_[0]), (data_len));                               \
        CHECK_REFUSED(b_.p, b_.n, want);                                                                              \
        gb_free(&b_);                                                                                                 \
    } while (0)

static void check_tensors(void) {
    /* the accepted baseline: two F32 tensors of 64 bytes, alignment 64, an empty one in between */
    tspec ok[] = {{"a", 1, {16}, GGUF_T_F32, 0}, {"z", 2, {0, 5}, GGUF_T_F32, 64}, {"b", 1, {16}, GGUF_T_F32, 64}};
    gb b = {0};
    tensors_file(&b, 64, ok, 3, 128);
    gguf_file g;
    CHECK_EQ_INT(gguf_parse(b.p, b.n, &g, err, sizeof err), 0);
    if (g.base) {
        CHECK_EQ_INT(g.data_offset % 64, 0);
        CHECK(gguf_find_tensor(&g, "z") && gguf_find_tensor(&g, "z")->nbytes == 0);
        gguf_close(&g);
    }
    gb_free(&b);
    char long_name[65];
    memset(long_name, 'x', 64);
    long_name[64] = 0;

    TENSORS_REFUSED(32, 64, "name of 0 bytes", {"", 1, {16}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 64, "name of 64 bytes", {long_name, 1, {16}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 128, "duplicate tensor name 'a'", {"a", 1, {16}, GGUF_T_F32, 0},
                    {"a", 1, {16}, GGUF_T_F32, 64});
    TENSORS_REFUSED(32, 64, "5 dimensions (at most 4)", {"a", 5, {1, 1, 1, 1}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 64, "element count overflows int64", {"a", 2, {1ull << 32, 1ull << 32}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 64, "element count overflows int64", {"a", 1, {1ull << 63}, 24 /* I8 */, 0});
    TENSORS_REFUSED(32, 64, "byte size overflows", {"a", 2, {1ull << 31, 1ull << 31}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 64, "not a multiple of Q8_0's block of 32", {"a", 1, {33}, GGUF_T_Q8_0, 0});
    TENSORS_REFUSED(32, 64, "unknown ggml type 4", {"a", 1, {16}, 4, 0});
    TENSORS_REFUSED(32, 64, "unknown ggml type 40", {"a", 1, {16}, 40, 0});
    TENSORS_REFUSED(32, 64, "unknown ggml type 4294967295", {"a", 1, {16}, 0xFFFFFFFFu, 0});
    TENSORS_REFUSED(32, 128, "offset 16 is not a multiple of the alignment 32", {"a", 1, {16}, GGUF_T_F32, 16});
    TENSORS_REFUSED(32, 64, "run past the data section", {"a", 1, {16}, GGUF_T_F32, 32});
    TENSORS_REFUSED(32, 64, "run past the data section", {"a", 1, {17}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 64, "run past the data section", {"a", 1, {16}, GGUF_T_F32, UINT64_MAX - 31});
    TENSORS_REFUSED(32, 64, "run past the data section", {"a", 1, {1ull << 40}, GGUF_T_F32, 0});
    TENSORS_REFUSED(32, 128, "tensors 'a' and 'b' overlap", {"a", 1, {16}, GGUF_T_F32, 0},
                    {"b", 1, {16}, GGUF_T_F32, 32});
    TENSORS_REFUSED(32, 128, "overlap", {"b", 1, {16}, GGUF_T_F32, 32}, {"a", 1, {16}, GGUF_T_F32, 32});
    /* an empty tensor between two overlapping ones does not hide the overlap */
    TENSORS_REFUSED(32, 256, "tensors 'a' and 'b' overlap", {"a", 1, {32}, GGUF_T_F32, 0},
                    {"z", 1, {0}, GGUF_T_F32, 32}, {"b", 1, {16}, GGUF_T_F32, 64});
    /* a tensor inside another one */
    TENSORS_REFUSED(32, 256, "overlap", {"a", 1, {64}, GGUF_T_F32, 0}, {"b", 1, {8}, GGUF_T_F32, 96});

    /* the data section would start past the end of the file: a header of 90 bytes and nothing after */
    gb_header(&b, 3, 1, 1);
    gb_kv_u32(&b, "general.alignment", 32);
    gb_tensor(&b, "a", 1, (const uint64_t[]){16}, GGUF_T_F32, 0);
    CHECK_EQ_INT(b.n, 90);
    CHECK_REFUSED(b.p, b.n, "data section at 96 starts past the end of the 90-byte file");
    gb_free(&b);
}

static void check_open(const char *dir) {
    gguf_file g;
    CHECK_EQ_INT(gguf_open("/nonexistent/model.gguf", &g, err, sizeof err), -1);
    CHECK(strstr(err, "cannot open /nonexistent/model.gguf") != NULL);
    CHECK_EQ_INT(gguf_open(dir, &g, err, sizeof err), -1);
    CHECK(strstr(err, "not a regular file") != NULL);
    char path[] = "/tmp/test_gguf_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(gguf_open(path, &g, err, sizeof err), -1); /* empty */
    CHECK(strstr(err, "not a GGUF file") != NULL);
    CHECK_EQ_INT(write(fd, "GGUF\3\0\0\0", 8), 8);
    CHECK_EQ_INT(gguf_open(path, &g, err, sizeof err), -1);
    CHECK(strstr(err, path) && strstr(err, "header truncated"));
    close(fd);
    unlink(path);
    gguf_close(&g); /* harmless on a failed open */
}

static void write_file(const char *dir, const char *name, const gb *b) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (gb_write_file(b, path) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* Seeds: the every-type file, tensors with an empty one, metadata only. */
static int write_seeds(const char *dir) {
    gb b = {0};
    gb_valid(&b);
    write_file(dir, "seed_all_types.gguf", &b);
    gb_free(&b);
    tspec ts[] = {{"a", 1, {16}, GGUF_T_F32, 0}, {"z", 2, {0, 5}, GGUF_T_F32, 64}, {"q", 2, {32, 1}, GGUF_T_Q8_0, 64}};
    tensors_file(&b, 64, ts, 3, 128);
    write_file(dir, "seed_tensors.gguf", &b);
    gb_free(&b);
    gb_header(&b, 2, 0, 2);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_u32(&b, "llama.context_length", 256);
    write_file(dir, "seed_metadata_v2.gguf", &b);
    gb_free(&b);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODELS_DIR\n", argv[0]);
        return 2;
    }
    check_shared(argv[1], "tinyllama_fortunes-f32.gguf", 0);
    check_shared(argv[1], "tinyllama_fortunes-q8_0.gguf", 1);
    check_valid();
    check_header();
    check_values();
    check_tensors();
    check_open(argv[1]);
    return check_summary("test_gguf_file");
}
