/* keccak.h: Keccak-256 as Ethereum and Solidity's keccak256 define it (original Keccak padding
 * 0x01..0x80, not SHA-3's 0x06). Built on nettle's Keccak-f[1600] permutation (sha3_permute).
 * Every commitment in opml (tensor roots, graph states, VM states, envelopes) hashes with this. */
#ifndef OPML_KECCAK_H
#define OPML_KECCAK_H

#include <stddef.h>
#include <stdint.h>
#include <nettle/sha3.h>

#define KECCAK256_RATE 136 /* bytes absorbed per permutation */

typedef struct keccak256_ctx {
    struct sha3_state state;
    uint8_t block[KECCAK256_RATE];
    size_t used; /* bytes of block filled, < KECCAK256_RATE */
} keccak256_ctx;

void keccak256_init(keccak256_ctx *ctx);
/* Absorb len bytes. data may be NULL only when len is 0. */
void keccak256_update(keccak256_ctx *ctx, const void *data, size_t len);
/* Pad, squeeze the 32-byte digest into out; ctx must be re-initialised before reuse. */
void keccak256_final(keccak256_ctx *ctx, uint8_t out[32]);

/* One-shot digest of len bytes. */
void keccak256(const void *data, size_t len, uint8_t out[32]);

/* keccak256(left ++ right): the Merkle parent, one permutation. out may alias left or right. */
void keccak256_pair(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

#endif
