/* q8_simd.h: AVX-512 VNNI pieces shared by the host kernels of the Q8_0 arithmetic (q8_host.c,
 * attention_host.c): the target attribute, the int32 reduction that turns 8 vectors of
 * vpdpbusd partial sums into 16 block sums, and kq8_tree on 16 accumulator vectors. Header-only
 * (static inline). */
#ifndef OPML_Q8_SIMD_H
#define OPML_Q8_SIMD_H

#include <immintrin.h>

#define Q8S_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c")))

/* The order in which q8s_reduce8 leaves the 16 sums: lane i holds sum Q8S_PERM[i] (sum 2p is the
 * low half of vector p, sum 2p + 1 its high half). */
static const int Q8S_PERM[16] = {0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15};

/* s[p]: 16 int32 partials, 8 for sum 2p (lanes 0-7) and 8 for sum 2p + 1 (lanes 8-15); returns
 * the 16 sums in Q8S_PERM order (exact: integer additions). */
Q8S_TARGET static inline __m512i q8s_reduce8(const __m512i s[8]) {
    __m512i t[4], q[2];
    for (int i = 0; i < 4; i++)
        t[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(s[2 * i], s[2 * i + 1]), _mm512_unpackhi_epi32(s[2 * i], s[2 * i + 1]));
    for (int i = 0; i < 2; i++)
        q[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * i], t[2 * i + 1]), _mm512_unpackhi_epi64(t[2 * i], t[2 * i + 1]));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* Q8S_PERM as lanes, and its inverse (lane j of the result = lane PERM^-1[j] of the input) */
Q8S_TARGET static inline __m512i q8s_perm(void) { return _mm512_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15); }
Q8S_TARGET static inline __m512i q8s_unperm(void) { return _mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15); }

/* kq8_tree lane by lane on 16 accumulator vectors that all started at +0, of which only a[0..live)
 * (live <= 16: the callers run heads of at most 16 blocks, backend_blas.c)
 * were added to: the additions of an untouched +0 are left out (no additions at all for one
 * block). Exact: an accumulator that started at +0 is never -0 (+0 + -0 = +0, and an exact
 * cancellation rounds to +0), and x + (+0) = x for every other x (a NaN keeps its bits). The sum
 * ends in a[0]. */
Q8S_TARGET static inline void q8s_tree(__m512 a[16], size_t live) {
    for (size_t w = 8; w >= 1; w /= 2) {
        for (size_t i = 0; i + w < live; i++) a[i] = _mm512_add_ps(a[i], a[i + w]);
        if (live > w) live = w;
    }
}

#endif
