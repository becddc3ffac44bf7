/* keccak.c: Keccak-256 over nettle's permutation. The lanes are little-endian 64-bit words, so on
 * a little-endian host absorbing is a byte-wise XOR into the state's memory. */
#include "keccak.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "opml assumes a little-endian host");

static void xor_into_state(struct sha3_state *st, const uint8_t *data, size_t len) {
    uint8_t *s = (uint8_t *)st->a;
    for (size_t i = 0; i < len; i++) s[i] ^= data[i];
}

void keccak256_init(keccak256_ctx *ctx) {
    memset(ctx, 0, sizeof *ctx);
}

void keccak256_update(keccak256_ctx *ctx, const void *data, size_t len) {
    const uint8_t *p = data;
    if (ctx->used) {
        size_t take = KECCAK256_RATE - ctx->used;
        if (take > len) take = len;
        memcpy(ctx->block + ctx->used, p, take);
        ctx->used += take;
        p += take;
        len -= take;
        if (ctx->used < KECCAK256_RATE) return;
        xor_into_state(&ctx->state, ctx->block, KECCAK256_RATE);
        sha3_permute(&ctx->state);
        ctx->used = 0;
    }
    while (len >= KECCAK256_RATE) {
        xor_into_state(&ctx->state, p, KECCAK256_RATE);
        sha3_permute(&ctx->state);
        p += KECCAK256_RATE;
        len -= KECCAK256_RATE;
    }
    if (len) {
        memcpy(ctx->block, p, len);
        ctx->used = len;
    }
}

void keccak256_final(keccak256_ctx *ctx, uint8_t out[32]) {
    memset(ctx->block + ctx->used, 0, KECCAK256_RATE - ctx->used);
    ctx->block[ctx->used] ^= 0x01;
    ctx->block[KECCAK256_RATE - 1] ^= 0x80;
    xor_into_state(&ctx->state, ctx->block, KECCAK256_RATE);
    sha3_permute(&ctx->state);
    memcpy(out, ctx->state.a, 32);
}

void keccak256(const void *data, size_t len, uint8_t out[32]) {
    keccak256_ctx ctx;
    keccak256_init(&ctx);
    keccak256_update(&ctx, data, len);
    keccak256_final(&ctx, out);
}

void keccak256_pair(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]) {
    struct sha3_state st;
    memcpy(st.a, left, 32);
    memcpy(st.a + 4, right, 32);
    st.a[8] = 0x01;  /* padding starts right after the 64 message bytes */
    memset(st.a + 9, 0, sizeof st.a - 9 * sizeof st.a[0]);
    st.a[16] = 0x8000000000000000ull; /* ...and ends at byte 135, the last of the rate */
    sha3_permute(&st);
    memcpy(out, st.a, 32);
}
