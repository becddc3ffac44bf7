/* merkle.c: roots, proofs and updates of the Keccak Merkle tree (see merkle.h).
 *
 * The root of a data range is computed bottom-up in blocks of MERKLE_BLOCK_LEAVES leaves that fit
 * in the cache: each block is reduced in place to its root, the block roots are then reduced the
 * same way, and above the data every right sibling that lies past the end is a zero root. */
#include "merkle.h"

#include "keccak.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MERKLE_BLOCK_HEIGHT 10 /* 1024 leaves, 32 KiB of data per block */

static uint8_t zero_roots[MERKLE_MAX_DEPTH + 1][32];
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static void init_zero_roots(void) {
    memset(zero_roots[0], 0, 32);
    for (unsigned h = 1; h <= MERKLE_MAX_DEPTH; h++) keccak256_pair(zero_roots[h - 1], zero_roots[h - 1], zero_roots[h]);
}

const uint8_t *merkle_zero(unsigned height) {
    pthread_once(&zero_once, init_zero_roots);
    if (height > MERKLE_MAX_DEPTH) return NULL;
    return zero_roots[height];
}

/* Reduce n hashes (n >= 1) in place by `levels` levels; odd tails are paired with the zero root of
 * their level. On return hashes[0] is the root of the 2^levels-leaf subtree starting at hashes[0]. */
static void reduce_in_place(uint8_t (*hashes)[32], size_t n, unsigned base_height, unsigned levels) {
    for (unsigned l = 0; l < levels; l++) {
        size_t pairs = n / 2;
        for (size_t i = 0; i < pairs; i++) keccak256_pair(hashes[2 * i], hashes[2 * i + 1], hashes[i]);
        if (n & 1) {
            keccak256_pair(hashes[n - 1], merkle_zero(base_height + l), hashes[pairs]);
            pairs++;
        }
        n = pairs;
    }
}

/* Root of height h over the first len bytes of data (len <= 2^h * 32), len > 0. */
static void root_of_bytes(const uint8_t *data, size_t len, unsigned height, uint8_t root[32]) {
    size_t leaves = (len + 31) / 32;
    unsigned block_h = height < MERKLE_BLOCK_HEIGHT ? height : MERKLE_BLOCK_HEIGHT;
    size_t block_leaves = (size_t)1 << block_h;
    size_t blocks = (leaves + block_leaves - 1) / block_leaves;
    uint8_t (*block_roots)[32] = malloc(blocks * 32);
    uint8_t (*scratch)[32] = malloc(block_leaves * 32);
    if (!block_roots || !scratch) abort(); /* bounded by len/1024 + 32 KiB: out of memory is fatal */
    for (size_t b = 0; b < blocks; b++) {
        size_t off = b * block_leaves * 32;
        size_t bytes = len - off < block_leaves * 32 ? len - off : block_leaves * 32;
        size_t n = (bytes + 31) / 32;
        size_t pairs = bytes / 64; /* whole pairs of whole leaves straight from the data */
        for (size_t i = 0; i < pairs; i++) keccak256_pair(data + off + 64 * i, data + off + 64 * i + 32, scratch[i]);
        size_t m = pairs;
        if (m * 2 < n) { /* a tail of one or two leaves, the last possibly partial */
            uint8_t tail[64] = {0};
            memcpy(tail, data + off + 64 * pairs, bytes - 64 * pairs);
            keccak256_pair(tail, tail + 32, scratch[m++]);
        }
        if (block_h == 0) memcpy(block_roots[b], data + off, bytes), memset(block_roots[b] + bytes, 0, 32 - bytes);
        else {
            reduce_in_place(scratch, m, 1, block_h - 1);
            memcpy(block_roots[b], scratch[0], 32);
        }
    }
    reduce_in_place(block_roots, blocks, block_h, height - block_h);
    memcpy(root, block_roots[0], 32);
    free(scratch);
    free(block_roots);
}

static int fits(size_t len, unsigned depth) {
    if (depth > MERKLE_MAX_DEPTH) return 0;
    if (depth >= 59) return 1; /* 2^59 leaves exceed any size_t byte count */
    return len <= ((size_t)32 << depth);
}

int merkle_root(const void *data, size_t len, unsigned depth, uint8_t root[32]) {
    if (!fits(len, depth)) return -1;
    if (len == 0) {
        memcpy(root, merkle_zero(depth), 32);
        return 0;
    }
    root_of_bytes(data, len, depth, root);
    return 0;
}

int merkle_subtree_root(const void *data, size_t len, uint64_t first, unsigned height, uint8_t root[32]) {
    if (height > MERKLE_MAX_DEPTH || (height < 64 && (first & ((1ull << height) - 1)))) return -1;
    size_t leaves = (len + 31) / 32;
    if (first >= leaves) {
        memcpy(root, merkle_zero(height), 32);
        return 0;
    }
    size_t off = (size_t)first * 32;
    size_t rest = len - off;
    if (!fits(rest, height)) rest = (size_t)32 << height;
    root_of_bytes((const uint8_t *)data + off, rest, height, root);
    return 0;
}

int merkle_prove(const void *data, size_t len, unsigned depth, uint64_t index, merkle_proof *out) {
    if (!fits(len, depth) || (depth < 64 && index >> depth)) return -1;
    out->index = index;
    out->depth = depth;
    memset(out->leaf, 0, 32);
    size_t off = (size_t)index * 32;
    if (off < len) memcpy(out->leaf, (const uint8_t *)data + off, len - off < 32 ? len - off : 32);
    for (unsigned h = 0; h < depth; h++) {
        uint64_t sibling_first = ((index >> h) ^ 1) << h;
        merkle_subtree_root(data, len, sibling_first, h, out->siblings[h]);
    }
    return 0;
}

void merkle_root_from_path(const uint8_t leaf[32], uint64_t index, unsigned depth,
                           const uint8_t (*siblings)[32], uint8_t root[32]) {
    uint8_t node[32];
    memcpy(node, leaf, 32);
    for (unsigned h = 0; h < depth; h++) {
        if ((index >> h) & 1) keccak256_pair(siblings[h], node, node);
        else keccak256_pair(node, siblings[h], node);
    }
    memcpy(root, node, 32);
}

int merkle_verify(const uint8_t root[32], const merkle_proof *proof) {
    if (proof->depth > MERKLE_MAX_DEPTH) return 0;
    if (proof->depth < 64 && proof->index >> proof->depth) return 0;
    uint8_t got[32];
    merkle_root_from_path(proof->leaf, proof->index, proof->depth, (const uint8_t (*)[32])proof->siblings, got);
    return memcmp(got, root, 32) == 0;
}

void merkle_update(const merkle_proof *proof, const uint8_t new_leaf[32], uint8_t new_root[32]) {
    merkle_root_from_path(new_leaf, proof->index, proof->depth, (const uint8_t (*)[32])proof->siblings, new_root);
}
