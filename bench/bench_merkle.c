/* bench_merkle.c: the tensor root (32-byte leaves in a 2^28-byte slot) of a 256 MiB tensor
 * against flat Keccak-256 over the same bytes, in one run, as a ratio of times. A tree of 32-byte
 * leaves needs about 4.3 times the Keccak-f permutations of flat hashing (2^23 64-byte parents,
 * then a halving series, vs 2^28/136 rate blocks), so the goal is a ratio of at most 5: the rest
 * would be overhead. Two implementations, same roots: the portable merkle_root (one permutation
 * at a time, base/merkle.c) and merkle_tensor_root (eight per AVX-512 stream on two threads,
 * base/tensor_root.c; the one every actor uses).
 *   bench_merkle [MiB]   (default 256) */
#include "keccak.h"
#include <string.h>
#include "log.h"
#include "merkle.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
    if (mib == 0 || mib > 256) {
        fprintf(stderr, "usage: bench_merkle [MiB, 1..256]\n");
        return 2;
    }
    size_t len = mib << 20;
    uint8_t *data = malloc(len), flat[32], root[32];
    if (!data) return 1;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i + 8 <= len; i += 8) { /* xorshift: incompressible, no zero leaves */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(data + i, &x, 8);
    }
    double best_flat = 1e9, best_tree = 1e9;
    for (int rep = 0; rep < 3; rep++) { /* interleaved, best of 3 each */
        double t0 = now_s();
        keccak256(data, len, flat);
        double t1 = now_s();
        if (merkle_root(data, len, MERKLE_SLOT_DEPTH, root) != 0) return 1;
        double t2 = now_s();
        if (t1 - t0 < best_flat) best_flat = t1 - t0;
        if (t2 - t1 < best_tree) best_tree = t2 - t1;
    }
    double best_simd = 1e9;
    uint8_t root2[32];
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        if (merkle_tensor_root(data, len, root2) != 0 || memcmp(root, root2, 32) != 0) {
            fprintf(stderr, "bench_merkle: merkle_tensor_root disagrees with merkle_root\n");
            return 1;
        }
        double t = now_s() - t0;
        if (t < best_simd) best_simd = t;
    }
    double mb = (double)len / 1e6;
    printf("merkle: %zu MiB tensor\n", mib);
    printf("  flat keccak256:      %8.1f MB/s  (%.3f s)\n", mb / best_flat, best_flat);
    printf("  merkle_root (portable): %8.1f MB/s  (%.3f s; ratio tree/flat time %.2f, goal <= 5, permutation ratio ~4.3)\n",
           mb / best_tree, best_tree, best_tree / best_flat);
    printf("  merkle_tensor_root:     %8.1f MB/s  (%.3f s; ratio tree/flat time %.2f)\n", mb / best_simd, best_simd,
           best_simd / best_flat);
    free(data);
    return 0;
}
