/* special_floats.h: the random operands of the bit-exactness tests: a xorshift stream and floats
 * sprinkled with the values the numerics spec singles out (-0, subnormals, +-Inf, NaNs of both
 * signs, the largest finite). Header-only, one stream per test program. */
#ifndef OPML_SPECIAL_FLOATS_H
#define OPML_SPECIAL_FLOATS_H

#include <stdint.h>

#include "fmath.h"

static uint64_t sf_state = 0x853C49E6748FEA9Bull;

static inline uint32_t sf_rnd(void) {
    sf_state ^= sf_state << 13, sf_state ^= sf_state >> 7, sf_state ^= sf_state << 17;
    return (uint32_t)(sf_state >> 11);
}

/* A float in [-4, 4]; with specials, one in 25 is a special value instead. */
static inline float sf_float(int specials) {
    uint32_t r = sf_rnd() % 1000;
    if (specials && r < 40) {
        static const uint32_t sp[] = {0x80000000u, 0x00000001u, 0x807FFFFFu, 0x7F800000u, 0xFF800000u,
                                      0x7FC00000u, 0xFFC00001u, 0x00400000u, 0x7F7FFFFFu, 0};
        return kf_from_bits(sp[r % 10]);
    }
    return ((float)(sf_rnd() % 2000001) - 1000000.0f) / 250000.0f;
}

#endif
