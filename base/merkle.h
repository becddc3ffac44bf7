/* merkle.h: the binary Keccak Merkle tree of docs/commitments.md (normative).
 *
 *   - a leaf is 32 bytes of data, not hashed; a parent is keccak256(left ++ right);
 *   - a tree of depth d has 2^d leaves; data is laid from leaf 0 on, missing bytes are zero;
 *   - zero subtrees are precomputed: merkle_zero(h) is the root of 2^h zero leaves;
 *   - a tensor root is the root of depth MERKLE_SLOT_DEPTH (2^23 leaves = a 2^28-byte slot).
 *
 * Roots are computed in time proportional to the data, not to 2^depth: every subtree past the end
 * of the data is a precomputed zero root. Proof siblings are listed from the leaf's level upwards:
 * siblings[0] is the leaf's neighbour, siblings[depth-1] the root's other child. */
#ifndef OPML_MERKLE_H
#define OPML_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_LEAF_BYTES 32
#define MERKLE_MAX_DEPTH 64
#define MERKLE_SLOT_DEPTH 23                    /* 2^23 leaves of 32 bytes: 2^28 bytes */
#define MERKLE_SLOT_BYTES (1ull << 28)

typedef uint8_t merkle_hash[32];

/* Root of a subtree of height h (0 <= h <= MERKLE_MAX_DEPTH) whose leaves are all zero. */
const uint8_t *merkle_zero(unsigned height);

/* Root of a tree of depth `depth` holding `len` bytes of `data` from leaf 0 on, the rest zero.
 * Returns 0, or -1 if depth > MERKLE_MAX_DEPTH or the data does not fit in 2^depth leaves. */
int merkle_root(const void *data, size_t len, unsigned depth, uint8_t root[32]);

/* The tensor root of docs/commitments.md: merkle_root at depth MERKLE_SLOT_DEPTH, bit for bit.
 * Defined in tensor_root.c: eight Keccak permutations at a time where the CPU has AVX-512, and
 * tensors of 128 KiB and more on two threads. Returns -1 if len > 2^28. */
int merkle_tensor_root(const void *data, size_t len, uint8_t root[32]);

/* An inclusion proof of one leaf. */
typedef struct merkle_proof {
    uint64_t index;                             /* leaf index, < 2^depth */
    unsigned depth;
    uint8_t leaf[32];
    uint8_t siblings[MERKLE_MAX_DEPTH][32];     /* only the first `depth` are used */
} merkle_proof;

/* Proof of leaf `index` in the tree merkle_root(data, len, depth) describes. Returns 0 or -1
 * (bad depth, data does not fit, index out of range). */
int merkle_prove(const void *data, size_t len, unsigned depth, uint64_t index, merkle_proof *out);

/* The height at which the paths of leaves a and b meet: the lowest h with a >> h == b >> h (0 when
 * a == b). Below it each path has its own siblings; at h - 1 each one's node is the other's sibling,
 * and from h up the two share them. */
static inline unsigned merkle_meet_height(uint64_t a, uint64_t b) {
    unsigned h = 0;
    for (uint64_t x = a ^ b; x; x >>= 1) h++;
    return h;
}

/* The root that `leaf` at `index` with these siblings (depth of them, leaf level first) implies. */
void merkle_root_from_path(const uint8_t leaf[32], uint64_t index, unsigned depth,
                           const uint8_t (*siblings)[32], uint8_t root[32]);

/* 1 if the proof's leaf sits at its index under `root`, else 0. */
int merkle_verify(const uint8_t root[32], const merkle_proof *proof);

/* The root after replacing the proof's leaf by new_leaf (a one-leaf update): the proof's
 * siblings are unchanged by the update, so this is merkle_root_from_path with the new leaf. */
void merkle_update(const merkle_proof *proof, const uint8_t new_leaf[32], uint8_t new_root[32]);

/* Root of the aligned subtree of height h covering leaves [first, first + 2^h) of the data's
 * tree; first must be a multiple of 2^h. Returns 0 or -1. */
int merkle_subtree_root(const void *data, size_t len, uint64_t first, unsigned height, uint8_t root[32]);

#endif
