/* The Merkle tree against a naive full-tree reference, on sizes around every block and leaf edge;
 * proofs verify and every tampering (leaf, sibling, index, root) fails; one-leaf updates. */
#include "check.h"
#include "keccak.h"
#include "merkle.h"

#include <stdlib.h>

/* Naive reference: materialise all 2^depth leaves. */
static void naive_root(const uint8_t *data, size_t len, unsigned depth, uint8_t root[32]) {
    size_t n = (size_t)1 << depth;
    uint8_t (*level)[32] = calloc(n, 32);
    memcpy(level, data, len);
    for (; n > 1; n /= 2)
        for (size_t i = 0; i < n / 2; i++) keccak256_pair(level[2 * i], level[2 * i + 1], level[i]);
    memcpy(root, level[0], 32);
    free(level);
}

static uint64_t rng = 88172645463325252ull;
static uint8_t next_byte(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint8_t)rng;
}

int main(void) {
    /* zero roots: height 0 is 32 zero bytes, height 1 is keccak of 64 zero bytes */
    uint8_t zeros[64] = {0}, h1[32];
    keccak256(zeros, 64, h1);
    CHECK_MEM(merkle_zero(0), zeros, 32);
    CHECK_MEM(merkle_zero(1), h1, 32);

    static uint8_t data[40000 * 32 / 8];
    for (size_t i = 0; i < sizeof data; i++) data[i] = next_byte();
    const size_t lens[] = {0, 1, 31, 32, 33, 63, 64, 65, 96, 1000, 32 * 1023, 32 * 1024, 32 * 1024 + 1,
                           32 * 1025, 32 * 2048 + 5, sizeof data};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        for (unsigned depth = 0; depth <= 14; depth++) {
            if (len > ((size_t)32 << depth)) continue;
            uint8_t fast[32], slow[32];
            CHECK(merkle_root(data, len, depth, fast) == 0);
            naive_root(data, len, depth, slow);
            CHECK_MEM(fast, slow, 32);
        }
        uint8_t too_small[32];
        if (len > 32) CHECK(merkle_root(data, len, 0, too_small) == -1);
    }

    /* proofs over a tensor: verify; tampering with any part fails */
    size_t len = 32 * 1500 + 7;
    uint8_t root[32];
    CHECK(merkle_tensor_root(data, len, root) == 0);
    const uint64_t indices[] = {0, 1, 2, 1023, 1024, 1499, 1500, 1501, (1u << 23) - 1};
    for (size_t k = 0; k < sizeof indices / sizeof indices[0]; k++) {
        merkle_proof p;
        CHECK(merkle_prove(data, len, MERKLE_SLOT_DEPTH, indices[k], &p) == 0);
        CHECK(merkle_verify(root, &p));
        merkle_proof t = p;
        t.leaf[5] ^= 1;
        CHECK(!merkle_verify(root, &t));
        for (unsigned h = 0; h < p.depth; h += 5) {
            t = p;
            t.siblings[h][31] ^= 0x80;
            CHECK(!merkle_verify(root, &t));
        }
        t = p;
        t.index ^= 1; /* indistinguishable only where the leaf equals its neighbour (zero tails) */
        if (memcmp(p.leaf, p.siblings[0], 32) != 0) CHECK(!merkle_verify(root, &t));
        t.index = 1ull << 23;
        CHECK(!merkle_verify(root, &t));
        uint8_t other_root[32];
        memcpy(other_root, root, 32);
        other_root[0] ^= 1;
        CHECK(!merkle_verify(other_root, &p));

        /* one-leaf update equals recomputing the root of the changed data */
        static uint8_t changed[32 * 1502];
        memcpy(changed, data, len);
        memset(changed + len, 0, sizeof changed - len);
        uint8_t leaf[32];
        for (int i = 0; i < 32; i++) leaf[i] = next_byte();
        uint8_t updated[32], recomputed[32];
        merkle_update(&p, leaf, updated);
        if (indices[k] < 1502) {
            memcpy(changed + 32 * indices[k], leaf, 32);
            CHECK(merkle_tensor_root(changed, sizeof changed, recomputed) == 0);
            CHECK_MEM(updated, recomputed, 32);
        }
    }

    /* subtree roots of aligned ranges are the roots of those bytes */
    uint8_t sub[32], direct[32];
    CHECK(merkle_subtree_root(data, len, 1024, 9, sub) == 0);
    CHECK(merkle_root(data + 32 * 1024, len - 32 * 1024, 9, direct) == 0);
    CHECK_MEM(sub, direct, 32);
    CHECK(merkle_subtree_root(data, len, 1000, 9, sub) == -1);

    CHECK(merkle_tensor_root(data, MERKLE_SLOT_BYTES + 1, root) == -1);
    return check_summary("test_merkle");
}
