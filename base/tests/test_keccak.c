/* Keccak-256 against published vectors (Ethereum's keccak256; the 135/136/137-byte inputs straddle
 * the 136-byte rate; the million 'a' vector is the Keccak team's), and streaming vs one-shot. */
#include "check.h"
#include "hex.h"
#include "keccak.h"

#include <stdlib.h>

static void expect(const void *data, size_t len, const char *want_hex) {
    uint8_t got[32], want[32];
    keccak256(data, len, got);
    CHECK(hex_decode(want_hex, want, 32) == 0);
    CHECK_MEM(got, want, 32);
}

static char *repeat_a(size_t n) {
    char *s = malloc(n);
    memset(s, 'a', n);
    return s;
}

int main(void) {
    expect("", 0, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect("abc", 3, "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    const char *rate_edges[][2] = {
        {"135", "0x34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446"},
        {"136", "0xa6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e"},
        {"137", "0xd869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39"},
        {"1000000", "0xfadae6b49f129bbb812be8407b7b2894f34aecf6dbd1f9b0f0c7e9853098fc96"},
    };
    for (size_t i = 0; i < 4; i++) {
        size_t n = strtoul(rate_edges[i][0], NULL, 10);
        char *a = repeat_a(n);
        expect(a, n, rate_edges[i][1]);
        /* the same bytes fed in uneven pieces */
        keccak256_ctx ctx;
        keccak256_init(&ctx);
        for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 % 301 + 1)
            keccak256_update(&ctx, a + off, off + step > n ? n - off : step);
        uint8_t streamed[32], whole[32];
        keccak256_final(&ctx, streamed);
        keccak256(a, n, whole);
        CHECK_MEM(streamed, whole, 32);
        free(a);
    }
    /* the pair fast path is keccak256 of the 64 concatenated bytes */
    uint8_t lr[64], pair[32], flat[32];
    for (int i = 0; i < 64; i++) lr[i] = (uint8_t)(i * 7 + 1);
    keccak256_pair(lr, lr + 32, pair);
    keccak256(lr, 64, flat);
    CHECK_MEM(pair, flat, 32);
    return check_summary("test_keccak");
}
