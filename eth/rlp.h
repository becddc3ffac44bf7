/* rlp.h: Ethereum's Recursive Length Prefix encoding, for transactions. The encoder appends to a
 * growable buffer; a list is opened with rlp_list_begin and closed with rlp_list_end, which inserts
 * the list header once the payload length is known. The decoder is strict: it accepts only the
 * canonical encoding (shortest length forms, no single byte below 0x80 wrapped in a header, no
 * integer with leading zero bytes), so that one value has exactly one accepted encoding. */
#ifndef OPML_CHAIN_RLP_H
#define OPML_CHAIN_RLP_H

#include "u256.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rlp_buf {
    uint8_t *p;
    size_t len, cap;
    int oom; /* set when an allocation failed; the content is then unusable */
} rlp_buf;

/* Zero-initialise an rlp_buf before the first call; rlp_buf_free releases it. */
void rlp_bytes(rlp_buf *b, const uint8_t *data, size_t len);
void rlp_uint(rlp_buf *b, uint64_t v);          /* big-endian without leading zeros; 0 is "" */
void rlp_u256(rlp_buf *b, const u256 *v);
size_t rlp_list_begin(rlp_buf *b);              /* returns the mark to pass to rlp_list_end */
void rlp_list_end(rlp_buf *b, size_t mark);
/* Appends raw bytes (a type byte before a typed transaction's payload). */
void rlp_raw(rlp_buf *b, const uint8_t *data, size_t len);
void rlp_buf_free(rlp_buf *b);

typedef struct rlp_item {
    const uint8_t *data; /* the payload: a string's bytes or a list's concatenated items */
    size_t len;
    int is_list;
} rlp_item;

/* Decodes one item at the start of in[0..len). Returns the bytes it occupies, or 0 if the input
 * is truncated or not canonical. */
size_t rlp_decode(const uint8_t *in, size_t len, rlp_item *out);

/* Takes the next item off a list's remaining payload (*list is advanced). Returns 1 for an item,
 * 0 at the end of the list, -1 on a malformed item. */
int rlp_next(rlp_item *list, rlp_item *out);

/* A string item read as an unsigned integer: at most 8 (or 32) bytes, no leading zero.
 * Returns 0 or -1. */
int rlp_to_uint(const rlp_item *it, uint64_t *v);
int rlp_to_u256(const rlp_item *it, u256 *v);

#endif
