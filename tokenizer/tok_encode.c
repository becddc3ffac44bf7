/* tok_encode.c: opml_tok_encode (tokenizer.h, steps 1-6): the split at special tokens, then per
 * text fragment the SentencePiece merge of llama.cpp's llm_tokenizer_spm: symbols in a doubly
 * linked list, candidate pairs in a max-heap by (score, leftmost), a popped pair applied only if
 * both symbols still have the lengths it was made with (a stale pair is skipped), and the two
 * pairs around the merged symbol pushed. Every merge makes a vocabulary token, so a final symbol
 * that is not a token is a single character never merged: it falls back to byte tokens (the
 * resegment step of llama.cpp reduces to exactly that). O(n log n) in the text's length. */
#define _GNU_SOURCE /* memmem */
#include "tokenizer.h"

#include "errmsg.h"
#include "tok_vocab.h"

#include <stdlib.h>
#include <string.h>

typedef struct sym {
    int32_t prev, next;
    uint32_t off, n; /* bytes of the escaped fragment; n = 0 once merged into its left neighbour */
} sym;

typedef struct pair {
    float score;
    int32_t left, right;
    uint32_t size; /* left.n + right.n when the pair was made */
} pair;

/* Room for one more element in the growable array *v of *cap elements of elem bytes, n used:
 * doubles it when full. 0 or -1 (out of memory; *v unchanged). */
static int grow(void *v, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*(void **)v, c * elem);
    if (!p) return -1;
    *(void **)v = p;
    *cap = c;
    return 0;
}

typedef struct ids_buf {
    int32_t *v;
    size_t n, cap;
} ids_buf;

static int ids_push(ids_buf *b, int32_t id) {
    if (grow(&b->v, &b->cap, b->n, sizeof *b->v)) return -1;
    b->v[b->n++] = id;
    return 0;
}

/* Heap order: a before b when its score is higher, or equal with a smaller left index. */
static int pair_before(const pair *a, const pair *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct heap {
    pair *v;
    size_t n, cap;
} heap;

static int heap_push(heap *h, pair p) {
    if (grow(&h->v, &h->cap, h->n, sizeof *h->v)) return -1;
    size_t i = h->n++;
    while (i > 0 && pair_before(&p, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
    return 0;
}

static pair heap_pop(heap *h) {
    pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && pair_before(&h->v[c + 1], &h->v[c])) c++;
        if (!pair_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

typedef struct session {
    const opml_tok *t;
    const char *s; /* the escaped fragment */
    sym *syms;
    heap h;
} session;

static int try_pair(session *z, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return 0;
    uint32_t size = z->syms[l].n + z->syms[r].n;
    int32_t id = tok_lookup(z->t, z->s + z->syms[l].off, size);
    if (id == OPML_TOK_NONE) return 0;
    pair p = {z->t->score[id], l, r, size};
    return heap_push(&z->h, p);
}

/* Merges the escaped fragment s (len > 0 bytes) and appends its tokens. */
static int spm_fragment(const opml_tok *t, const char *s, uint32_t len, ids_buf *out) {
    static const uint8_t utf8_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    session z = {t, s, malloc(len * sizeof(sym)), {0}};
    int rc = z.syms ? 0 : -1;
    int32_t nsym = 0;
    for (uint32_t off = 0; off < len && rc == 0; nsym++) {
        uint32_t n = utf8_len[(uint8_t)s[off] >> 4];
        if (n > len - off) n = len - off;
        z.syms[nsym] = (sym){nsym - 1, off + n == len ? -1 : nsym + 1, off, n};
        off += n;
    }
    for (int32_t i = 1; i < nsym && rc == 0; i++) rc = try_pair(&z, i - 1, i);
    while (z.h.n && rc == 0) {
        pair p = heap_pop(&z.h);
        sym *l = &z.syms[p.left], *r = &z.syms[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) z.syms[r->next].prev = p.left;
        rc = try_pair(&z, l->prev, p.left);
        if (rc == 0) rc = try_pair(&z, p.left, l->next);
    }
    for (int32_t i = 0; i != -1 && rc == 0; i = z.syms[i].next) {
        int32_t id = tok_lookup(t, s + z.syms[i].off, z.syms[i].n);
        if (id != OPML_TOK_NONE) {
            rc = ids_push(out, id);
            continue;
        }
        for (uint32_t k = 0; k < z.syms[i].n && rc == 0; k++) {
            int32_t b = t->byte_tok[(uint8_t)s[z.syms[i].off + k]];
            if (b != OPML_TOK_NONE) rc = ids_push(out, b);
        }
    }
    free(z.syms);
    free(z.h.v);
    return rc;
}

/* A piece of the input: text [off, off + len) or the special token id (len = 0). */
typedef struct frag {
    size_t off, len;
    int32_t id;
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
} frags;

static int frag_push(frags *f, frag x) {
    if (grow(&f->v, &f->cap, f->n, sizeof *f->v)) return -1;
    f->v[f->n++] = x;
    return 0;
}

/* Splits every text fragment of *f at each leftmost non-overlapping occurrence of token id. */
static int split_at(const opml_tok *t, const char *text, int32_t id, frags *f) {
    const char *tt = t->text + t->text_off[id];
    size_t tl = (size_t)(t->text_off[id + 1] - t->text_off[id]);
    frags g = {0};
    int rc = 0;
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        frag x = f->v[i];
        if (x.id != OPML_TOK_NONE) {
            rc = frag_push(&g, x);
            continue;
        }
        size_t at = x.off, end = x.off + x.len;
        const char *m;
        while (rc == 0 && (m = memmem(text + at, end - at, tt, tl)) != NULL) {
            size_t mo = (size_t)(m - text);
            if (mo > at) rc = frag_push(&g, (frag){at, mo - at, OPML_TOK_NONE});
            if (rc == 0) rc = frag_push(&g, (frag){0, 0, id});
            at = mo + tl;
        }
        if (rc == 0 && at < end) rc = frag_push(&g, (frag){at, end - at, OPML_TOK_NONE});
    }
    free(f->v);
    *f = g;
    return rc;
}

/* The fragment with the leading space (if due) and every ' ' as U+2581, in buf (room 3 * len + 3). */
static uint32_t escape(const char *s, size_t len, int lead_space, char *buf) {
    uint32_t o = 0;
    if (lead_space) memcpy(buf, "\xe2\x96\x81", 3), o = 3;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') memcpy(buf + o, "\xe2\x96\x81", 3), o += 3;
        else buf[o++] = s[i];
    }
    return o;
}

int opml_tok_encode(const opml_tok *t, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n,
                    char *err, size_t errlen) {
    *ids = NULL;
    *n = 0;
    if (len > OPML_TOK_MAX_TEXT)
        return opml_errf(err, errlen, "tokenizer: text of %zu bytes (at most %u)", len, OPML_TOK_MAX_TEXT);
    ids_buf out = {0};
    frags f = {0};
    char *buf = NULL;
    int rc = 0;
    if (len) rc = frag_push(&f, (frag){0, len, OPML_TOK_NONE});
    for (uint32_t k = 0; k < t->n_special && rc == 0; k++) {
        int32_t id = t->special[k];
        if (t->type[id] == OPML_TOK_USER_DEFINED || (flags & OPML_TOK_PARSE_SPECIAL)) rc = split_at(t, text, id, &f);
    }
    int add = (flags & OPML_TOK_ADD_SPECIAL) != 0;
    if (rc == 0 && add && t->add_bos) rc = ids_push(&out, t->bos);
    if (rc == 0 && len) rc = (buf = malloc(3 * len + 3)) ? 0 : -1;
    int prev_special = 1; /* the input's start counts as a special token */
    for (size_t i = 0; i < f.n && rc == 0; i++) {
        if (f.v[i].id != OPML_TOK_NONE) {
            rc = ids_push(&out, f.v[i].id);
            prev_special = 1;
            continue;
        }
        uint32_t el = escape(text + f.v[i].off, f.v[i].len, t->add_space_prefix && prev_special, buf);
        rc = spm_fragment(t, buf, el, &out);
        prev_special = 0;
    }
    if (rc == 0 && add && t->add_eos) rc = ids_push(&out, t->eos);
    if (rc == 0 && !out.v) rc = (out.v = malloc(sizeof *out.v)) ? 0 : -1;
    free(buf);
    free(f.v);
    if (rc != 0) {
        free(out.v);
        return opml_errf(err, errlen, "tokenizer: out of memory");
    }
    *ids = out.v;
    *n = out.n;
    return 0;
}
