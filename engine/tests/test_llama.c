/* test_llama.c: the shared tiny LLaMA (../shared/models) through the importer and the engine's
 * sessions (llama.h):
 *   - converting the F32 GGUF (quantized by ggml's reference rule) gives the Q8_0 GGUF's blocks:
 *     the same weights, hence the same model root;
 *   - a prompt run as one batch gives exactly the bits of token-by-token decoding (logits of every
 *     position), in passes of any size; ref == blas bit for bit on a whole greedy generation;
 *   - greedy continuations of the JSON's prompts equal llama.cpp's (its 32 tokens on this file),
 *     the first position's top logits close to llama.cpp's;
 *   - truncation makes a cache exactly what its token history made; a committed step (the file's
 *     graph with every value's root) gives the same logits as the fast path;
 *   - the importer refuses a model it cannot convert exactly, writing nothing (gguf_import_cases);
 *   - a vocabulary too large for one VM slot is split into row parts (test_split). */
#include "check.h"
#include "hex.h"
#include "keccak.h"
#include "gguf_import.h"
#include "llama.h"
#include "llama_build.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

int gguf_import_cases(const char *dir); /* test_llama_gguf.c: its failed checks */
int llama_gen_cases(opml_llama *m, const char *what); /* test_llama_gen.c: its failed checks so far */

static char dir[] = "/tmp/opml-test-llama-XXXXXX";

static void convert(const char *gguf, const char *out, uint8_t root[32]) {
    uint32_t nodes, weights;
    uint64_t bytes;
    char err[600];
    int rc = gguf_import(gguf, out, NULL, root, &nodes, &weights, &bytes, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ_INT(rc, 0);
}

static int argmax(const float *x, uint32_t n) {
    uint32_t b = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int)b;
}

static opml_llama_session *session(opml_llama *m, uint32_t ctx, const char *backend) {
    char err[300];
    opml_llama_session *s = NULL;
    int rc = opml_llama_session_new(m, ctx, backend, 0, &s, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ_INT(rc, 0);
    return s;
}

/* greedy: n tokens after the prompt on session s (from position 0); returns the generated ids and
 * leaves the last logits in last */
static void greedy(opml_llama_session *s, const int32_t *prompt, uint32_t np, int32_t *gen, uint32_t n, float *last,
                   uint32_t vocab) {
    char err[300];
    CHECK_EQ_INT(opml_llama_step(s, prompt, np, 0, 0, last, err, sizeof err), 0);
    for (uint32_t g = 0; g < n; g++) {
        gen[g] = argmax(last, vocab);
        CHECK_EQ_INT(opml_llama_step(s, &gen[g], 1, np + g, 0, last, err, sizeof err), 0);
    }
}

static void test_prompts(opml_llama *m, const cJSON *json) {
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    const cJSON *prompts = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "llamacpp"), "q8_0"), "prompts");
    CHECK(cJSON_GetArraySize(prompts) >= 4);
    opml_llama_session *ref = session(m, 0, "ref"), *blas = session(m, 0, "blas");
    float *a = malloc((size_t)hp->vocab * 4), *b = malloc((size_t)hp->vocab * 4);
    char err[300];
    int agree = 0, total = 0;
    for (int p = 0; p < cJSON_GetArraySize(prompts); p++) {
        const cJSON *pr = cJSON_GetArrayItem(prompts, p);
        const cJSON *toks = cJSON_GetObjectItem(pr, "llamacpp_prompt_tokens"), *want = cJSON_GetObjectItem(pr, "llamacpp_gen_tokens");
        const cJSON *top = cJSON_GetObjectItem(pr, "llamacpp_first_top10_ids"), *topl = cJSON_GetObjectItem(pr, "llamacpp_first_top10_logits");
        uint32_t np = (uint32_t)cJSON_GetArraySize(toks), n = (uint32_t)cJSON_GetArraySize(want);
        int32_t prompt[64], g1[64], g2[64];
        for (uint32_t i = 0; i < np && i < 64; i++) prompt[i] = cJSON_GetArrayItem(toks, (int)i)->valueint;
        /* the first position's logits near llama.cpp's (the top ten, same ids) */
        CHECK_EQ_INT(opml_llama_step(blas, prompt, np, 0, 0, a, err, sizeof err), 0);
        double worst = 0;
        for (int i = 0; i < 10; i++) {
            double d = fabs(a[cJSON_GetArrayItem(top, i)->valueint] - cJSON_GetArrayItem(topl, i)->valuedouble);
            worst = d > worst ? d : worst;
        }
        CHECK(worst < 0.05);
        greedy(ref, prompt, np, g1, n, a, hp->vocab);
        greedy(blas, prompt, np, g2, n, b, hp->vocab);
        CHECK_MEM(g1, g2, n * 4); /* ref == blas on the whole generation, logits included */
        CHECK_MEM(a, b, (size_t)hp->vocab * 4);
        uint32_t same = 0;
        while (same < n && g1[same] == cJSON_GetArrayItem(want, (int)same)->valueint) same++;
        CHECK(same >= 16);
        agree += (int)same, total += (int)n;
        printf("prompt %d: %u tokens, top-10 logits within %.4f of llama.cpp, greedy equal to llama.cpp for %u of %u "
               "tokens, ref == blas\n", p, np, worst, same, n);
    }
    printf("greedy agreement with llama.cpp: %d of %d tokens\n", agree, total);
    opml_llama_session_free(ref), opml_llama_session_free(blas);
    free(a), free(b);
}

/* One 100-token stretch of the held-out stream: all logits as one batch, in passes of 7, and
 * token by token: identical bits. Truncating and running again gives the same bits too, and the
 * committed step agrees with the fast path. */
static void test_batches(opml_llama *m, const int32_t *stream) {
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    uint32_t n = 100, V = hp->vocab;
    float *one = malloc((size_t)n * V * 4), *seq = malloc((size_t)n * V * 4), *chunk = malloc((size_t)n * V * 4);
    char err[300];
    opml_llama_session *s = session(m, 0, "blas"), *c = session(m, 0, "ref");
    CHECK_EQ_INT(opml_llama_step(s, stream, n, 0, OPML_LLAMA_ALL_LOGITS, one, err, sizeof err), 0);
    CHECK_EQ_INT(opml_llama_session_pos(s), n);
    for (uint32_t t = 0; t < n; t++) CHECK_EQ_INT(opml_llama_step(s, stream + t, 1, t, 0, seq + (size_t)t * V, err, sizeof err), 0);
    CHECK_MEM(one, seq, (size_t)n * V * 4);
    for (uint32_t t = 0; t < n; t += 7) {
        uint32_t k = n - t < 7 ? n - t : 7;
        CHECK_EQ_INT(opml_llama_step(c, stream + t, k, t, OPML_LLAMA_ALL_LOGITS, chunk + (size_t)t * V, err, sizeof err), 0);
    }
    CHECK_MEM(one, chunk, (size_t)n * V * 4);
    /* back to position 40: the same continuation as before */
    CHECK_EQ_INT(opml_llama_step(s, stream + 40, 60, 40, OPML_LLAMA_ALL_LOGITS, chunk, err, sizeof err), 0);
    CHECK_MEM(one + (size_t)40 * V, chunk, (size_t)60 * V * 4);
    /* a committed step (the file's one-token graph, every root): the same logits */
    opml_llama_session_truncate(s, 10);
    CHECK(opml_llama_last_state(s) == NULL);
    CHECK_EQ_INT(opml_llama_step(s, stream + 10, 1, 10, OPML_LLAMA_COMMIT, chunk, err, sizeof err), 0);
    CHECK_MEM(one + (size_t)10 * V, chunk, (size_t)V * 4);
    CHECK(opml_llama_last_state(s) != NULL);
    CHECK_EQ_INT(opml_llama_step(s, stream + 11, 1, 11, 0, chunk, err, sizeof err), 0);
    CHECK_MEM(one + (size_t)11 * V, chunk, (size_t)V * 4); /* the committed step left the right cache */
    /* preconditions */
    CHECK_EQ_INT(opml_llama_step(s, stream, 1, 13, 0, chunk, err, sizeof err), -1); /* past the held positions */
    CHECK_EQ_INT(opml_llama_step(s, stream, 2, 12, OPML_LLAMA_COMMIT, chunk, err, sizeof err), -1);
    CHECK_EQ_INT(opml_llama_step(s, stream, 300, 0, 0, chunk, err, sizeof err), -1); /* past the context */
    printf("100 held-out tokens: one batch == passes of 7 == token by token (ref and blas), bit for bit\n");
    opml_llama_session_free(s), opml_llama_session_free(c);
    free(one), free(seq), free(chunk);
}

/* A LLaMA-3-sized vocabulary (128,256 x 4,096: 558 MB of Q8_0, over a VM slot): the embedding
 * table and the output layer are row parts of at most 2^28 bytes; Embedding reads them all, the
 * output is one Q8Linear per part and a Concat; every node passes its operator's checks. Built
 * from shapes only (no weight bytes are needed to build and check a graph). */
static void test_split(void) {
    opml_llama_hparams hp = {.vocab = 128256, .dim = 4096, .layers = 1, .heads = 32, .kv_heads = 8, .head_dim = 128,
                             .ffn = 14336, .ctx = 64, .rms_eps = 1e-5f, .rope_base = 500000.0f};
    uint32_t per, parts = llama_parts(hp.vocab, hp.dim, &per);
    CHECK_EQ_INT(parts, 3);
    CHECK((uint64_t)per * hp.dim / 32 * 34 <= KD_MAX_TENSOR_BYTES);
    uint32_t nw = llama_weight_list(&hp, NULL);
    llama_wdesc *list = calloc(nw, sizeof *list);
    opml_weight *w = calloc(nw, sizeof *w);
    llama_weight_list(&hp, list);
    for (uint32_t i = 0; i < nw; i++) w[i].t = list[i].t;
    CHECK(!strcmp(list[0].name, "token_embd.weight") && list[1].row0 == per && list[2].row0 == 2 * per);
    CHECK_EQ_INT(list[0].t.dims[0] + list[1].t.dims[0] + list[2].t.dims[0], hp.vocab);
    llama_step g;
    char err[300];
    int rc = llama_step_build(&hp, w, nw, 1, hp.ctx, 0, &g, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ_INT(rc, 0);
    const opml_node *emb = &g.m.nodes[0], *out = &g.m.nodes[g.logits - g.m.nin];
    CHECK(emb->d.op == OP_EMBEDDING && emb->d.noperands == 1 + parts);
    CHECK(out->d.op == OP_CONCAT && out->d.noperands == parts && out->d.out.dims[1] == hp.vocab);
    for (unsigned j = 0; j < parts; j++) CHECK_EQ_INT(g.m.nodes[out->ref[j] - g.m.nin].d.op, OP_Q8LINEAR);
    printf("vocabulary 128,256 x 4,096: %u row parts of <= %u rows; Embedding over the parts, Q8Linear per part + Concat\n",
           parts, per);
    llama_step_free(&g);
    free(list), free(w);
}

/* ---- today's graph, bit for bit ----
 * Digests recorded with the graph of issue 13 (KVAppend before Attention, no Sample node; the
 * engine at 0e5e060, ref and blas alike): the step graph of docs/generation.md computes the same
 * bits, logits and caches, on whole generations. */
#define GOLD_LOGITS100 "0x45e3ebe2a68ac5492ba96567f6396aab3367398653ade4f29110c3b8daf6a487"
#define GOLD_CACHES100 "0x9cfb548c484cf3a790976ccdb66fcf0936b4dfc41865adf8ec23e57b68bd33cd"
#define GOLD_CACHES64 "0x8cf5e05504ac4693dc588d475c64f424e792160a4b32910f3484cf26cbc3a247"
#define GOLD_SAMPLED_LOGITS "0x7742c5065751b4b26b53ada806211bb16b5fd2a4c40158a4c08e12f18db9338c"
#define GOLD_SAMPLED_CACHES "0x15cae84748615fb0db2d9349417240ff6cac7c85db82695ebc6f1778c6ecad12"
static const int32_t gold_greedy[48] = {13, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916, 916};
static const int32_t gold_sampled[48] = {436, 935, 13, 916, 916, 916, 916, 916, 916, 916, 296, 342, 924, 279, 655, 938, 315, 948, 925, 344, 352, 919, 304, 942, 2, 1, 363, 920, 920, 968, 954, 301, 934, 303, 367, 954, 916, 916, 916, 916, 313, 923, 291, 268, 548, 303, 265, 938}; /* temperature 0.9, top-k 40, top-p 0.95, seed 42 */

static void check_digest(const void *data, size_t len, const char *want) {
    uint8_t h[32], w[32];
    keccak256(data, len, h);
    CHECK_EQ_INT(hex_decode(want, w, 32), 0);
    CHECK_MEM(h, w, 32);
}

static void check_caches(const opml_llama_session *s, uint32_t caches, const char *want) {
    uint8_t all[64 * 32];
    for (uint32_t i = 0; i < caches; i++) {
        size_t cb;
        const void *c = opml_llama_session_cache(s, i, &cb);
        keccak256(c, cb, all + 32 * i);
    }
    check_digest(all, 32 * (size_t)caches, want);
}

static uint32_t f32bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

/* The generation of q (48 new tokens) equals want; stepping the generated tokens one by one from
 * the prompt gives the recorded logits (when logits_want) and caches. */
static void gold_generation(opml_llama_session *s, const opml_llama_request *q, const int32_t *want,
                            const char *logits_want, const char *caches_want, uint32_t caches, uint32_t V) {
    char err[300];
    int32_t gen[48];
    uint32_t m;
    CHECK_EQ_INT(opml_llama_generate(s, q, gen, &m, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(m, 48);
    CHECK_MEM(gen, want, sizeof gen);
    CHECK_EQ_INT(opml_llama_session_pos(s), q->prompt_len + 47); /* the last token is not run */
    float *lg = malloc((size_t)48 * V * 4);
    CHECK_EQ_INT(opml_llama_step(s, q->prompt, q->prompt_len, 0, 0, NULL, err, sizeof err), 0);
    for (int i = 0; i < 48; i++)
        CHECK_EQ_INT(opml_llama_step(s, &gen[i], 1, q->prompt_len + (uint32_t)i, 0, lg + (size_t)i * V, err, sizeof err), 0);
    if (logits_want) check_digest(lg, (size_t)48 * V * 4, logits_want);
    check_caches(s, caches, caches_want);
    free(lg);
}

static void test_golden(opml_llama *m, const int32_t *stream) {
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    uint32_t V = hp->vocab, n = 100, caches = 2 * hp->layers;
    static const char *const backends[2] = {"ref", "blas"};
    for (int b = 0; b < 2; b++) {
        char err[300];
        opml_llama_session *s = session(m, 0, backends[b]);
        float *lg = malloc((size_t)n * V * 4);
        for (uint32_t t = 0; t < n; t++) CHECK_EQ_INT(opml_llama_step(s, stream + t, 1, t, 0, lg + (size_t)t * V, err, sizeof err), 0);
        check_digest(lg, (size_t)n * V * 4, GOLD_LOGITS100);
        check_caches(s, caches, GOLD_CACHES100);
        opml_llama_request greedy = {stream, 16, 48, OPML_GEN_NO_STOP, {0, 0, 0, 0}};
        gold_generation(s, &greedy, gold_greedy, NULL, GOLD_CACHES64, caches, V);
        opml_llama_request sampled = {stream + 200, 16, 48, OPML_GEN_NO_STOP, {f32bits(0.9f), 40, f32bits(0.95f), 42}};
        gold_generation(s, &sampled, gold_sampled, GOLD_SAMPLED_LOGITS, GOLD_SAMPLED_CACHES, caches, V);
        printf("%s: logits and caches of 100 held-out tokens, a greedy and a sampled generation of 48 tokens: the "
               "bits of the graph of issue 13\n", backends[b]);
        opml_llama_session_free(s);
        free(lg);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_llama MODELS_DIR\n");
        return 2;
    }
    test_split();
    CHECK(mkdtemp(dir) != NULL);
    char q8[512], f32[512], oq8[600], of32[600], js[512], held[512];
    snprintf(q8, sizeof q8, "%s/tinyllama_fortunes-q8_0.gguf", argv[1]);
    snprintf(f32, sizeof f32, "%s/tinyllama_fortunes-f32.gguf", argv[1]);
    snprintf(js, sizeof js, "%s/tinyllama_fortunes.json", argv[1]);
    snprintf(held, sizeof held, "%s/held_out_tokens_int32.bin", argv[1]);
    snprintf(oq8, sizeof oq8, "%s/q8.opml", dir);
    snprintf(of32, sizeof of32, "%s/f32.opml", dir);
    uint8_t r1[32], r2[32];
    convert(q8, oq8, r1);
    convert(f32, of32, r2);
    CHECK_MEM(r1, r2, 32); /* the F32 file quantized by ggml's rule: the Q8_0 file's blocks */
    char err[600];
    opml_llama *m;
    CHECK_EQ_INT(opml_llama_open(oq8, OPML_LLAMA_VERIFY, &m, err, sizeof err), 0);
    CHECK_MEM(opml_llama_model(m)->root, r1, 32);
    size_t len, slen;
    char *text = (char *)opml_read_file(js, &len);
    int32_t *stream = (int32_t *)opml_read_file(held, &slen);
    CHECK(text && stream && slen >= 400);
    char *z = realloc(text, len + 1);
    z[len] = 0;
    cJSON *json = cJSON_Parse(z);
    free(z);
    CHECK(json != NULL);
    test_prompts(m, json);
    test_batches(m, stream);
    test_golden(m, stream);
    llama_gen_cases(m, "tinyllama_fortunes");
    cJSON_Delete(json);
    free(stream);
    opml_llama_close(m);
    int gguf_failed = gguf_import_cases(dir);
    unlink(oq8), unlink(of32);
    rmdir(dir);
    return check_summary("test_llama") || gguf_failed;
}
