/* tensor_root.h: the pieces of a tensor root (docs/commitments.md) for callers that schedule the
 * hashing themselves, eight Keccak permutations per AVX-512 instruction stream where the CPU has
 * it: the engine's commitments are almost all hashing. The whole root is merkle_tensor_root
 * (merkle.h), implemented beside these in tensor_root.c. */
#ifndef OPML_TENSOR_ROOT_H
#define OPML_TENSOR_ROOT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

/* The engine hashes every value of a run in chunks on two threads, then finishes all the trees
 * together. */

#define OPML_CHUNK_BYTES 8192 /* the chunk size opml_chunk_root hashes without allocating */

/* out[i] = keccak256(left[i] ++ right[i]) for i < n (32 bytes each), eight at a time with
 * AVX-512. An out[i] may overlap the inputs of pairs <= i, never those of a later pair. */
void opml_hash_pairs(size_t n, const uint8_t *const *left, const uint8_t *const *right, uint8_t *const *out);

/* The root of the subtree of height `height` whose leaves are data[0 .. len), zero after:
 * merkle_root(data, len, height, root). Requires 0 < len <= 32 << height and height <= 23;
 * returns 0, or -1 when they do not hold. */
int opml_chunk_root(const void *data, size_t len, unsigned height, uint8_t root[32]);

/* Finish ntrees tensor roots at once, level by level, every level's parents of all trees hashed
 * together: tree t has count[t] nodes at height[t] in nodes[t] (room for count[t] + 1 nodes; 0
 * nodes is the empty tensor); roots[t] becomes the root at height 23 of those nodes followed by
 * zero subtrees. nodes, count and height are overwritten. Returns 0, or -1 (a height above 23,
 * or more than one node at 23, or out of memory). */
int opml_fold_roots(size_t ntrees, uint8_t *const *nodes, size_t *count, unsigned *height, uint8_t (*roots)[32]);

#endif
