/* tokenizer.c: the vocabulary (checked, copied, hashed by text), each token's decoded piece made
 * once at construction, decoding, and the streaming UTF-8 holder (tokenizer.h). Encoding is in
 * tok_encode.c. */
#define _GNU_SOURCE /* qsort_r */
#include "tokenizer.h"

#include "errmsg.h"
#include "tok_vocab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's space */
#define SPACE_MARK_LEN 3
#define BYTE_TOKEN_LEN 6 /* "<0xHH>" */

static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

int32_t tok_lookup(const opml_tok *t, const char *s, size_t len) {
    for (uint64_t h = hash_bytes(s, len);; h++) {
        int32_t id = t->hash[h & t->hash_mask];
        if (id == OPML_TOK_NONE) return OPML_TOK_NONE;
        uint64_t off = t->text_off[id];
        if (t->text_off[id + 1] - off == len && memcmp(t->text + off, s, len) == 0) return id;
    }
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The byte a byte token "<0xHH>" stands for, or -1 if the text is not of that form. */
static int byte_token_value(const char *s, size_t len) {
    if (len != BYTE_TOKEN_LEN || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Copies texts, scores and types; checks what tokenizer.h promises to refuse. */
static int copy_vocab(opml_tok *t, const opml_tok_vocab *v, char *err, size_t errlen) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < v->n; i++) total += v->len[i];
    t->text = malloc(total ? total : 1);
    t->text_off = malloc((v->n + 1ull) * sizeof *t->text_off);
    t->score = malloc(v->n * sizeof *t->score);
    t->type = malloc(v->n);
    if (!t->text || !t->text_off || !t->score || !t->type) return opml_errf(err, errlen, "tokenizer: out of memory");
    uint64_t off = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        int32_t ty = v->type ? v->type[i] : OPML_TOK_NORMAL;
        if (ty < OPML_TOK_UNDEFINED || ty > OPML_TOK_BYTE)
            return opml_errf(err, errlen, "tokenizer: token %" PRIu32 " has type %" PRId32 " (0..6 allowed)", i, ty);
        if (ty == OPML_TOK_BYTE && byte_token_value(v->text[i], v->len[i]) < 0)
            return opml_errf(err, errlen, "tokenizer: byte token %" PRIu32 " is not of the form <0xHH>", i);
        t->type[i] = (uint8_t)ty;
        t->score[i] = v->score ? v->score[i] : 0.0f;
        t->text_off[i] = off;
        if (v->len[i]) memcpy(t->text + off, v->text[i], v->len[i]);
        off += v->len[i];
    }
    t->text_off[v->n] = off;
    return 0;
}

/* The text -> id table; a text twice is refused (llama.cpp requires unique texts too). */
static int build_hash(opml_tok *t, char *err, size_t errlen) {
    uint64_t slots = 1;
    while (slots < 2ull * t->n) slots <<= 1;
    t->hash_mask = (uint32_t)(slots - 1);
    t->hash = malloc(slots * sizeof *t->hash);
    if (!t->hash) return opml_errf(err, errlen, "tokenizer: out of memory");
    for (uint64_t s = 0; s < slots; s++) t->hash[s] = OPML_TOK_NONE;
    for (uint32_t i = 0; i < t->n; i++) {
        const char *s = t->text + t->text_off[i];
        size_t len = (size_t)(t->text_off[i + 1] - t->text_off[i]);
        int32_t dup = tok_lookup(t, s, len);
        if (dup != OPML_TOK_NONE)
            return opml_errf(err, errlen, "tokenizer: tokens %" PRId32 " and %" PRIu32 " have the same text", dup, i);
        uint64_t h = hash_bytes(s, len);
        while (t->hash[h & t->hash_mask] != OPML_TOK_NONE) h++;
        t->hash[h & t->hash_mask] = (int32_t)i;
    }
    return 0;
}

/* Decoded pieces (without OPML_TOK_SHOW_SPECIAL; with it, control and unknown tokens show their
 * text, which opml_tok_piece takes from t->text). */
static int build_pieces(opml_tok *t, char *err, size_t errlen) {
    t->piece = malloc(t->text_off[t->n] ? t->text_off[t->n] : 1); /* no piece is longer than its text */
    t->piece_off = malloc((t->n + 1ull) * sizeof *t->piece_off);
    if (!t->piece || !t->piece_off) return opml_errf(err, errlen, "tokenizer: out of memory");
    uint64_t o = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        const char *s = t->text + t->text_off[i];
        size_t len = (size_t)(t->text_off[i + 1] - t->text_off[i]);
        t->piece_off[i] = o;
        if (t->type[i] == OPML_TOK_NORMAL) {
            for (size_t k = 0; k < len;) {
                if (len - k >= SPACE_MARK_LEN && memcmp(s + k, SPACE_MARK, SPACE_MARK_LEN) == 0) {
                    t->piece[o++] = ' ';
                    k += SPACE_MARK_LEN;
                } else {
                    t->piece[o++] = s[k++];
                }
            }
        } else if (t->type[i] == OPML_TOK_BYTE) {
            t->piece[o++] = (char)byte_token_value(s, len);
        } else if (t->type[i] == OPML_TOK_USER_DEFINED) {
            memcpy(t->piece + o, s, len);
            o += len;
        }
    }
    t->piece_off[t->n] = o;
    return 0;
}

static int cmp_special(const void *a, const void *b, void *ctx) {
    const opml_tok *t = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint64_t lx = t->text_off[x + 1] - t->text_off[x], ly = t->text_off[y + 1] - t->text_off[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Byte fallback targets and the special tokens that split the input. */
static int build_specials(opml_tok *t, char *err, size_t errlen) {
    for (int b = 0; b < 256; b++) {
        char name[BYTE_TOKEN_LEN + 1], one = (char)b;
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = tok_lookup(t, name, BYTE_TOKEN_LEN);
        if (t->byte_tok[b] == OPML_TOK_NONE) t->byte_tok[b] = tok_lookup(t, &one, 1);
        if (t->byte_tok[b] == OPML_TOK_NONE) t->byte_tok[b] = t->unk;
    }
    t->special = malloc(t->n * sizeof *t->special);
    if (!t->special) return opml_errf(err, errlen, "tokenizer: out of memory");
    for (uint32_t i = 0; i < t->n; i++) {
        uint8_t ty = t->type[i];
        int empty = t->text_off[i + 1] == t->text_off[i]; /* an empty text would match everywhere */
        if (!empty && (ty == OPML_TOK_CONTROL || ty == OPML_TOK_UNKNOWN || ty == OPML_TOK_USER_DEFINED))
            t->special[t->n_special++] = (int32_t)i;
    }
    qsort_r(t->special, t->n_special, sizeof *t->special, cmp_special, t);
    return 0;
}

static int check_special_id(const char *what, int32_t id, uint32_t n, char *err, size_t errlen) {
    if (id != OPML_TOK_NONE && (id < 0 || (uint32_t)id >= n))
        return opml_errf(err, errlen, "tokenizer: %s id %" PRId32 " is outside the vocabulary of %" PRIu32, what, id, n);
    return 0;
}

int opml_tok_new(const opml_tok_vocab *v, opml_tok **out, char *err, size_t errlen) {
    *out = NULL;
    if (!v->model || strcmp(v->model, "llama") != 0)
        return opml_errf(err, errlen, "tokenizer: model '%s' is not supported (only 'llama', SentencePiece BPE)",
                         v->model ? v->model : "(none)");
    if (v->n == 0 || v->n > INT32_MAX) return opml_errf(err, errlen, "tokenizer: %" PRIu32 " tokens", v->n);
    if (check_special_id("bos", v->bos, v->n, err, errlen) || check_special_id("eos", v->eos, v->n, err, errlen) ||
        check_special_id("unk", v->unk, v->n, err, errlen))
        return -1;
    if ((v->add_bos && v->bos == OPML_TOK_NONE) || (v->add_eos && v->eos == OPML_TOK_NONE))
        return opml_errf(err, errlen, "tokenizer: add_bos/add_eos set without a bos/eos token");
    opml_tok *t = calloc(1, sizeof *t);
    if (!t) return opml_errf(err, errlen, "tokenizer: out of memory");
    t->n = v->n;
    t->bos = v->bos, t->eos = v->eos, t->unk = v->unk;
    t->add_bos = v->add_bos, t->add_eos = v->add_eos, t->add_space_prefix = v->add_space_prefix;
    if (copy_vocab(t, v, err, errlen) != 0 || build_hash(t, err, errlen) != 0 || build_pieces(t, err, errlen) != 0 ||
        build_specials(t, err, errlen) != 0) {
        opml_tok_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void opml_tok_free(opml_tok *t) {
    if (!t) return;
    free(t->text);
    free(t->text_off);
    free(t->piece);
    free(t->piece_off);
    free(t->score);
    free(t->type);
    free(t->hash);
    free(t->special);
    free(t);
}

uint32_t opml_tok_n_vocab(const opml_tok *t) { return t->n; }
int32_t opml_tok_bos(const opml_tok *t) { return t->bos; }
int32_t opml_tok_eos(const opml_tok *t) { return t->eos; }

const char *opml_tok_piece(const opml_tok *t, int32_t id, unsigned flags, size_t *len) {
    if ((flags & OPML_TOK_SHOW_SPECIAL) && (t->type[id] == OPML_TOK_CONTROL || t->type[id] == OPML_TOK_UNKNOWN)) {
        *len = (size_t)(t->text_off[id + 1] - t->text_off[id]);
        return t->text + t->text_off[id];
    }
    *len = (size_t)(t->piece_off[id + 1] - t->piece_off[id]);
    return t->piece + t->piece_off[id];
}

int opml_tok_decode(const opml_tok *t, const int32_t *ids, size_t n, unsigned flags, char **out, size_t *len,
                    char *err, size_t errlen) {
    *out = NULL;
    size_t total = 0, plen;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= t->n)
            return opml_errf(err, errlen, "tokenizer: id %" PRId32 " at %zu is outside the vocabulary of %" PRIu32,
                             ids[i], i, t->n);
        opml_tok_piece(t, ids[i], flags, &plen);
        total += plen;
    }
    char *s = malloc(total + 1);
    if (!s) return opml_errf(err, errlen, "tokenizer: out of memory");
    size_t o = 0;
    int strip = t->add_space_prefix; /* llama.cpp: one leading space goes, unless BOS comes first */
    for (size_t i = 0; i < n; i++) {
        const char *p = opml_tok_piece(t, ids[i], flags, &plen);
        if (strip && plen && p[0] == ' ') p++, plen--;
        strip = 0;
        memcpy(s + o, p, plen);
        o += plen;
    }
    s[o] = 0;
    *out = s;
    *len = o;
    return 0;
}

/* Bytes a UTF-8 character starting with lead byte c has (0: c cannot start one). */
static unsigned utf8_need(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

size_t opml_tok_utf8_put(opml_tok_utf8 *s, const char *in, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (s->npend && (c & 0xC0) == 0x80) { /* a continuation of the held character */
            s->pend[s->npend++] = c;
            if (s->npend == s->need) {
                memcpy(out + o, s->pend, s->npend);
                o += s->npend;
                s->npend = 0;
            }
            continue;
        }
        o += opml_tok_utf8_flush(s, out + o); /* a held character cut short passes as it is */
        unsigned need = utf8_need(c);
        if (need > 1) {
            s->pend[0] = c;
            s->npend = 1;
            s->need = need;
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

size_t opml_tok_utf8_flush(opml_tok_utf8 *s, char *out) {
    size_t n = s->npend;
    memcpy(out, s->pend, n);
    s->npend = 0;
    return n;
}
