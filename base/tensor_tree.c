/* tensor_tree.c: incremental tensor roots (tensor_tree.h). */
#include "tensor_tree.h"

#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "merkle.h"
#include "tensor_root.h"

int opml_tensor_tree_init(opml_tensor_tree *t, size_t cap, const void *data) {
    memset(t, 0, sizeof *t);
    if (cap < 1 || cap > MERKLE_SLOT_BYTES) return -1;
    unsigned top = 0;
    while (((size_t)MERKLE_LEAF_BYTES << top) < cap) top++;
    t->cap = cap, t->top = top, t->chunk_h = top < TENSOR_TREE_CHUNK_HEIGHT ? top : TENSOR_TREE_CHUNK_HEIGHT;
    unsigned levels = top - t->chunk_h + 1;
    size_t chunk = (size_t)MERKLE_LEAF_BYTES << t->chunk_h, total = 0;
    t->first = calloc(levels, sizeof *t->first);
    t->count = calloc(levels, sizeof *t->count);
    if (!t->first || !t->count) goto oom;
    for (unsigned k = 0; k < levels; k++) {
        size_t n = k ? (t->count[k - 1] + 1) / 2 : (cap + chunk - 1) / chunk;
        t->first[k] = total, t->count[k] = n, total += n;
    }
    t->node = malloc(total * 32);
    if (!t->node) goto oom;
    if (data) {
        opml_tensor_tree_update(t, data, 0, cap, cap);
    } else { /* zero data: zero roots at every level */
        for (unsigned k = 0; k < levels; k++)
            for (size_t i = 0; i < t->count[k]; i++) memcpy(t->node[t->first[k] + i], merkle_zero(t->chunk_h + k), 32);
    }
    return 0;
oom:
    opml_tensor_tree_free(t);
    return -1;
}

void opml_tensor_tree_free(opml_tensor_tree *t) {
    free(t->node), free(t->first), free(t->count);
    memset(t, 0, sizeof *t);
}

void opml_tensor_tree_update(opml_tensor_tree *t, const void *data, size_t off, size_t len, size_t end) {
    if (len == 0) return;
    size_t chunk = (size_t)MERKLE_LEAF_BYTES << t->chunk_h, lo = off / chunk, hi = (off + len - 1) / chunk;
    for (size_t c = lo; c <= hi; c++) {
        size_t at = c * chunk, n = end <= at ? 0 : end - at < chunk ? end - at : chunk;
        if (n) opml_chunk_root((const uint8_t *)data + at, n, t->chunk_h, t->node[t->first[0] + c]);
        else memcpy(t->node[t->first[0] + c], merkle_zero(t->chunk_h), 32);
    }
    for (unsigned k = 1; k <= t->top - t->chunk_h; k++) { /* the parents of the touched nodes */
        lo /= 2, hi /= 2;
        for (size_t i = lo; i <= hi; i++) {
            const uint8_t *l = t->node[t->first[k - 1] + 2 * i];
            const uint8_t *r = 2 * i + 1 < t->count[k - 1] ? t->node[t->first[k - 1] + 2 * i + 1] : merkle_zero(t->chunk_h + k - 1);
            keccak256_pair(l, r, t->node[t->first[k] + i]);
        }
    }
}

void opml_tensor_tree_root(const opml_tensor_tree *t, uint8_t root[32]) {
    memcpy(root, t->node[t->first[t->top - t->chunk_h]], 32);
    for (unsigned h = t->top; h < MERKLE_SLOT_DEPTH; h++) keccak256_pair(root, merkle_zero(h), root);
}
