/* vm_mem.c: sparse paged memory with a cached Merkle trie (see vm_mem.h).
 *
 * Invariants: every allocated page hangs in the trie (a node with no page below it hashes to the
 * zero root like a missing one); a node's `hash` is valid unless `stale` is set, and a stale node
 * has every ancestor stale too. Every page without VM_PAGE_HASHED is listed in m->stale;
 * vm_mem_root() rehashes those pages, marks their trie paths stale and then recomputes the stale
 * nodes top-down. */
#include "vm_mem.h"

#include "merkle.h"
#include "keccak.h"

#include <stdlib.h>
#include <string.h>

struct vm_tnode {
    uint8_t hash[32];
    void *child[2]; /* vm_tnode* above the last level, vm_page* at level VM_TRIE_LEVELS - 1 */
    uint8_t stale;
};

int vm_mem_init(vm_mem *m) {
    memset(m, 0, sizeof *m);
    m->pages = calloc(VM_PAGE_COUNT, sizeof *m->pages);
    return m->pages ? 0 : -1;
}

static void free_trie(vm_tnode *n, unsigned level) {
    if (!n) return;
    if (level + 1 < VM_TRIE_LEVELS) {
        free_trie(n->child[0], level + 1);
        free_trie(n->child[1], level + 1);
    }
    free(n);
}

static void free_page(vm_page *p) {
    if (!p) return;
    free(p->decoded);
    free(p);
}

void vm_mem_free(vm_mem *m) {
    for (size_t i = 0; i < m->nallocated; i++) {
        free_page(m->pages[m->allocated[i]]);
        m->pages[m->allocated[i]] = NULL;
    }
    free(m->pages);
    free(m->allocated);
    free_trie(m->root, 0);
    free(m->stale);
    free(m->unsaved);
    memset(m, 0, sizeof *m);
}

static int push(uint32_t **list, size_t *n, size_t *cap, uint32_t v) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint32_t *nl = realloc(*list, nc * sizeof *nl);
        if (!nl) return -1;
        *list = nl;
        *cap = nc;
    }
    (*list)[(*n)++] = v;
    return 0;
}

/* Links page p into the trie, creating the missing nodes; marks its path stale. */
static int trie_insert(vm_mem *m, vm_page *p) {
    void **slot = (void **)&m->root;
    for (unsigned level = 0; level < VM_TRIE_LEVELS; level++) {
        if (!*slot) {
            vm_tnode *n = calloc(1, sizeof *n);
            if (!n) return -1;
            *slot = n;
        }
        vm_tnode *n = *slot;
        n->stale = 1;
        slot = &n->child[(p->index >> (VM_TRIE_LEVELS - 1 - level)) & 1];
    }
    *slot = p;
    return 0;
}

static vm_page *new_page(vm_mem *m, uint32_t index) {
    vm_page *p = aligned_alloc(64, sizeof(vm_page) + (64 - sizeof(vm_page) % 64) % 64);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->index = index;
    p->flags = VM_PAGE_HASHED | VM_PAGE_SAVED;
    memcpy(p->hash, merkle_zero(VM_PAGE_HEIGHT), 32);
    if (push(&m->allocated, &m->nallocated, &m->capallocated, index) != 0 || trie_insert(m, p) != 0) {
        free(p);
        return NULL;
    }
    m->pages[index] = p;
    m->npages++;
    return p;
}

vm_page *vm_mem_page(vm_mem *m, uint32_t addr) {
    vm_page *p = m->pages[addr >> VM_PAGE_BITS];
    return p ? p : new_page(m, addr >> VM_PAGE_BITS);
}

void vm_mem_touch(vm_mem *m, vm_page *p, uint32_t addr) {
    /* list growth failing would lose track of a change: treat like any other out-of-memory */
    if (p->flags & VM_PAGE_HASHED) {
        if (push(&m->stale, &m->nstale, &m->capstale, p->index) != 0) abort();
        p->flags &= ~VM_PAGE_HASHED;
    }
    if (p->flags & VM_PAGE_SAVED) {
        if (push(&m->unsaved, &m->nunsaved, &m->capunsaved, p->index) != 0) abort();
        p->flags &= ~VM_PAGE_SAVED;
    }
    if (p->decoded)
        p->decoded[(addr & (VM_PAGE_SIZE - 1)) >> 2].h = __atomic_load_n(&vm_dec_undecoded, __ATOMIC_RELAXED);
}

int vm_mem_write(vm_mem *m, uint32_t addr, const void *src, size_t len) {
    const uint8_t *s = src;
    while (len) {
        vm_page *p = vm_mem_page(m, addr);
        if (!p) return -1;
        uint32_t off = addr & (VM_PAGE_SIZE - 1);
        size_t n = VM_PAGE_SIZE - off < len ? VM_PAGE_SIZE - off : len;
        for (uint32_t w = off & ~3u; w < off + n; w += 4) vm_mem_touch(m, p, addr - off + w);
        memcpy(p->data + off, s, n);
        s += n;
        len -= n;
        addr += (uint32_t)n;
    }
    return 0;
}

void vm_mem_read(const vm_mem *m, uint32_t addr, void *dst, size_t len) {
    uint8_t *d = dst;
    while (len) {
        const vm_page *p = m->pages[addr >> VM_PAGE_BITS];
        uint32_t off = addr & (VM_PAGE_SIZE - 1);
        size_t n = VM_PAGE_SIZE - off < len ? VM_PAGE_SIZE - off : len;
        if (p) memcpy(d, p->data + off, n);
        else memset(d, 0, n);
        d += n;
        len -= n;
        addr += (uint32_t)n;
    }
}

void vm_mem_leaf(const vm_mem *m, uint32_t leaf, uint8_t out[32]) {
    vm_mem_read(m, leaf << 5, out, 32);
}

static const uint8_t *child_hash(void *child, unsigned level) {
    /* level: the level of the parent; children sit at height VM_MEM_DEPTH - level - 1 */
    if (!child) return merkle_zero(VM_MEM_DEPTH - level - 1);
    if (level + 1 == VM_TRIE_LEVELS) return ((vm_page *)child)->hash;
    return ((vm_tnode *)child)->hash;
}

static void rehash(vm_tnode *n, unsigned level) {
    if (!n->stale) return;
    if (level + 1 < VM_TRIE_LEVELS) {
        if (n->child[0]) rehash(n->child[0], level + 1);
        if (n->child[1]) rehash(n->child[1], level + 1);
    }
    keccak256_pair(child_hash(n->child[0], level), child_hash(n->child[1], level), n->hash);
    n->stale = 0;
}

void vm_mem_root(vm_mem *m, uint8_t root[32]) {
    for (size_t i = 0; i < m->nstale; i++) {
        vm_page *p = m->pages[m->stale[i]];
        if (!p) continue; /* dropped by vm_mem_load_slot */
        merkle_root(p->data, VM_PAGE_SIZE, VM_PAGE_HEIGHT, p->hash);
        p->flags |= VM_PAGE_HASHED;
        vm_tnode *n = m->root;
        for (unsigned level = 0; level < VM_TRIE_LEVELS; level++) {
            n->stale = 1;
            if (level + 1 < VM_TRIE_LEVELS) n = n->child[(p->index >> (VM_TRIE_LEVELS - 1 - level)) & 1];
        }
    }
    m->nstale = 0;
    if (!m->root) {
        memcpy(root, merkle_zero(VM_MEM_DEPTH), 32);
        return;
    }
    rehash(m->root, 0);
    memcpy(root, m->root->hash, 32);
}

/* The trie node at `level` on the path to page `index`, or NULL where the path is empty. */
static vm_tnode *node_at(const vm_mem *m, uint32_t index, unsigned level) {
    vm_tnode *n = m->root;
    for (unsigned l = 0; l < level && n; l++) n = n->child[(index >> (VM_TRIE_LEVELS - 1 - l)) & 1];
    return n;
}

void vm_mem_slot_root(vm_mem *m, unsigned s, uint8_t root[32]) {
    unsigned level = 32 - VM_SLOT_BITS; /* 4 */
    vm_tnode *n = node_at(m, (uint32_t)s << (VM_SLOT_BITS - VM_PAGE_BITS), level);
    memcpy(root, n ? n->hash : merkle_zero(MERKLE_SLOT_DEPTH), 32);
}

void vm_mem_siblings(vm_mem *m, uint32_t leaf, uint8_t siblings[VM_MEM_DEPTH][32]) {
    uint32_t index = leaf >> VM_PAGE_HEIGHT;
    vm_page *p = m->pages[index];
    merkle_proof in_page;
    static const uint8_t zero_page[1] = {0};
    merkle_prove(p ? p->data : zero_page, p ? VM_PAGE_SIZE : 0, VM_PAGE_HEIGHT, leaf & ((1u << VM_PAGE_HEIGHT) - 1), &in_page);
    for (unsigned h = 0; h < VM_PAGE_HEIGHT; h++) memcpy(siblings[h], in_page.siblings[h], 32);
    /* above the page: the sibling at trie level l is the other child of the node at level l */
    vm_tnode *n = m->root;
    for (unsigned level = 0; level < VM_TRIE_LEVELS; level++) {
        unsigned bit = (index >> (VM_TRIE_LEVELS - 1 - level)) & 1;
        uint8_t *out = siblings[VM_MEM_DEPTH - 1 - level];
        if (!n) {
            memcpy(out, merkle_zero(VM_MEM_DEPTH - level - 1), 32);
            continue;
        }
        memcpy(out, child_hash(n->child[bit ^ 1], level), 32);
        n = level + 1 < VM_TRIE_LEVELS ? n->child[bit] : NULL;
    }
}

/* Unlinks and frees every page of the trie node *slot at `level`. */
static void drop_subtree(vm_mem *m, void **slot, unsigned level) {
    if (!*slot) return;
    if (level == VM_TRIE_LEVELS) {
        vm_page *p = *slot;
        m->pages[p->index] = NULL;
        m->npages--;
        free_page(p);
    } else {
        vm_tnode *n = *slot;
        drop_subtree(m, &n->child[0], level + 1);
        drop_subtree(m, &n->child[1], level + 1);
        free(n);
    }
    *slot = NULL;
}

int vm_mem_load_slot(vm_mem *m, unsigned s, const void *data, size_t len) {
    if (s > 15 || len > MERKLE_SLOT_BYTES) return -1;
    unsigned level = 32 - VM_SLOT_BITS;
    uint32_t first = (uint32_t)s << (VM_SLOT_BITS - VM_PAGE_BITS);
    /* the parent of the slot's subtree and the link to it */
    if (m->root) {
        vm_tnode *parent = node_at(m, first, level - 1);
        if (parent) drop_subtree(m, &parent->child[(first >> (VM_TRIE_LEVELS - level)) & 1], level);
        /* mark the path down to the parent stale: its hashes covered the dropped pages */
        vm_tnode *n = m->root;
        for (unsigned l = 0; l < level && n; l++) {
            n->stale = 1;
            n = n->child[(first >> (VM_TRIE_LEVELS - 1 - l)) & 1];
        }
    }
    return vm_mem_write(m, (uint32_t)s << VM_SLOT_BITS, data, len);
}

const uint32_t *vm_mem_take_written(vm_mem *m, size_t *n) {
    *n = m->nunsaved;
    for (size_t i = 0; i < m->nunsaved; i++) {
        vm_page *p = m->pages[m->unsaved[i]];
        if (p) p->flags |= VM_PAGE_SAVED;
    }
    m->nunsaved = 0;
    return m->unsaved;
}

int vm_mem_put_page(vm_mem *m, uint32_t index, const uint8_t *data, const uint8_t *hash) {
    vm_page *p = m->pages[index];
    if (!p && !(p = new_page(m, index))) return -1;
    if (data) memcpy(p->data, data, VM_PAGE_SIZE);
    else memset(p->data, 0, VM_PAGE_SIZE);
    if (p->decoded) {
        const void *undecoded = __atomic_load_n(&vm_dec_undecoded, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < VM_PAGE_SIZE / 4; i++) p->decoded[i].h = undecoded;
    }
    if (hash) {
        memcpy(p->hash, hash, 32);
        p->flags |= VM_PAGE_HASHED;
        /* its trie path must be recomputed even though the page itself needs no rehash */
        vm_tnode *n = m->root;
        for (unsigned level = 0; level < VM_TRIE_LEVELS; level++) {
            n->stale = 1;
            if (level + 1 < VM_TRIE_LEVELS) n = n->child[(index >> (VM_TRIE_LEVELS - 1 - level)) & 1];
        }
    } else if (p->flags & VM_PAGE_HASHED) {
        if (push(&m->stale, &m->nstale, &m->capstale, index) != 0) return -1;
        p->flags &= ~VM_PAGE_HASHED;
    }
    return 0;
}

int vm_mem_copy(vm_mem *dst, const vm_mem *src) {
    if (vm_mem_init(dst) != 0) return -1;
    for (size_t k = 0; k < src->nallocated; k++) {
        uint32_t i = src->allocated[k];
        const vm_page *p = src->pages[i];
        if (!p) continue;
        int known = p->flags & VM_PAGE_HASHED;
        if (vm_mem_put_page(dst, i, p->data, known ? p->hash : NULL) != 0) {
            vm_mem_free(dst);
            return -1;
        }
    }
    return 0;
}
