/* mkgguf: files of several shapes (grouped-query attention, another rope base, tied output, F32,
 * F16 and Q8_0) read back through the GGUF reader with llama.cpp's names, shapes and metadata;
 * the three types of one seed hold the same model (ggml's reference quantization of the F32 and
 * F16 values gives the Q8_0 file's blocks bit for bit); the same seed gives the same bytes; the
 * vocabulary (512 and LLaMA's 32,000 tokens) builds opml's tokenizer and round-trips text; bad
 * shapes are refused and leave no file. */
#include "check.h"
#include "gguf_file.h"
#include "mkgguf.h"
#include "tok_gguf.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char err[512], dir[] = "/tmp/test_mkgguf_XXXXXX";

static const mkgguf_shape BASE = {2, 64, 4, 4, 128, 512, 128, 10000.0f, 1e-5f, GGUF_T_F32, 0, 7};

static void path_of(const char *name, char *out, size_t n) { snprintf(out, n, "%s/%s", dir, name); }

/* fp16 bits to float, for the normal values and zeros mkgguf writes. */
static float f16_value(uint16_t h) {
    float m = (float)(1024 + (h & 0x3FF));
    int e = (h >> 10) & 0x1F;
    float v = e ? ldexpf(m, e - 25) : 0.0f;
    return h & 0x8000 ? -v : v;
}

static uint64_t u(const gguf_file *g, const char *key) {
    uint64_t v = 0;
    if (gguf_get_uint(g, key, UINT32_MAX, &v, err, sizeof err) != 0) fprintf(stderr, "%s\n", err);
    return v;
}

static void check_layout(const mkgguf_shape *s, const char *path) {
    gguf_file g;
    if (gguf_open(path, &g, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(g.n_tensors, 1 + 9 * s->layers + 1 + !s->tied);
    CHECK_EQ_INT(u(&g, "llama.block_count"), s->layers);
    CHECK_EQ_INT(u(&g, "llama.embedding_length"), s->embd);
    CHECK_EQ_INT(u(&g, "llama.attention.head_count"), s->heads);
    CHECK_EQ_INT(u(&g, "llama.attention.head_count_kv"), s->heads_kv);
    CHECK_EQ_INT(u(&g, "llama.feed_forward_length"), s->ff);
    CHECK_EQ_INT(u(&g, "llama.rope.dimension_count"), s->embd / s->heads);
    double base;
    CHECK(gguf_get_float(&g, "llama.rope.freq_base", &base, err, sizeof err) == 0 && base == s->rope_base);
    uint32_t kv = s->embd / s->heads * s->heads_kv;
    const gguf_tensor *t = gguf_find_tensor(&g, "blk.1.attn_k.weight");
    CHECK(t && t->ne[0] == s->embd && t->ne[1] == kv && t->type == s->type);
    t = gguf_find_tensor(&g, "blk.0.ffn_down.weight");
    CHECK(t && t->ne[0] == s->ff && t->ne[1] == s->embd);
    t = gguf_find_tensor(&g, "blk.0.ffn_norm.weight");
    CHECK(t && t->type == GGUF_T_F32 && t->n_dims == 1);
    CHECK((gguf_find_tensor(&g, "output.weight") == NULL) == (s->tied != 0));
    t = gguf_find_tensor(&g, "token_embd.weight");
    CHECK(t && t->ne[0] == s->embd && t->ne[1] == s->vocab);
    opml_tok *tok;
    CHECK_EQ_INT(opml_tok_from_gguf(&g, &tok, err, sizeof err), 0);
    if (tok) opml_tok_free(tok);
    gguf_close(&g);
}

/* ggml's reference Q8_0 quantization of x[32] (d = amax/127, id = 1/d, q = round(x*id), d in
 * fp16: here d is exact in fp16, checked) equals the block at blk. */
static int block_matches(const float *x, const uint8_t *blk) {
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    float d = amax / 127, id = d ? 1.0f / d : 0.0f;
    uint16_t h;
    memcpy(&h, blk, 2);
    if (f16_value(h) != d) return 0;
    for (int i = 0; i < 32; i++)
        if ((int8_t)blk[2 + i] != (int8_t)roundf(x[i] * id)) return 0;
    return 1;
}

static void check_same_model(void) {
    char p32[256], p16[256], pq[256], pq2[256];
    path_of("m32.gguf", p32, sizeof p32), path_of("m16.gguf", p16, sizeof p16);
    path_of("mq.gguf", pq, sizeof pq), path_of("mq2.gguf", pq2, sizeof pq2);
    mkgguf_shape s = BASE;
    uint64_t bytes;
    CHECK_EQ_INT(mkgguf_write(&s, p32, &bytes, err, sizeof err), 0);
    s.type = GGUF_T_F16;
    CHECK_EQ_INT(mkgguf_write(&s, p16, &bytes, err, sizeof err), 0);
    s.type = GGUF_T_Q8_0;
    CHECK_EQ_INT(mkgguf_write(&s, pq, &bytes, err, sizeof err), 0);
    gguf_file a, b, c;
    if (gguf_open(p32, &a, err, sizeof err) || gguf_open(p16, &b, err, sizeof err) || gguf_open(pq, &c, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        CHECK(0);
        return;
    }
    long blocks = 0, equal = 0;
    for (uint64_t i = 0; i < a.n_tensors; i++) {
        const gguf_tensor *t32 = &a.tensors[i], *t16 = gguf_find_tensor(&b, t32->name),
                          *tq = gguf_find_tensor(&c, t32->name);
        CHECK(t16 && tq);
        if (!t16 || !tq) continue;
        if (t32->n_dims == 1) { /* norms: F32 everywhere, the same bytes */
            CHECK(t16->type == GGUF_T_F32 && tq->type == GGUF_T_F32 && memcmp(t32->data, tq->data, t32->nbytes) == 0);
            continue;
        }
        CHECK(t16->type == GGUF_T_F16 && tq->type == GGUF_T_Q8_0);
        for (uint64_t k = 0; k < t32->nelem / 32; k++, blocks++) {
            float x[32], y[32];
            memcpy(x, t32->data + 128 * k, 128);
            for (int j = 0; j < 32; j++) {
                uint16_t h;
                memcpy(&h, t16->data + 64 * k + 2 * j, 2);
                y[j] = f16_value(h);
            }
            equal += memcmp(x, y, sizeof x) == 0 && block_matches(x, tq->data + 34 * k);
        }
    }
    printf("same model: %ld of %ld blocks equal in F32, F16 and Q8_0\n", equal, blocks);
    CHECK(blocks > 0 && equal == blocks);
    gguf_close(&a), gguf_close(&b), gguf_close(&c);
    /* the same seed, the same bytes; another seed, other weights */
    CHECK_EQ_INT(mkgguf_write(&s, pq2, &bytes, err, sizeof err), 0);
    size_t la = 0, lb = 0;
    uint8_t *fa = NULL, *fb = NULL;
    FILE *f1 = fopen(pq, "rb"), *f2 = fopen(pq2, "rb");
    if (f1 && f2) {
        fseek(f1, 0, SEEK_END), fseek(f2, 0, SEEK_END);
        la = (size_t)ftell(f1), lb = (size_t)ftell(f2);
        CHECK_EQ_INT(la, bytes);
        rewind(f1), rewind(f2);
        fa = malloc(la), fb = malloc(lb);
        CHECK(la == lb && fread(fa, 1, la, f1) == la && fread(fb, 1, lb, f2) == lb && memcmp(fa, fb, la) == 0);
    }
    if (f1) fclose(f1);
    if (f2) fclose(f2);
    s.seed = 8;
    CHECK_EQ_INT(mkgguf_write(&s, pq2, &bytes, err, sizeof err), 0);
    f2 = fopen(pq2, "rb");
    if (f2 && fb && fa) {
        CHECK(fread(fb, 1, la, f2) == la && memcmp(fa, fb, la) != 0);
        fclose(f2);
    }
    free(fa), free(fb);
    unlink(p32), unlink(p16), unlink(pq), unlink(pq2);
}

static void check_shapes(void) {
    char p[256];
    path_of("shape.gguf", p, sizeof p);
    mkgguf_shape gqa = BASE, tied = BASE, f16 = BASE;
    gqa.heads = 8, gqa.heads_kv = 2, gqa.type = GGUF_T_Q8_0, gqa.layers = 3; /* grouped-query attention */
    tied.tied = 1, tied.rope_base = 500000.0f, tied.type = GGUF_T_Q8_0;     /* LLaMA-3's rope base */
    f16.type = GGUF_T_F16, f16.embd = 96, f16.heads = 3, f16.heads_kv = 1, f16.ff = 256;
    const mkgguf_shape *all[] = {&BASE, &gqa, &tied, &f16};
    uint64_t bytes;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(mkgguf_write(all[i], p, &bytes, err, sizeof err), 0);
        check_layout(all[i], p);
    }
    unlink(p);
    /* refused, nothing written */
    mkgguf_shape bad[5] = {BASE, BASE, BASE, BASE, BASE};
    bad[0].heads = 3;      /* 64 not a multiple of 3 */
    bad[1].heads_kv = 3;   /* 4 not a multiple of 3 */
    bad[2].ff = 100;       /* not a multiple of 32 */
    bad[3].vocab = 259;    /* no room for U+2581 */
    bad[4].type = 2;       /* Q4_0 */
    const char *why[5] = {"multiple of heads", "multiple of heads_kv", "multiples of 32", "vocab must be",
                          "F32, F16 or Q8_0"};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(mkgguf_write(&bad[i], p, &bytes, err, sizeof err), -1);
        CHECK(strstr(err, why[i]) != NULL);
        CHECK(access(p, F_OK) != 0);
    }
}

/* LLaMA's 32,000-token vocabulary in a file of metadata only: opml's tokenizer takes it, and text
 * of words, spaces and characters outside it round-trips. */
static void check_vocab(uint32_t n) {
    gb b = {0};
    gb_header(&b, 3, 0, MKGGUF_VOCAB_KVS);
    mkgguf_vocab(&b, n);
    gguf_file g;
    opml_tok *t = NULL;
    CHECK(!b.oom && gguf_parse(b.p, b.n, &g, err, sizeof err) == 0);
    CHECK_EQ_INT(opml_tok_from_gguf(&g, &t, err, sizeof err), 0);
    if (t) {
        static const char text[] = "the quick brown fox, Jumps over\nthe lazy dog \xc3\xa9t\xc3\xa9";
        int32_t *ids;
        size_t k;
        char *d;
        size_t dl;
        CHECK_EQ_INT(opml_tok_encode(t, text, sizeof text - 1, 0, &ids, &k, err, sizeof err), 0);
        CHECK(k > 5 && k < sizeof text);
        CHECK(opml_tok_decode(t, ids, k, 0, &d, &dl, err, sizeof err) == 0 && dl == sizeof text - 1 &&
              memcmp(d, text, dl) == 0);
        free(d);
        free(ids);
        opml_tok_free(t);
    }
    gguf_close(&g);
    gb_free(&b);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    check_same_model();
    check_shapes();
    check_vocab(512);
    check_vocab(32000);
    rmdir(dir);
    return check_summary("test_mkgguf");
}
