/* The tokenizer against llama.cpp on the shared model: every held-out fortune encodes to the ids
 * of held_out_tokens_int32.bin (each fortune there is [bos] + tokens + [eos]; in held_out.txt the
 * fortunes are joined by one blank line, "\n\n", and may hold blank lines themselves, so the
 * stream's BOS..EOS spans find the boundaries: each span decodes to the file's next bytes, which
 * then must encode back to the span); the whole file gives llama.cpp's 63,123 tokens; the JSON's
 * prompts give llama.cpp's prompt ids. Edge cases: empty text, text that is not UTF-8, characters
 * outside the vocabulary, a character cut short at the end, special tokens parsed or not, the
 * merge order (score, then leftmost), round trips of random bytes and of long inputs, streaming
 * decode of a character split over byte tokens, and vocabularies that must be refused.
 * Usage: test_tokenizer MODELS_DIR
 *        test_tokenizer --write-seeds DIR   (the fuzz corpus's seeds: tests/corpus) */
#include "check.h"
#include "gguf_build.h"
#include "tok_gguf.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static char err[512];

static char *read_all(const char *dir, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static int encode_eq(const opml_tok *t, const char *s, size_t len, unsigned flags, const int32_t *want, size_t n) {
    int32_t *ids;
    size_t got;
    if (opml_tok_encode(t, s, len, flags, &ids, &got, err, sizeof err) != 0) return 0;
    int eq = got == n && memcmp(ids, want, n * sizeof *ids) == 0;
    free(ids);
    return eq;
}

#define CHECK_ENC(t, s, flags, ...)                                                                                  \
    do {                                                                                                              \
        const int32_t want_[] = {__VA_ARGS__};                                                                        \
        CHECK(encode_eq((t), (s), sizeof(s) - 1, (flags), want_, sizeof want_ / sizeof want_[0]));                    \
    } while (0)

/* decode(encode(s)) == s, without BOS (after BOS, llama.cpp's detokenize keeps the space that
 * encoding put in front) */
static int round_trip(const opml_tok *t, const char *s, size_t len) {
    int32_t *ids;
    size_t n, dl;
    char *d = NULL;
    if (opml_tok_encode(t, s, len, 0, &ids, &n, err, sizeof err) != 0) return 0;
    int ok = opml_tok_decode(t, ids, n, 0, &d, &dl, err, sizeof err) == 0 && dl == len && memcmp(d, s, len) == 0;
    free(d);
    free(ids);
    return ok;
}

static void check_held_out(const opml_tok *t, const char *dir) {
    size_t tl, sl;
    char *txt = read_all(dir, "held_out.txt", &tl);
    char *raw = read_all(dir, "held_out_tokens_int32.bin", &sl);
    CHECK(txt && raw && sl % 4 == 0);
    if (!txt || !raw) return;
    const int32_t *s = (const int32_t *)raw;
    size_t n = sl / 4, pos = 0, fortunes = 0, equal = 0;
    for (size_t i = 0; i < n;) {
        CHECK_EQ_INT(s[i], 1);
        size_t j = i + 1;
        while (j < n && s[j] != 2) j++;
        CHECK(j < n);
        char *d;
        size_t dl;
        CHECK_EQ_INT(opml_tok_decode(t, s + i + 1, j - i - 1, 0, &d, &dl, err, sizeof err), 0);
        CHECK(pos + dl <= tl && memcmp(txt + pos, d, dl) == 0); /* the span is the file's next fortune */
        free(d);
        if (pos + dl > tl) break;
        /* the fortune's text, from the file, encodes to the span: [bos] + tokens, then eos */
        if (encode_eq(t, txt + pos, dl, OPML_TOK_ADD_SPECIAL, s + i, j - i)) equal++;
        else fprintf(stderr, "fortune %zu (bytes %zu..%zu) encodes differently\n", fortunes, pos, pos + dl);
        fortunes++;
        pos += dl;
        size_t sep = tl - pos >= 2 && txt[pos] == '\n' && txt[pos + 1] == '\n' ? 2 : tl - pos == 1 ? 1 : 0;
        CHECK(sep > 0 || pos == tl);
        pos += sep;
        i = j + 1;
    }
    printf("held-out: %zu fortunes, %zu equal to llama.cpp's, %zu of %zu bytes covered\n", fortunes, equal, pos, tl);
    CHECK_EQ_INT(fortunes, 760);
    CHECK_EQ_INT(equal, fortunes);
    CHECK_EQ_INT(pos, tl);
    /* the whole file as one text, no BOS: llama.cpp's count (the JSON) and back to the same bytes */
    int32_t *ids;
    size_t ni;
    CHECK_EQ_INT(opml_tok_encode(t, txt, tl, 0, &ids, &ni, err, sizeof err), 0);
    CHECK_EQ_INT(ni, 63123);
    free(ids);
    CHECK(round_trip(t, txt, tl));
    /* a long input: the file 8 times over (1 MiB), back to the same bytes */
    size_t ll = 8 * tl;
    char *longer = malloc(ll);
    for (int k = 0; k < 8; k++) memcpy(longer + k * tl, txt, tl);
    CHECK(round_trip(t, longer, ll));
    free(longer);
    free(txt);
    free(raw);
}

static void check_prompts(const opml_tok *t, const char *dir) {
    size_t jl;
    char *js = read_all(dir, "tinyllama_fortunes.json", &jl);
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    CHECK(root != NULL);
    const cJSON *files = cJSON_GetObjectItem(root, "llamacpp"), *file;
    int checked = 0;
    cJSON_ArrayForEach(file, files) {
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(file, "prompts")) {
            const char *text = cJSON_GetObjectItem(p, "prompt")->valuestring;
            const cJSON *want = cJSON_GetObjectItem(p, "llamacpp_prompt_tokens"), *w;
            int32_t ids[64];
            size_t n = 0;
            cJSON_ArrayForEach(w, want) ids[n++] = (int32_t)w->valueint;
            CHECK(encode_eq(t, text, strlen(text), OPML_TOK_ADD_SPECIAL, ids, n));
            checked++;
        }
    }
    CHECK_EQ_INT(checked, 16);
    cJSON_Delete(root);
    free(js);
}

#define BYTE(b) (3 + (b)) /* the shared vocabulary: <0x00>..<0xFF> are ids 3..258 */

static void check_edges(const opml_tok *t) {
    int32_t *ids;
    size_t n;
    CHECK_ENC(t, "", OPML_TOK_ADD_SPECIAL, 1);
    CHECK_EQ_INT(opml_tok_encode(t, "", 0, 0, &ids, &n, err, sizeof err), 0);
    CHECK(n == 0 && ids != NULL);
    free(ids);
    size_t pl;
    const char *p = opml_tok_piece(t, BYTE(0x0A), 0, &pl);
    CHECK(pl == 1 && p[0] == '\n');
    CHECK(opml_tok_piece(t, 1, 0, &pl) && pl == 0); /* control: nothing */
    p = opml_tok_piece(t, 1, OPML_TOK_SHOW_SPECIAL, &pl);
    CHECK(pl == 3 && memcmp(p, "<s>", 3) == 0);
    /* not UTF-8: the space prefix, then one byte token per byte */
    CHECK_EQ_INT(opml_tok_encode(t, "\xff\xfe", 2, 0, &ids, &n, err, sizeof err), 0);
    CHECK(n >= 2 && ids[n - 2] == BYTE(0xFF) && ids[n - 1] == BYTE(0xFE));
    free(ids);
    /* a character outside the vocabulary (CJK, an emoji): its UTF-8 bytes */
    CHECK_EQ_INT(opml_tok_encode(t, "\xe6\xbc\xa2", 3, 0, &ids, &n, err, sizeof err), 0);
    CHECK(n >= 3 && ids[n - 3] == BYTE(0xE6) && ids[n - 2] == BYTE(0xBC) && ids[n - 1] == BYTE(0xA2));
    free(ids);
    /* a lead byte swallows the bytes after it as one symbol (llama.cpp's rule), cut short at the end */
    CHECK(round_trip(t, "a\xe2\x82", 3));
    CHECK(round_trip(t, "\xf0\x9f\x98\x80 ok \xe2", 10));
    /* special token texts: literal characters unless parsed */
    CHECK_EQ_INT(opml_tok_encode(t, "<s>hi</s>", 9, OPML_TOK_PARSE_SPECIAL, &ids, &n, err, sizeof err), 0);
    CHECK(n >= 3 && ids[0] == 1 && ids[n - 1] == 2);
    free(ids);
    CHECK_EQ_INT(opml_tok_encode(t, "<s>", 3, 0, &ids, &n, err, sizeof err), 0);
    for (size_t k = 0; k < n; k++) CHECK(ids[k] != 1);
    free(ids);
    /* llama.cpp cuts symbols by the lead byte alone, so a space escaped to U+2581 inside an invalid
     * lead byte's span leaves as the bytes of U+2581, not as a space */
    CHECK_EQ_INT(opml_tok_encode(t, "\xff x", 3, 0, &ids, &n, err, sizeof err), 0);
    CHECK(n >= 5 && ids[n - 5] == BYTE(0xFF) && ids[n - 4] == BYTE(0xE2) && ids[n - 3] == BYTE(0x96) &&
          ids[n - 2] == BYTE(0x81));
    free(ids);
    /* round trips: random bytes other than the space (so U+2581 never enters the input's symbols
     * but as the prefix), and random valid UTF-8 with spaces anywhere */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char buf[400];
    int fails = 0;
    for (int k = 0; k < 1500; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = (size_t)(x >> 33) % (sizeof buf - 4), i = 0;
        while (i < len) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(x >> 32);
            if (k % 2 == 0) { /* any byte but ' ' */
                buf[i] = (char)(r & 0xFF);
                if (buf[i] != ' ') i++;
            } else if (r % 4 == 0) { /* a 2- or 3- or 4-byte character */
                uint32_t c = r % 3 == 0 ? 0x80 + (r >> 8) % 0x780 : r % 3 == 1 ? 0x800 + (r >> 8) % 0xD000
                                                                               : 0x10000 + (r >> 8) % 0x100000;
                if (c >= 0xD800 && c < 0xE000) c = 0xE000;
                if (c == 0x2581) c = 0x2582;
                if (c < 0x800) buf[i++] = (char)(0xC0 | c >> 6);
                else if (c < 0x10000) buf[i++] = (char)(0xE0 | c >> 12), buf[i++] = (char)(0x80 | ((c >> 6) & 0x3F));
                else buf[i++] = (char)(0xF0 | c >> 18), buf[i++] = (char)(0x80 | ((c >> 12) & 0x3F)),
                     buf[i++] = (char)(0x80 | ((c >> 6) & 0x3F));
                buf[i++] = (char)(0x80 | (c & 0x3F));
            } else { /* ASCII, spaces often */
                buf[i++] = r % 5 == 0 ? ' ' : (char)((r >> 8) % 128);
            }
        }
        if (!round_trip(t, buf, i)) fails++;
    }
    CHECK_EQ_INT(fails, 0);
    /* one character 200,000 times */
    char *run = malloc(200000);
    memset(run, 'e', 200000);
    CHECK(round_trip(t, run, 200000));
    free(run);
    /* streaming: "€" = E2 82 AC as three byte tokens shows once complete; a bad byte passes */
    opml_tok_utf8 u = {0};
    char out[16];
    CHECK_EQ_INT(opml_tok_utf8_put(&u, "\xe2", 1, out), 0);
    CHECK_EQ_INT(opml_tok_utf8_put(&u, "\x82", 1, out), 0);
    CHECK(opml_tok_utf8_put(&u, "\xac", 1, out) == 3 && memcmp(out, "\xe2\x82\xac", 3) == 0);
    CHECK(opml_tok_utf8_put(&u, "a\xe2", 2, out) == 1 && out[0] == 'a');
    CHECK(opml_tok_utf8_put(&u, "b", 1, out) == 2 && memcmp(out, "\xe2" "b", 2) == 0); /* cut short */
    CHECK(opml_tok_utf8_put(&u, "\x80\xf0\x9f", 3, out) == 1 && (unsigned char)out[0] == 0x80);
    CHECK(opml_tok_utf8_flush(&u, out) == 2 && memcmp(out, "\xf0\x9f", 2) == 0);
    CHECK_EQ_INT(opml_tok_utf8_flush(&u, out), 0);
    char *d;
    size_t dl;
    CHECK_EQ_INT(opml_tok_decode(t, (int32_t[]){1, 313}, 2, 0, &d, &dl, err, sizeof err), 0);
    CHECK(dl > 0 && d[0] == ' '); /* after BOS the leading space stays, as in llama.cpp */
    free(d);
    CHECK_EQ_INT(opml_tok_decode(t, (int32_t[]){5, 1000}, 2, 0, &d, &dl, err, sizeof err), -1);
    CHECK(strstr(err, "id 1000 at 1 is outside the vocabulary of 1000") != NULL);
}

/* A vocabulary of plain arrays. */
typedef struct mini {
    const char *text[8];
    uint32_t len[8];
    float score[8];
    int32_t type[8];
} mini;

static int mini_new(const char *const *texts, const float *scores, const int32_t *types, uint32_t n, int space,
                    opml_tok **t) {
    mini m;
    for (uint32_t i = 0; i < n; i++) {
        m.text[i] = texts[i], m.len[i] = (uint32_t)strlen(texts[i]);
        m.score[i] = scores ? scores[i] : 0, m.type[i] = types ? types[i] : OPML_TOK_NORMAL;
    }
    opml_tok_vocab v = {"llama", n, m.text, m.len, m.score, m.type, 0, OPML_TOK_NONE, 0, 0, 0, space};
    return opml_tok_new(&v, t, err, sizeof err);
}

static void check_vocabularies(void) {
    opml_tok *t;
    /* merge order: the best score first; equal scores, the leftmost pair */
    const char *tx[] = {"<unk>", "a", "b", "ab", "bb"};
    CHECK_EQ_INT(mini_new(tx, (float[]){0, 0, 0, 1, 2}, NULL, 5, 0, &t), 0);
    CHECK_ENC(t, "abb", 0, 1, 4);
    opml_tok_free(t);
    CHECK_EQ_INT(mini_new(tx, (float[]){0, 0, 0, 1, 1}, NULL, 5, 0, &t), 0);
    CHECK_ENC(t, "abb", 0, 3, 2);
    CHECK_ENC(t, "abbb", 0, 3, 4);
    CHECK_ENC(t, "c", 0, 0); /* no byte tokens: unk */
    opml_tok_free(t);
    /* a user-defined token splits the text even without OPML_TOK_PARSE_SPECIAL; the text after
     * it gets the space prefix again, as after any special token */
    const char *tu[] = {"<unk>", "a", "\xe2\x96\x81", "<x>", "\xe2\x96\x81" "a"};
    CHECK_EQ_INT(mini_new(tu, (float[]){0, 0, 0, 0, 1}, (int32_t[]){2, 1, 1, 4, 1}, 5, 1, &t), 0);
    CHECK_ENC(t, "a<x>a", 0, 4, 3, 4);
    CHECK_ENC(t, "<x><x>", 0, 3, 3);
    size_t pl;
    const char *p = opml_tok_piece(t, 3, 0, &pl);
    CHECK(pl == 3 && memcmp(p, "<x>", 3) == 0);
    opml_tok_free(t);
    /* refused */
    const char *dup[] = {"a", "b", "a"};
    CHECK_EQ_INT(mini_new(dup, NULL, NULL, 3, 1, &t), -1);
    CHECK(strstr(err, "tokens 0 and 2 have the same text") != NULL);
    const char *bt[] = {"<unk>", "<0xZZ>"};
    CHECK_EQ_INT(mini_new(bt, NULL, (int32_t[]){2, 6}, 2, 1, &t), -1);
    CHECK(strstr(err, "byte token 1 is not of the form <0xHH>") != NULL);
    CHECK_EQ_INT(mini_new(tx, NULL, (int32_t[]){2, 1, 9, 1, 1}, 5, 1, &t), -1);
    CHECK(strstr(err, "token 2 has type 9") != NULL);
    mini m = {{"a"}, {1}, {0}, {1}};
    opml_tok_vocab v = {"llama", 1, m.text, m.len, NULL, NULL, 1, OPML_TOK_NONE, 0, 0, 0, 1};
    CHECK_EQ_INT(opml_tok_new(&v, &t, err, sizeof err), -1);
    CHECK(strstr(err, "bos id 1 is outside the vocabulary of 1") != NULL);
    v.bos = OPML_TOK_NONE, v.add_bos = 1;
    CHECK_EQ_INT(opml_tok_new(&v, &t, err, sizeof err), -1);
    v.add_bos = 0, v.model = "gpt2";
    CHECK_EQ_INT(opml_tok_new(&v, &t, err, sizeof err), -1);
    CHECK(strstr(err, "model 'gpt2' is not supported") != NULL);
    v.model = "llama", v.n = 0;
    CHECK_EQ_INT(opml_tok_new(&v, &t, err, sizeof err), -1);
}

/* Fuzz seeds (fuzz_tok.c): u16 text length, text, a GGUF with a small vocabulary of every token
 * type (specials, a few byte tokens, U+2581, letters, merges, a user-defined token). */
static int write_seeds(const char *dir) {
    static const char *tok[] = {"<unk>", "<s>", "</s>", "<0x0A>", "<0x41>", "<0xE2>", "<0x96>", "<0x81>", "<0xFF>",
                                "\xe2\x96\x81", "a", "b", "c", "ab", "\xe2\x96\x81" "a", "abc", "<x>"};
    static const int32_t type[] = {2, 3, 3, 6, 6, 6, 6, 6, 6, 1, 1, 1, 1, 1, 1, 1, 4};
    static const char *texts[] = {"a b<x>ab", "<s>abc</s> c", "\xe2\x96\x81\xff\nA", ""};
    enum { N = sizeof tok / sizeof tok[0] };
    for (int k = 0; k < 4; k++) {
        gb b = {0};
        uint16_t tl = (uint16_t)strlen(texts[k]);
        gb_bytes(&b, &tl, 2);
        gb_bytes(&b, texts[k], tl);
        gb_header(&b, 3, 0, 5);
        gb_kv_str(&b, "tokenizer.ggml.model", "llama");
        gb_kv_arr(&b, "tokenizer.ggml.tokens", 8 /* string */, N);
        for (int i = 0; i < N; i++) gb_str(&b, tok[i]);
        gb_kv_arr(&b, "tokenizer.ggml.scores", 6 /* f32 */, N);
        for (int i = 0; i < N; i++) {
            float sc = -(float)i;
            gb_bytes(&b, &sc, 4);
        }
        gb_kv_arr(&b, "tokenizer.ggml.token_type", 5 /* i32 */, N);
        gb_bytes(&b, type, sizeof type);
        gb_kv_bool(&b, "tokenizer.ggml.add_eos_token", k % 2);
        char path[1024];
        snprintf(path, sizeof path, "%s/seed_%d", dir, k);
        int rc = gb_write_file(&b, path);
        gb_free(&b);
        if (rc != 0) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODELS_DIR\n", argv[0]);
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/tinyllama_fortunes-q8_0.gguf", argv[1]);
    gguf_file g;
    opml_tok *t = NULL;
    if (gguf_open(path, &g, err, sizeof err) != 0 || opml_tok_from_gguf(&g, &t, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    gguf_close(&g); /* the tokenizer keeps its own copy */
    CHECK_EQ_INT(opml_tok_n_vocab(t), 1000);
    CHECK_EQ_INT(opml_tok_bos(t), 1);
    CHECK_EQ_INT(opml_tok_eos(t), 2);
    check_held_out(t, argv[1]);
    check_prompts(t, argv[1]);
    check_edges(t);
    check_vocabularies();
    opml_tok_free(t);
    return check_summary("test_tokenizer");
}
