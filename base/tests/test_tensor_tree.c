/* test_tensor_tree.c: incremental tensor roots (tensor_tree.h) equal merkle_tensor_root of the
 * whole buffer after every change: buffers of 1 byte to several chunk levels (sizes not multiples
 * of 32 or of a chunk), random ranges (partial leaves, ranges across chunks), rows appended one by
 * one as a Q8_0 cache is (272-byte rows straddle leaves), rows zeroed again (a truncation), and a
 * tree built from data. */
#include "check.h"
#include "merkle.h"
#include "tensor_tree.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void same_root(const opml_tensor_tree *t, const uint8_t *buf, size_t cap) {
    uint8_t a[32], b[32];
    opml_tensor_tree_root(t, a);
    CHECK_EQ_INT(merkle_tensor_root(buf, cap, b), 0);
    CHECK_MEM(a, b, 32);
}

static void random_ranges(size_t cap) {
    uint8_t *buf = calloc(cap, 1);
    opml_tensor_tree t;
    CHECK_EQ_INT(opml_tensor_tree_init(&t, cap, NULL), 0);
    same_root(&t, buf, cap);
    for (int i = 0; i < 40; i++) {
        size_t off = rnd() % cap, len = 1 + rnd() % (i % 3 ? 40 : 2000);
        if (len > cap - off) len = cap - off;
        for (size_t j = 0; j < len; j++) buf[off + j] = (uint8_t)(i % 5 ? rnd() : 0);
        opml_tensor_tree_update(&t, buf, off, len, cap);
        same_root(&t, buf, cap);
    }
    opml_tensor_tree_free(&t);
    CHECK_EQ_INT(opml_tensor_tree_init(&t, cap, buf), 0); /* built from data */
    same_root(&t, buf, cap);
    opml_tensor_tree_free(&t);
    free(buf);
}

/* a cache of S rows of `row` bytes: rows appended in order, then the last ones zeroed; then the
 * same with every row written first (a batch) and the tree extended row by row over the prefix
 * (end), and moved back */
static void rows(size_t row, size_t s) {
    size_t cap = row * s;
    uint8_t *buf = calloc(cap, 1), *full = malloc(cap);
    opml_tensor_tree t;
    CHECK_EQ_INT(opml_tensor_tree_init(&t, cap, NULL), 0);
    for (size_t r = 0; r < s; r++) {
        for (size_t j = 0; j < row; j++) buf[r * row + j] = (uint8_t)rnd();
        opml_tensor_tree_update(&t, buf, r * row, row, cap);
        if (r % 7 == 0 || r + 1 == s) same_root(&t, buf, cap);
    }
    memcpy(full, buf, cap);
    memset(buf + cap / 2, 0, cap - cap / 2);
    opml_tensor_tree_update(&t, buf, cap / 2, cap - cap / 2, cap);
    same_root(&t, buf, cap);
    opml_tensor_tree_free(&t);
    /* full holds every row; the tree follows the prefix of r rows, the rest counted as zero */
    CHECK_EQ_INT(opml_tensor_tree_init(&t, cap, NULL), 0);
    memset(buf, 0, cap);
    for (size_t r = 0; r < s; r++) {
        opml_tensor_tree_update(&t, full, r * row, row, (r + 1) * row);
        memcpy(buf + r * row, full + r * row, row);
        if (r % 5 == 0) same_root(&t, buf, cap);
    }
    size_t keep = s / 3;
    opml_tensor_tree_update(&t, full, keep * row, cap - keep * row, keep * row); /* back to `keep` rows */
    memset(buf + keep * row, 0, cap - keep * row);
    same_root(&t, buf, cap);
    free(full);
    opml_tensor_tree_free(&t);
    free(buf);
}

int main(void) {
    static const size_t caps[] = {1, 31, 32, 33, 511, 512, 513, 1024, 4096 + 7, 100000, 272 * 33};
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) random_ranges(caps[i]);
    rows(272, 64);   /* the tiny model's Q8_0 row: 8.5 leaves */
    rows(4352, 40);  /* a 7B row: 136 leaves, across chunks */
    rows(12, 100);   /* tokens of three ids */
    opml_tensor_tree t;
    CHECK_EQ_INT(opml_tensor_tree_init(&t, 0, NULL), -1);
    CHECK_EQ_INT(opml_tensor_tree_init(&t, MERKLE_SLOT_BYTES + 1, NULL), -1);
    return check_summary("test_tensor_tree");
}
