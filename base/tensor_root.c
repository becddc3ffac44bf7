/* tensor_root.c: merkle_tensor_root (merkle.h), the tensor root every actor computes, eight
 * Keccak permutations at a time, and the pieces the engine schedules itself (tensor_root.h).
 *
 * A tensor root (docs/commitments.md) is a Merkle tree whose every parent is keccak256 of 64 bytes:
 * one Keccak-f[1600] permutation of a state holding the 64 bytes, the padding byte 0x01 at byte 64
 * and 0x80 at byte 135. Parents are independent within a level (and across trees), so on CPUs
 * with AVX-512 this computes eight of them at once, one state lane per 64-bit word of a zmm
 * register, loaded by gathers from eight arbitrary 64-byte inputs (a mask for fewer than eight).
 * merkle_tensor_root builds one tree level by level (an odd last node is paired with the zero root
 * of its height) and folds the top with the zero roots up to depth 23, exactly as base/merkle.c
 * does; tensors of 128 KiB and more are cut into 5 to 8 subtrees hashed by two threads. The
 * pieces (opml_hash_pairs, opml_chunk_root, opml_fold_roots) let the engine schedule the hashing
 * of a whole run itself. Without AVX-512, or for tensors of fewer than 16 leaves, it is the
 * portable merkle_root of base/merkle.c. engine/tests/test_exact.c compares everything with
 * merkle_root on every length around the edges. Host-only: the guest never computes roots. */
#include "tensor_root.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "merkle.h"

static const uint64_t round_constants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808Aull, 0x8000000080008000ull,
    0x000000000000808Bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008Aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000Aull,
    0x000000008000808Bull, 0x800000000000008Bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800Aull, 0x800000008000000Aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};

/* One Keccak-f[1600] on eight states, each round unrolled: theta; rho and pi written out lane by
 * lane (lane i = x + 5y rotated by its rho offset moves to (y, 2x + 3y)); chi; iota. */
#define XOR3(a, b, c) _mm512_ternarylogic_epi64(a, b, c, 0x96)
#define CHI(a, b, c) _mm512_ternarylogic_epi64(a, b, c, 0xD2) /* a ^ (~b & c) */

__attribute__((target("avx512f"))) static void keccak_f_x8(__m512i s[25]) {
    for (int round = 0; round < 24; round++) {
        __m512i c0 = XOR3(XOR3(s[0], s[5], s[10]), s[15], s[20]);
        __m512i c1 = XOR3(XOR3(s[1], s[6], s[11]), s[16], s[21]);
        __m512i c2 = XOR3(XOR3(s[2], s[7], s[12]), s[17], s[22]);
        __m512i c3 = XOR3(XOR3(s[3], s[8], s[13]), s[18], s[23]);
        __m512i c4 = XOR3(XOR3(s[4], s[9], s[14]), s[19], s[24]);
        __m512i d0 = _mm512_xor_si512(c4, _mm512_rol_epi64(c1, 1));
        __m512i d1 = _mm512_xor_si512(c0, _mm512_rol_epi64(c2, 1));
        __m512i d2 = _mm512_xor_si512(c1, _mm512_rol_epi64(c3, 1));
        __m512i d3 = _mm512_xor_si512(c2, _mm512_rol_epi64(c4, 1));
        __m512i d4 = _mm512_xor_si512(c3, _mm512_rol_epi64(c0, 1));
        __m512i b0 = _mm512_xor_si512(s[0], d0);
        __m512i b10 = _mm512_rol_epi64(_mm512_xor_si512(s[1], d1), 1);
        __m512i b20 = _mm512_rol_epi64(_mm512_xor_si512(s[2], d2), 62);
        __m512i b5 = _mm512_rol_epi64(_mm512_xor_si512(s[3], d3), 28);
        __m512i b15 = _mm512_rol_epi64(_mm512_xor_si512(s[4], d4), 27);
        __m512i b16 = _mm512_rol_epi64(_mm512_xor_si512(s[5], d0), 36);
        __m512i b1 = _mm512_rol_epi64(_mm512_xor_si512(s[6], d1), 44);
        __m512i b11 = _mm512_rol_epi64(_mm512_xor_si512(s[7], d2), 6);
        __m512i b21 = _mm512_rol_epi64(_mm512_xor_si512(s[8], d3), 55);
        __m512i b6 = _mm512_rol_epi64(_mm512_xor_si512(s[9], d4), 20);
        __m512i b7 = _mm512_rol_epi64(_mm512_xor_si512(s[10], d0), 3);
        __m512i b17 = _mm512_rol_epi64(_mm512_xor_si512(s[11], d1), 10);
        __m512i b2 = _mm512_rol_epi64(_mm512_xor_si512(s[12], d2), 43);
        __m512i b12 = _mm512_rol_epi64(_mm512_xor_si512(s[13], d3), 25);
        __m512i b22 = _mm512_rol_epi64(_mm512_xor_si512(s[14], d4), 39);
        __m512i b23 = _mm512_rol_epi64(_mm512_xor_si512(s[15], d0), 41);
        __m512i b8 = _mm512_rol_epi64(_mm512_xor_si512(s[16], d1), 45);
        __m512i b18 = _mm512_rol_epi64(_mm512_xor_si512(s[17], d2), 15);
        __m512i b3 = _mm512_rol_epi64(_mm512_xor_si512(s[18], d3), 21);
        __m512i b13 = _mm512_rol_epi64(_mm512_xor_si512(s[19], d4), 8);
        __m512i b14 = _mm512_rol_epi64(_mm512_xor_si512(s[20], d0), 18);
        __m512i b24 = _mm512_rol_epi64(_mm512_xor_si512(s[21], d1), 2);
        __m512i b9 = _mm512_rol_epi64(_mm512_xor_si512(s[22], d2), 61);
        __m512i b19 = _mm512_rol_epi64(_mm512_xor_si512(s[23], d3), 56);
        __m512i b4 = _mm512_rol_epi64(_mm512_xor_si512(s[24], d4), 14);
        s[0] = CHI(b0, b1, b2);
        s[1] = CHI(b1, b2, b3);
        s[2] = CHI(b2, b3, b4);
        s[3] = CHI(b3, b4, b0);
        s[4] = CHI(b4, b0, b1);
        s[5] = CHI(b5, b6, b7);
        s[6] = CHI(b6, b7, b8);
        s[7] = CHI(b7, b8, b9);
        s[8] = CHI(b8, b9, b5);
        s[9] = CHI(b9, b5, b6);
        s[10] = CHI(b10, b11, b12);
        s[11] = CHI(b11, b12, b13);
        s[12] = CHI(b12, b13, b14);
        s[13] = CHI(b13, b14, b10);
        s[14] = CHI(b14, b10, b11);
        s[15] = CHI(b15, b16, b17);
        s[16] = CHI(b16, b17, b18);
        s[17] = CHI(b17, b18, b19);
        s[18] = CHI(b18, b19, b15);
        s[19] = CHI(b19, b15, b16);
        s[20] = CHI(b20, b21, b22);
        s[21] = CHI(b21, b22, b23);
        s[22] = CHI(b22, b23, b24);
        s[23] = CHI(b23, b24, b20);
        s[24] = CHI(b24, b20, b21);
        s[0] = _mm512_xor_si512(s[0], _mm512_set1_epi64((long long)round_constants[round]));
    }
}

/* Load eight 64-byte messages (word j of lane l at base + idx[l] + 8 j; lanes outside the mask
 * are zero), permute, and store the 32-byte digests at obase + oidx[l] for the lanes in the mask.
 * Every load happens before any store, so an output may overlap this group's own inputs. */
__attribute__((target("avx512f"))) static void hash_x8(__mmask8 k, const uint8_t *base, __m512i idx, const uint8_t *base_r,
                                                       __m512i idx_r, uint8_t *obase, __m512i oidx) {
    __m512i s[25];
    for (int j = 0; j < 4; j++) s[j] = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), k, idx, base + 8 * j, 1);
    for (int j = 0; j < 4; j++) s[4 + j] = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), k, idx_r, base_r + 8 * j, 1);
    for (int j = 8; j < 25; j++) s[j] = _mm512_setzero_si512();
    s[8] = _mm512_set1_epi64(0x01);
    s[16] = _mm512_set1_epi64((long long)0x8000000000000000ull);
    keccak_f_x8(s);
    for (int j = 0; j < 4; j++) _mm512_mask_i64scatter_epi64(obase + 8 * j, k, oidx, s[j], 1);
}

/* out[i] = keccak256(in[64 i .. 64 i + 63]) for i < n; out may be `in` itself (each group of
 * eight reads inputs 2i.. before writing outputs i.., which never overtake a later input) */
__attribute__((target("avx512f"))) static void pairs_x8(const uint8_t *in, size_t n, uint8_t *out) {
    const __m512i gin = _mm512_setr_epi64(0, 64, 128, 192, 256, 320, 384, 448);
    const __m512i gout = _mm512_setr_epi64(0, 32, 64, 96, 128, 160, 192, 224);
    size_t i = 0;
    for (; i + 2 <= n; i += 8) /* a partial group still beats two scalar permutations */
        hash_x8(n - i >= 8 ? 0xFF : (__mmask8)((1u << (n - i)) - 1), in + 64 * i, gin, in + 64 * i + 32, gin,
                out + 32 * i, gout);
    for (; i < n; i++) keccak256_pair(in + 64 * i, in + 64 * i + 32, out + 32 * i);
}

/* opml_hash_pairs on AVX-512: the pointers themselves are the gather indices (base 0) */
__attribute__((target("avx512f"))) static size_t lanes_x8(size_t n, const uint8_t *const *left,
                                                          const uint8_t *const *right, uint8_t *const *out) {
    size_t i = 0;
    for (; i + 2 <= n; i += 8) {
        __mmask8 k = n - i >= 8 ? 0xFF : (__mmask8)((1u << (n - i)) - 1);
        hash_x8(k, NULL, _mm512_maskz_loadu_epi64(k, left + i), NULL, _mm512_maskz_loadu_epi64(k, right + i), NULL,
                _mm512_maskz_loadu_epi64(k, out + i));
    }
    return i < n ? i : n;
}

static int have_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return cached;
}

void opml_hash_pairs(size_t n, const uint8_t *const *left, const uint8_t *const *right, uint8_t *const *out) {
    size_t i = have_avx512() ? lanes_x8(n, left, right, out) : 0;
    for (; i < n; i++) keccak256_pair(left[i], right[i], out[i]);
}

/* The root at height g of data[0 .. len) as leaves, zero leaves after (0 < len <= 32 << g,
 * g >= 1), with `level` as working space of (len + 63) / 64 * 32 + 32 bytes: whole pairs hashed
 * straight from the data, the tail pair zero-padded, then level by level with an odd last node
 * paired with the zero root of its height. */
static void subtree_root(const uint8_t *data, size_t len, unsigned g, uint8_t *level, uint8_t root[32]) {
    size_t full = len / 64, nodes = (len + 63) / 64;
    pairs_x8(data, full, level);
    if (nodes > full) {
        uint8_t tail[64] = {0};
        memcpy(tail, data + 64 * full, len - 64 * full);
        keccak256_pair(tail, tail + 32, level + 32 * full);
    }
    unsigned h = 1;
    while (nodes > 1) {
        if (nodes & 1) memcpy(level + 32 * nodes++, merkle_zero(h), 32);
        pairs_x8(level, nodes / 2, level);
        nodes /= 2, h++;
    }
    memcpy(root, level, 32);
    for (; h < g; h++) keccak256_pair(root, merkle_zero(h), root);
}

int opml_chunk_root(const void *data, size_t len, unsigned height, uint8_t root[32]) {
    if (len == 0 || height > MERKLE_SLOT_DEPTH || len > ((size_t)32 << height)) return -1;
    if (height == 0) {
        memset(root, 0, 32);
        memcpy(root, data, len);
        return 0;
    }
    if (!have_avx512()) return merkle_root(data, len, height, root);
    size_t need = (len + 63) / 64 * 32 + 32;
    uint8_t stack[(OPML_CHUNK_BYTES / 64) * 32 + 32], *level = need <= sizeof stack ? stack : malloc(need);
    if (!level) return merkle_root(data, len, height, root);
    subtree_root(data, len, height, level, root);
    if (level != stack) free(level);
    return 0;
}

int opml_fold_roots(size_t ntrees, uint8_t *const *nodes, size_t *count, unsigned *height, uint8_t (*roots)[32]) {
    size_t lanes = 0;
    for (size_t t = 0; t < ntrees; t++) {
        if (height[t] > MERKLE_SLOT_DEPTH || (count[t] > 1 && height[t] == MERKLE_SLOT_DEPTH)) return -1;
        lanes += count[t] / 2 + 1;
    }
    const uint8_t **l = malloc((lanes ? lanes : 1) * sizeof *l), **r = malloc((lanes ? lanes : 1) * sizeof *r);
    uint8_t **o = malloc((lanes ? lanes : 1) * sizeof *o);
    if (!l || !r || !o) {
        free(l), free(r), free(o);
        return -1;
    }
    for (;;) { /* one level of every unfinished tree per pass, all of them hashed together */
        size_t n = 0;
        for (size_t t = 0; t < ntrees; t++) {
            if (count[t] == 0 || height[t] == MERKLE_SLOT_DEPTH) continue;
            uint8_t *nd = nodes[t];
            if (count[t] == 1) { /* the tree's top, folded with zero subtrees */
                l[n] = nd, r[n] = merkle_zero(height[t]), o[n++] = nd;
            } else { /* in place: output i overwrites only inputs of pairs <= i */
                if (count[t] & 1) memcpy(nd + 32 * count[t]++, merkle_zero(height[t]), 32);
                for (size_t i = 0; i < count[t] / 2; i++) l[n] = nd + 64 * i, r[n] = nd + 64 * i + 32, o[n++] = nd + 32 * i;
                count[t] /= 2;
            }
            height[t]++;
        }
        if (n == 0) break;
        opml_hash_pairs(n, l, r, o);
    }
    for (size_t t = 0; t < ntrees; t++) memcpy(roots[t], count[t] ? nodes[t] : merkle_zero(MERKLE_SLOT_DEPTH), 32);
    free(l), free(r), free(o);
    return 0;
}

/* Large tensors: the tree's top 3 levels split it into 5..8 chunks; a second thread hashes the
 * odd-numbered ones. */
typedef struct chunks {
    const uint8_t *data;
    size_t len, chunk, count;
    unsigned g;
    uint8_t roots[8][32];
    int failed;
} chunks;

static void hash_chunks(chunks *c, size_t first) {
    for (size_t j = first; j < c->count; j += 2) {
        size_t off = j * c->chunk, n = c->len - off < c->chunk ? c->len - off : c->chunk;
        if (opml_chunk_root(c->data + off, n, c->g, c->roots[j])) c->failed = 1;
    }
}

static void *chunk_worker(void *arg) {
    hash_chunks(arg, 1);
    return NULL;
}

int merkle_tensor_root(const void *data, size_t len, uint8_t root[32]) {
    size_t leaves = (len + 31) / 32;
    if (!have_avx512() || leaves < 16 || len > MERKLE_SLOT_BYTES) return merkle_root(data, len, MERKLE_SLOT_DEPTH, root);
    unsigned height = 0; /* of the smallest subtree at leaf 0 holding every leaf */
    while (((size_t)1 << height) < leaves) height++;
    unsigned h;
    if (leaves < 4096) {
        if (opml_chunk_root(data, len, height, root)) return merkle_root(data, len, MERKLE_SLOT_DEPTH, root);
        h = height;
    } else {
        chunks c = {.data = data, .len = len, .g = height - 3, .chunk = (size_t)32 << (height - 3)};
        c.count = (len + c.chunk - 1) / c.chunk;
        pthread_t t;
        int threaded = pthread_create(&t, NULL, chunk_worker, &c) == 0;
        hash_chunks(&c, 0);
        if (threaded) pthread_join(t, NULL);
        else hash_chunks(&c, 1);
        if (c.failed) return merkle_root(data, len, MERKLE_SLOT_DEPTH, root);
        size_t nodes = c.count;
        for (h = c.g; nodes > 1; h++) { /* the chunk roots are the nodes at height g */
            if (nodes & 1) memcpy(c.roots[nodes++], merkle_zero(h), 32);
            for (size_t i = 0; i < nodes / 2; i++) keccak256_pair(c.roots[2 * i], c.roots[2 * i + 1], c.roots[i]);
            nodes /= 2;
        }
        memcpy(root, c.roots[0], 32);
    }
    for (; h < MERKLE_SLOT_DEPTH; h++) keccak256_pair(root, merkle_zero(h), root);
    return 0;
}
