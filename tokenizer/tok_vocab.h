/* tok_vocab.h: the tokenizer's private state shared by tokenizer.c (vocabulary, pieces, decoding)
 * and tok_encode.c (encoding). Not part of the API, and it includes no header of the tokenizer:
 * tokenizer.c includes it (so that tokenizer.h does not). */
#ifndef OPML_TOK_VOCAB_H
#define OPML_TOK_VOCAB_H

#include <stddef.h>
#include <stdint.h>

struct opml_tok {
    uint32_t n;
    char *text;          /* every token's text, back to back */
    uint64_t *text_off;  /* n + 1 offsets into text */
    char *piece;         /* every token's decoded piece, back to back */
    uint64_t *piece_off; /* n + 1 offsets into piece */
    float *score;
    uint8_t *type;
    int32_t bos, eos, unk;
    int add_bos, add_eos, add_space_prefix;
    int32_t byte_tok[256];  /* the token a byte falls back to, OPML_TOK_NONE if none */
    uint32_t hash_mask;     /* open addressing: slots hash_mask + 1, a power of two >= 2n */
    int32_t *hash;          /* token id per slot, OPML_TOK_NONE when empty */
    int32_t *special;       /* tokens that split the input (control, unknown, user-defined) */
    uint32_t n_special;     /* longest text first, ties by id */
};

/* The token whose text is the len bytes at s, or OPML_TOK_NONE. */
int32_t tok_lookup(const struct opml_tok *t, const char *s, size_t len);

#endif
