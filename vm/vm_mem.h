/* vm_mem.h: the VM's sparse 4 GiB memory and its Merkle root (docs/vm.md, "Memory").
 *
 * Memory is split into 4 KiB pages (a page is a height-7 subtree of 128 leaves), allocated on
 * first write (or instruction fetch); unallocated pages read as zero. The depth-27 memory tree is the page subtrees
 * under a binary trie of the 20 page-index bits whose nodes cache their hashes. A write marks its
 * page dirty (one flag test on the fast path); vm_mem_root() rehashes only dirty pages and the
 * trie paths above them, so a root costs time in what changed, not in the size of memory.
 *
 * A page may carry a decode cache (vm.c fills it on instruction fetch); every write to the page
 * invalidates the cached entry of the word it touches, so self-modifying code stays correct. */
#ifndef OPML_VM_MEM_H
#define OPML_VM_MEM_H

#include <stddef.h>
#include <stdint.h>

#define VM_PAGE_BITS 12
#define VM_PAGE_SIZE (1u << VM_PAGE_BITS)
#define VM_PAGE_COUNT (1u << (32 - VM_PAGE_BITS))
#define VM_PAGE_HEIGHT (VM_PAGE_BITS - 5)         /* leaves per page: 2^7 */
#define VM_MEM_DEPTH 27                           /* leaves of the whole memory: 2^27 */
#define VM_TRIE_LEVELS (VM_MEM_DEPTH - VM_PAGE_HEIGHT) /* 20 */
#define VM_SLOT_BITS 28

/* Page flags: a write takes the fast path only while all of them are clear (and the page has no
 * decode cache); the first write to a page clears HASHED and SAVED and lists the page. */
#define VM_PAGE_HASHED 1u   /* `hash` is the root of the page's current bytes */
#define VM_PAGE_SAVED 2u    /* not written since the last vm_mem_take_written */
#define VM_PAGE_CODE 4u     /* the translator (vm_jit.c) ran code from the page: it must see every
                             * write (vm_mem_touch leaves the flag set) */

/* One decode-cache entry of the interpreter (vm.c): the decoded instruction and the address of
 * its handler in the interpreter loop. An entry not decoded yet (or overwritten since) has
 * h == vm_dec_undecoded. A cache has VM_PAGE_SIZE / 4 entries plus one sentinel past the end. */
typedef struct vm_dec {
    const void *h;
    uint32_t imm;
    uint8_t rd, rs1, rs2, op;
} vm_dec;
#define VM_DEC_ENTRIES (VM_PAGE_SIZE / 4 + 1)

/* The handler of entries that are not decoded yet; set by vm_run before it creates any cache. */
extern const void *vm_dec_undecoded;

typedef struct vm_page {
    uint8_t data[VM_PAGE_SIZE];
    uint32_t flags;               /* VM_PAGE_* */
    uint32_t index;               /* page number: address >> VM_PAGE_BITS */
    vm_dec *decoded;              /* the decode cache (VM_DEC_ENTRIES), or NULL */
    uint8_t hash[32];             /* root of the page's 128 leaves when flags & VM_PAGE_HASHED */
} vm_page;

typedef struct vm_tnode vm_tnode;

typedef struct vm_mem {
    vm_page **pages;              /* VM_PAGE_COUNT entries, NULL = all zero */
    vm_tnode *root;               /* trie over page indices, NULL = empty memory */
    uint32_t *stale;              /* indices of pages whose VM_PAGE_HASHED was cleared */
    size_t nstale, capstale;
    uint32_t *unsaved;            /* indices of pages whose VM_PAGE_SAVED was cleared */
    size_t nunsaved, capunsaved;
    uint32_t *allocated;          /* indices of every page allocated so far (a dropped page may
                                   * stay listed, a re-allocated one be listed twice) */
    size_t nallocated, capallocated;
    size_t npages;
} vm_mem;

/* Initialises empty (all-zero) memory. Returns 0, or -1 out of memory. */
int vm_mem_init(vm_mem *m);
void vm_mem_free(vm_mem *m);

/* The page holding `addr`, allocating a zero page if needed. NULL only when out of memory. */
vm_page *vm_mem_page(vm_mem *m, uint32_t addr);

/* Slow path of a write to page p: updates its flags and lists, drops the decode-cache entry of
 * the word at `addr`. Called by the write helpers below whenever p->flags or p->decoded is set. */
void vm_mem_touch(vm_mem *m, vm_page *p, uint32_t addr);

/* Copies len bytes in or out at addr (any alignment, may cross pages and wrap at 2^32).
 * vm_mem_write returns 0, or -1 out of memory. */
int vm_mem_write(vm_mem *m, uint32_t addr, const void *src, size_t len);
void vm_mem_read(const vm_mem *m, uint32_t addr, void *dst, size_t len);

/* The 32-byte leaf with index `leaf` (< 2^27). */
void vm_mem_leaf(const vm_mem *m, uint32_t leaf, uint8_t out[32]);

/* The memory root (depth 27), rehashing what changed since the last call. */
void vm_mem_root(vm_mem *m, uint8_t root[32]);

/* The root of slot s (0..15), a tensor root; valid after vm_mem_root. */
void vm_mem_slot_root(vm_mem *m, unsigned s, uint8_t root[32]);

/* The 27 siblings of leaf `leaf`, leaf level first (docs/commitments.md), against the root that
 * vm_mem_root returns. */
void vm_mem_siblings(vm_mem *m, uint32_t leaf, uint8_t siblings[VM_MEM_DEPTH][32]);

/* Replaces slot s (0..15) by `len` bytes of `data` followed by zeros; pages of the slot past the
 * data are dropped. Returns 0, or -1 (len > 2^28, out of memory). */
int vm_mem_load_slot(vm_mem *m, unsigned s, const void *data, size_t len);

/* Hands over the list of pages written since the previous call (setting their SAVED flags);
 * *n gets the count. An index may name a page that no longer exists (dropped by
 * vm_mem_load_slot). The array stays owned by m and is valid until the next write. */
const uint32_t *vm_mem_take_written(vm_mem *m, size_t *n);

/* Makes `dst` an exact copy of `src` (contents and cached hashes). Returns 0 or -1. */
int vm_mem_copy(vm_mem *dst, const vm_mem *src);

/* Copies one page's bytes and, when `hash` is non-NULL, its known root (else it is rehashed).
 * A page of all zeros may be passed as data == NULL. Returns 0 or -1. */
int vm_mem_put_page(vm_mem *m, uint32_t index, const uint8_t *data, const uint8_t *hash);

#endif
