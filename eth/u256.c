/* u256.c: see u256.h. Schoolbook arithmetic on bytes: these numbers are parsed and printed, not
 * computed with in loops, so clarity wins over speed. */
#include "u256.h"

#include <string.h>

void u256_from_u64(u256 *x, uint64_t v) {
    memset(x->b, 0, 32);
    for (int i = 0; i < 8; i++) x->b[31 - i] = (uint8_t)(v >> (8 * i));
}

int u256_to_u64(const u256 *x, uint64_t *v) {
    for (int i = 0; i < 24; i++)
        if (x->b[i]) return -1;
    uint64_t r = 0;
    for (int i = 24; i < 32; i++) r = r << 8 | x->b[i];
    *v = r;
    return 0;
}

int u256_is_zero(const u256 *x) {
    for (int i = 0; i < 32; i++)
        if (x->b[i]) return 0;
    return 1;
}

int u256_cmp(const u256 *a, const u256 *b) { return memcmp(a->b, b->b, 32); }

int u256_add(u256 *x, const u256 *y) {
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = x->b[i] + y->b[i] + carry;
        x->b[i] = (uint8_t)s;
        carry = s >> 8;
    }
    return (int)carry;
}

int u256_mul_small(u256 *x, uint32_t m) {
    uint64_t carry = 0;
    for (int i = 31; i >= 0; i--) {
        uint64_t p = (uint64_t)x->b[i] * m + carry;
        x->b[i] = (uint8_t)p;
        carry = p >> 8;
    }
    return carry ? -1 : 0;
}

/* x /= d, returns the remainder. */
static uint32_t divmod_small(u256 *x, uint32_t d) {
    uint64_t rem = 0;
    for (int i = 0; i < 32; i++) {
        uint64_t cur = rem << 8 | x->b[i];
        x->b[i] = (uint8_t)(cur / d);
        rem = cur % d;
    }
    return (uint32_t)rem;
}

static void negate(u256 *x) {
    for (int i = 0; i < 32; i++) x->b[i] = (uint8_t)~x->b[i];
    u256 one;
    u256_from_u64(&one, 1);
    u256_add(x, &one);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int u256_parse(u256 *x, const char *text, int allow_negative) {
    int neg = 0;
    memset(x->b, 0, 32);
    if (*text == '-') {
        if (!allow_negative) return -1;
        neg = 1;
        text++;
    }
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text += 2;
        size_t n = strlen(text);
        if (n == 0 || n > 64) return -1;
        for (size_t i = 0; i < n; i++) {
            int v = hexval(text[n - 1 - i]);
            if (v < 0) return -1;
            x->b[31 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
        }
    } else {
        if (!*text) return -1;
        for (; *text; text++) {
            if (*text < '0' || *text > '9') return -1;
            u256 d;
            u256_from_u64(&d, (uint64_t)(*text - '0'));
            if (u256_mul_small(x, 10) || u256_add(x, &d)) return -1;
        }
    }
    if (neg) {
        /* magnitude at most 2^255 */
        u256 lim = {{0x80}};
        if (u256_cmp(x, &lim) > 0) return -1;
        negate(x);
    }
    return 0;
}

void u256_to_dec(const u256 *x, int is_signed, unsigned bits, char out[80]) {
    u256 v = *x;
    int neg = 0;
    if (is_signed && bits >= 8 && bits <= 256) {
        unsigned byte = 32 - bits / 8; /* the most significant byte of the bits-wide value */
        if (v.b[byte] & 0x80) {
            neg = 1;
            negate(&v);
            for (unsigned i = 0; i < byte; i++) v.b[i] = 0; /* drop the sign extension */
        }
    }
    char tmp[80];
    int n = 0;
    do tmp[n++] = (char)('0' + divmod_small(&v, 10));
    while (!u256_is_zero(&v));
    int o = 0;
    if (neg) out[o++] = '-';
    while (n) out[o++] = tmp[--n];
    out[o] = 0;
}

void u256_to_hex(const u256 *x, char out[67]) {
    static const char digits[] = "0123456789abcdef";
    int o = 0, started = 0;
    out[o++] = '0';
    out[o++] = 'x';
    for (int i = 0; i < 64; i++) {
        int v = (x->b[i / 2] >> (i % 2 ? 0 : 4)) & 15;
        if (v || started || i == 63) {
            out[o++] = digits[v];
            started = 1;
        }
    }
    out[o] = 0;
}
