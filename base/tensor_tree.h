/* tensor_tree.h: the tensor root (docs/commitments.md; the definition does not change) of a
 * buffer of fixed capacity, kept up to date as byte ranges of it change: the roots of its chunks
 * of 2^TENSOR_TREE_CHUNK_HEIGHT leaves and every level above them are kept, so a change rehashes
 * the chunks it touches (a range may start and end inside a leaf: partial leaves are handled by
 * rehashing the chunk) and the path up. A LLaMA cache appended one row per token (a Q8_0 row
 * straddles 32-byte leaves) then costs in proportion to the rows written, not to the cache's
 * length (docs/generation.md, "Commitments of a generation"). */
#ifndef OPML_TENSOR_TREE_H
#define OPML_TENSOR_TREE_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_TREE_CHUNK_HEIGHT 4 /* 16 leaves, 512 bytes: a chunk is rehashed whole */

typedef struct opml_tensor_tree {
    size_t cap;            /* bytes of the buffer, at most 2^28 */
    unsigned chunk_h;      /* the chunks' height (TENSOR_TREE_CHUNK_HEIGHT, less for a small buffer) */
    unsigned top;          /* the height of the smallest subtree holding cap bytes (>= chunk_h) */
    uint8_t (*node)[32];   /* every level from the chunks (height chunk_h) to the top, level after level */
    size_t *first;         /* per level above the chunks: the index in node of its node 0 */
    size_t *count;         /* per level: its nodes */
} opml_tensor_tree;

/* A tree over cap bytes (1 <= cap <= 2^28) of data (NULL: all zero). 0, or -1 (out of memory,
 * cap out of range). */
int opml_tensor_tree_init(opml_tensor_tree *t, size_t cap, const void *data);
void opml_tensor_tree_free(opml_tensor_tree *t);

/* Bytes [off, off + len) of the buffer changed: rehash what they touch. The buffer is data[0 ..
 * end) followed by zeros (end <= cap; data is read below end only): rows appended to a cache
 * whose later rows hold other bytes already (a prompt run as one batch) are hashed as if those
 * were still zero, and rows dropped again (end moved back) as zeros. Precondition
 * off + len <= cap. */
void opml_tensor_tree_update(opml_tensor_tree *t, const void *data, size_t off, size_t len, size_t end);

/* The tensor root of the buffer as last updated: merkle_tensor_root(data, cap). */
void opml_tensor_tree_root(const opml_tensor_tree *t, uint8_t root[32]);

#endif
