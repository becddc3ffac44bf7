/* mkgguf.c: the layout and the weights of mkgguf.h. The header (key/values, tensor infos) is
 * composed in memory with gguf_build; the tensors' bytes are generated and written a chunk at a
 * time, so a 7B-shaped file needs a few MiB of memory. */
#include "mkgguf.h"

#include "errmsg.h"
#include "gguf_file.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 32u
#define MAX_TENSORS 2048 /* 200 layers of 9 tensors and 3 more */
#define CHUNK_BYTES (4u << 20)
#define FILE_TYPE_F32 0 /* general.file_type: llama.cpp's LLAMA_FTYPE_ALL_F32 */
#define FILE_TYPE_F16 1
#define FILE_TYPE_Q8_0 7
#define D_EXP_MIN 3 /* fp16 exponent fields of the block scales: 2^-12 .. 2^-10 */
#define D_EXP_SPAN 3

typedef struct tinfo {
    char name[GGUF_MAX_NAME];
    uint32_t n_dims, type;
    uint64_t ne[2], offset, nbytes;
} tinfo;

typedef struct layout {
    tinfo t[MAX_TENSORS];
    uint32_t n;
    uint64_t data_bytes;
} layout;

int mkgguf_check(const mkgguf_shape *s, char *err, size_t errlen) {
    if (s->layers == 0 || s->layers > 200) return opml_errf(err, errlen, "layers must be 1..200");
    if (s->heads == 0 || s->heads_kv == 0 || s->embd % s->heads || s->heads % s->heads_kv)
        return opml_errf(err, errlen, "embd (%" PRIu32 ") must be a multiple of heads (%" PRIu32
                         "), heads a multiple of heads_kv (%" PRIu32 ")", s->embd, s->heads, s->heads_kv);
    if ((s->embd / s->heads) % 2) return opml_errf(err, errlen, "the head size must be even (rope pairs)");
    if (s->embd % 32 || s->ff == 0 || s->ff % 32)
        return opml_errf(err, errlen, "embd and ff must be multiples of 32 (the Q8_0 block)");
    if (s->vocab < MKGGUF_MIN_VOCAB || s->vocab > 1000000)
        return opml_errf(err, errlen, "vocab must be %u..1000000", MKGGUF_MIN_VOCAB);
    if (s->ctx == 0) return opml_errf(err, errlen, "ctx must be positive");
    if (s->type != GGUF_T_F32 && s->type != GGUF_T_F16 && s->type != GGUF_T_Q8_0)
        return opml_errf(err, errlen, "type must be F32, F16 or Q8_0");
    if (!(s->rope_base > 0) || !(s->rms_eps > 0)) return opml_errf(err, errlen, "rope base and rms eps must be > 0");
    return 0;
}

static void add(layout *l, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1) {
    tinfo *t = &l->t[l->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0, t->ne[1] = ne1 ? ne1 : 1;
    uint64_t n = ne0 * t->ne[1];
    t->nbytes = type == GGUF_T_Q8_0 ? n / GGUF_QK8_0 * GGUF_Q8_0_BYTES : type == GGUF_T_F16 ? n * 2 : n * 4;
    t->offset = l->data_bytes;
    l->data_bytes += (t->nbytes + ALIGN - 1) / ALIGN * ALIGN;
}

/* llama.cpp's tensor order and shapes (ne0 = the input dimension). */
static void make_layout(const mkgguf_shape *s, layout *l) {
    uint64_t kv = (uint64_t)s->embd / s->heads * s->heads_kv;
    char name[GGUF_MAX_NAME];
    l->n = 0, l->data_bytes = 0;
    add(l, "token_embd.weight", s->type, s->embd, s->vocab);
    for (uint32_t i = 0; i < s->layers; i++) {
        static const char *parts[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                      "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
        const uint64_t ne[9][2] = {{s->embd, 0}, {s->embd, s->embd}, {s->embd, kv}, {s->embd, kv},
                                   {s->embd, s->embd}, {s->embd, 0}, {s->embd, s->ff}, {s->embd, s->ff},
                                   {s->ff, s->embd}};
        for (int p = 0; p < 9; p++) {
            snprintf(name, sizeof name, "blk.%" PRIu32 ".%s.weight", i, parts[p]);
            add(l, name, ne[p][1] ? s->type : GGUF_T_F32, ne[p][0], ne[p][1]);
        }
    }
    add(l, "output_norm.weight", GGUF_T_F32, s->embd, 0);
    if (!s->tied) add(l, "output.weight", s->type, s->embd, s->vocab);
}

static void header(const mkgguf_shape *s, const layout *l, gb *b) {
    static const uint32_t general_kvs = 4, llama_kvs = 10;
    gb_header(b, 3, l->n, general_kvs + llama_kvs + MKGGUF_VOCAB_KVS);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_str(b, "general.name", "opml mkgguf random weights");
    gb_kv_u32(b, "general.file_type",
              s->type == GGUF_T_Q8_0 ? FILE_TYPE_Q8_0 : s->type == GGUF_T_F16 ? FILE_TYPE_F16 : FILE_TYPE_F32);
    gb_kv_u32(b, "general.alignment", ALIGN);
    gb_kv_u32(b, "llama.context_length", s->ctx);
    gb_kv_u32(b, "llama.embedding_length", s->embd);
    gb_kv_u32(b, "llama.block_count", s->layers);
    gb_kv_u32(b, "llama.feed_forward_length", s->ff);
    gb_kv_u32(b, "llama.attention.head_count", s->heads);
    gb_kv_u32(b, "llama.attention.head_count_kv", s->heads_kv);
    gb_kv_u32(b, "llama.rope.dimension_count", s->embd / s->heads);
    gb_kv_f32(b, "llama.rope.freq_base", s->rope_base);
    gb_kv_f32(b, "llama.attention.layer_norm_rms_epsilon", s->rms_eps);
    gb_kv_u32(b, "llama.vocab_size", s->vocab);
    mkgguf_vocab(b, s->vocab);
    for (uint32_t i = 0; i < l->n; i++) gb_tensor(b, l->t[i].name, l->t[i].n_dims, l->t[i].ne, l->t[i].type, l->t[i].offset);
    gb_pad(b, ALIGN);
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One block (mkgguf.h): q[32], the scale's fp16 bits and value. */
static void gen_block(uint64_t *rng, int8_t *q, uint16_t *dbits, float *d) {
    uint64_t r = splitmix64(rng);
    uint32_t e = D_EXP_MIN + (uint32_t)(r % D_EXP_SPAN), mant = ((uint32_t)(r >> 8) & 7) << 7;
    *dbits = (uint16_t)(e << 10 | mant);
    *d = ldexpf((float)(1024 + mant), (int)e - 25); /* 2^(e-15) * (1 + mant/1024), exact */
    for (int i = 0; i < GGUF_QK8_0; i++) {
        uint64_t u = splitmix64(rng);
        int v = (int)(u & 0xFF) + (int)((u >> 8) & 0xFF) + (int)((u >> 16) & 0xFF) - 382;
        q[i] = (int8_t)(v / 3);
    }
    q[(r >> 20) & 31] = (r >> 25) & 1 ? 127 : -127;
}

/* The fp16 bits of v, a normal fp16 value with at most 11 significant bits (q * d is): its fp32
 * bits rebased, nothing to round. */
static uint16_t f16_bits_exact(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    if ((b & 0x7FFFFFFF) == 0) return (uint16_t)(b >> 16);
    return (uint16_t)((b >> 16 & 0x8000) | ((((b >> 23) & 0xFF) - 127 + 15) << 10) | ((b >> 13) & 0x3FF));
}

/* Generates tensor t (index: its place in the file) and writes it to f through buf (CHUNK_BYTES),
 * then the zero padding to the next tensor. */
static int gen_tensor(const mkgguf_shape *s, uint32_t index, const tinfo *t, uint8_t *buf, FILE *f) {
    uint64_t rng = s->seed * 0xD1B54A32D192ED03ull + index;
    size_t used = 0;
    uint64_t n = t->ne[0] * t->ne[1];
    size_t unit = t->type == GGUF_T_Q8_0 ? GGUF_Q8_0_BYTES : t->type == GGUF_T_F16 ? 2 * 32 : 4 * 32;
    for (uint64_t i = 0; i < n;) {
        if (t->n_dims == 1) { /* a norm: 1 +- 1/32 */
            float v = (float)(1024 + (int)(splitmix64(&rng) % 65) - 32) / 1024.0f;
            memcpy(buf + used, &v, 4);
            used += 4, i += 1;
        } else {
            int8_t q[GGUF_QK8_0];
            uint16_t dbits;
            float d;
            gen_block(&rng, q, &dbits, &d);
            uint8_t *o = buf + used;
            if (t->type == GGUF_T_Q8_0) {
                memcpy(o, &dbits, 2);
                memcpy(o + 2, q, GGUF_QK8_0);
            } else {
                for (int k = 0; k < GGUF_QK8_0; k++) {
                    float v = (float)q[k] * d;
                    if (t->type == GGUF_T_F32) {
                        memcpy(o + 4 * k, &v, 4);
                    } else {
                        uint16_t h = f16_bits_exact(v);
                        memcpy(o + 2 * k, &h, 2);
                    }
                }
            }
            used += unit, i += GGUF_QK8_0;
        }
        if (used + unit > CHUNK_BYTES || i == n) {
            if (fwrite(buf, 1, used, f) != used) return -1;
            used = 0;
        }
    }
    static const uint8_t zero[ALIGN];
    size_t pad = (size_t)((ALIGN - t->nbytes % ALIGN) % ALIGN);
    return fwrite(zero, 1, pad, f) == pad ? 0 : -1;
}

int mkgguf_write(const mkgguf_shape *s, const char *path, uint64_t *bytes, char *err, size_t errlen) {
    if (mkgguf_check(s, err, errlen) != 0) return -1;
    layout *l = malloc(sizeof *l);
    uint8_t *buf = malloc(CHUNK_BYTES);
    gb b = {0};
    char tmp[4096];
    FILE *f = NULL;
    int rc = -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!l || !buf) {
        opml_errf(err, errlen, "out of memory");
        goto done;
    }
    make_layout(s, l);
    header(s, l, &b);
    if (b.oom) {
        opml_errf(err, errlen, "out of memory");
        goto done;
    }
    f = fopen(tmp, "wb");
    if (!f || fwrite(b.p, 1, b.n, f) != b.n) {
        opml_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    for (uint32_t i = 0; i < l->n; i++)
        if (gen_tensor(s, i, &l->t[i], buf, f) != 0) {
            opml_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto done;
        }
    if (fclose(f) != 0) {
        f = NULL;
        opml_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        opml_errf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto done;
    }
    *bytes = b.n + l->data_bytes;
    rc = 0;
done:
    if (f) fclose(f);
    if (rc != 0) remove(tmp);
    gb_free(&b);
    free(buf);
    free(l);
    return rc;
}
