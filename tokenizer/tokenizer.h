/* tokenizer.h: text to token ids and back for LLaMA-family models (interface 2 of issue 13):
 * SentencePiece BPE with byte fallback, exactly as llama.cpp tokenizes with its "llama" (SPM)
 * vocabulary type, so that a prompt gives the ids llama.cpp gives.
 *
 * Encoding a text (llama.cpp's llama_vocab::tokenize with the SPM type):
 *  1. With OPML_TOK_ADD_SPECIAL and add_bos: BOS first. An empty text gives no other token.
 *  2. The text is split at special tokens: user-defined tokens always, control and unknown tokens
 *     only with OPML_TOK_PARSE_SPECIAL; longer token texts first (ties by id), each splitting every
 *     text fragment at its leftmost non-overlapping occurrences.
 *  3. Each text fragment that starts the input or follows a special token gets one leading space
 *     when add_space_prefix is set; every ' ' becomes U+2581 ("▁").
 *  4. The fragment is cut into UTF-8 characters by the lead byte alone (0xC0-0xDF: 2 bytes, 0xE0-
 *     0xEF: 3, 0xF0-0xFF: 4, anything else 1; the last one cut short at the end), and adjacent
 *     symbols are merged while some adjacent pair's concatenation is a vocabulary token: always
 *     the pair whose token has the highest score, ties to the leftmost pair.
 *  5. Each final symbol is its token if it is one, else one byte token "<0xHH>" per byte (or the
 *     token whose text is that single byte; or unk when neither exists, where llama.cpp fails).
 *  6. With OPML_TOK_ADD_SPECIAL and add_eos: EOS last.
 * Decoding a token (llama.cpp's token_to_piece): a normal token's text with U+2581 as ' ', a byte
 * token's byte, a user-defined token's text, control and unknown tokens nothing (their text with
 * OPML_TOK_SHOW_SPECIAL), unused/undefined tokens nothing. Byte tokens can split a UTF-8
 * character over several pieces: opml_tok_utf8 holds partial characters back when streaming. */
#ifndef OPML_TOKENIZER_H
#define OPML_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* Token types, as GGUF's tokenizer.ggml.token_type numbers them. */
enum opml_tok_type {
    OPML_TOK_UNDEFINED = 0,
    OPML_TOK_NORMAL = 1,
    OPML_TOK_UNKNOWN = 2,
    OPML_TOK_CONTROL = 3,
    OPML_TOK_USER_DEFINED = 4,
    OPML_TOK_UNUSED = 5,
    OPML_TOK_BYTE = 6,
};

#define OPML_TOK_ADD_SPECIAL 1u   /* encode: BOS / EOS as the vocabulary's add_bos / add_eos say */
#define OPML_TOK_PARSE_SPECIAL 2u /* encode: control/unknown token texts in the input are tokens */
#define OPML_TOK_SHOW_SPECIAL 4u  /* decode: control/unknown tokens give their text */
#define OPML_TOK_NONE (-1)        /* no such special token */
#define OPML_TOK_MAX_TEXT (1u << 29) /* longest text encode takes, in bytes */

/* A vocabulary as plain arrays (from GGUF metadata, or from the .opml metadata section). */
typedef struct opml_tok_vocab {
    const char *model;       /* "llama" (SentencePiece BPE with byte fallback): the kind supported */
    uint32_t n;              /* tokens, 1..INT32_MAX */
    const char *const *text; /* token i is len[i] bytes at text[i] (UTF-8, U+2581 for a space) */
    const uint32_t *len;
    const float *score;      /* merge priority; NULL: all 0 */
    const int32_t *type;     /* enum opml_tok_type; NULL: all normal */
    int32_t bos, eos, unk;   /* ids, or OPML_TOK_NONE */
    int add_bos, add_eos, add_space_prefix;
} opml_tok_vocab;

typedef struct opml_tok opml_tok;

/* Builds a tokenizer (it copies what it needs from v). Refused: another model kind, no tokens,
 * a duplicate token text, a type outside 0..6, a byte token whose text is not <0xHH>, a special
 * id out of range, add_bos/add_eos without that id. Returns 0 or -1 + err. */
int opml_tok_new(const opml_tok_vocab *v, opml_tok **out, char *err, size_t errlen);
void opml_tok_free(opml_tok *t);

uint32_t opml_tok_n_vocab(const opml_tok *t);
int32_t opml_tok_bos(const opml_tok *t);
int32_t opml_tok_eos(const opml_tok *t);

/* Encodes len bytes of text (any bytes; at most OPML_TOK_MAX_TEXT). On success *ids is a malloc'd
 * array of *n ids (the caller frees it; non-NULL even when *n is 0). Returns 0 or -1 + err. */
int opml_tok_encode(const opml_tok *t, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n,
                    char *err, size_t errlen);

/* The bytes token id decodes to (*len of them, not NUL-terminated; valid while t lives).
 * Precondition: 0 <= id < n_vocab. */
const char *opml_tok_piece(const opml_tok *t, int32_t id, unsigned flags, size_t *len);

/* Decodes n ids into a malloc'd NUL-terminated string (*len bytes before the NUL), as llama.cpp's
 * detokenize: the pieces in order, the first piece's leading space dropped when add_space_prefix
 * is set and the ids do not start with BOS. An id out of range is an error: 0 or -1 + err. */
int opml_tok_decode(const opml_tok *t, const int32_t *ids, size_t n, unsigned flags, char **out, size_t *len,
                    char *err, size_t errlen);

/* Streaming UTF-8: bytes in, whole characters out. A started character is held back until it is
 * complete; bytes that cannot be part of a valid character pass through as they are. */
typedef struct opml_tok_utf8 {
    unsigned char pend[4];
    unsigned npend, need;
} opml_tok_utf8;
/* Writes to out (room for len + 4 bytes) what can be shown after len more bytes; returns the count. */
size_t opml_tok_utf8_put(opml_tok_utf8 *s, const char *in, size_t len, char *out);
/* Writes what is held back (at most 3 bytes, an incomplete character) and empties s. */
size_t opml_tok_utf8_flush(opml_tok_utf8 *s, char *out);

#endif
