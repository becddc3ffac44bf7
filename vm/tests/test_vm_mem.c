/* test_vm_mem.c: the paged memory's incremental Merkle root, slot roots and sibling paths against
 * a plain recursive sparse-tree reference, over random writes anywhere in the 4 GiB. */
#include "vm_mem.h"
#include "merkle.h"
#include "keccak.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* The reference: a list of written leaves (index, 32 bytes), root computed recursively. */
#define MAXLEAVES 4096
static struct ref_leaf { uint32_t index; uint8_t data[32]; } ref[MAXLEAVES];
static size_t nref;

static int cmp_leaf(const void *a, const void *b) {
    uint32_t x = ((const struct ref_leaf *)a)->index, y = ((const struct ref_leaf *)b)->index;
    return x < y ? -1 : x > y;
}

static struct ref_leaf *ref_find(uint32_t index) {
    for (size_t i = 0; i < nref; i++)
        if (ref[i].index == index) return &ref[i];
    return NULL;
}

static void ref_write(uint32_t addr, const uint8_t *src, size_t len) {
    for (size_t i = 0; i < len; i++) {
        uint32_t a = addr + (uint32_t)i;
        struct ref_leaf *l = ref_find(a >> 5);
        if (!l) {
            l = &ref[nref++];
            l->index = a >> 5;
            memset(l->data, 0, 32);
        }
        l->data[a & 31] = src[i];
    }
}

/* root of height h over leaves [first, first + 2^h) from the sorted items [lo, hi) */
static void ref_root(unsigned h, uint64_t first, size_t lo, size_t hi, uint8_t out[32]) {
    if (lo == hi) { memcpy(out, merkle_zero(h), 32); return; }
    if (h == 0) { memcpy(out, ref[lo].data, 32); return; }
    uint64_t mid = first + (1ull << (h - 1));
    size_t m = lo;
    while (m < hi && ref[m].index < mid) m++;
    uint8_t l[32], r[32];
    ref_root(h - 1, first, lo, m, l);
    ref_root(h - 1, mid, m, hi, r);
    keccak256_pair(l, r, out);
}

static void ref_full_root(uint8_t out[32]) {
    qsort(ref, nref, sizeof ref[0], cmp_leaf);
    ref_root(VM_MEM_DEPTH, 0, 0, nref, out);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 17, rng_state ^= rng_state << 5;
    return rng_state;
}

static void check_against_ref(vm_mem *m) {
    uint8_t got[32], want[32];
    vm_mem_root(m, got);
    ref_full_root(want);
    CHECK_MEM(got, want, 32);
    /* slot roots combine to the memory root */
    uint8_t slots[16][32];
    for (unsigned s = 0; s < 16; s++) vm_mem_slot_root(m, s, slots[s]);
    uint8_t combined[32];
    merkle_root(slots, sizeof slots, 4, combined);
    CHECK_MEM(combined, want, 32);
    /* sibling paths of written and of untouched leaves lead to the root */
    for (int k = 0; k < 20; k++) {
        uint32_t leaf = k % 2 && nref ? ref[rnd() % nref].index : rnd() >> 5;
        uint8_t sib[VM_MEM_DEPTH][32], data[32], root[32];
        vm_mem_siblings(m, leaf, sib);
        vm_mem_leaf(m, leaf, data);
        merkle_root_from_path(data, leaf, VM_MEM_DEPTH, (const uint8_t (*)[32])sib, root);
        CHECK_MEM(root, want, 32);
    }
}

int main(void) {
    vm_mem m;
    CHECK_EQ_INT(vm_mem_init(&m), 0);
    uint8_t root[32];
    vm_mem_root(&m, root);
    CHECK_MEM(root, merkle_zero(27), 32);
    check_against_ref(&m);

    /* rounds of random writes, some clustered (same pages again), some anywhere */
    for (int round = 0; round < 12; round++) {
        for (int k = 0; k < 40; k++) {
            uint8_t buf[40];
            for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rnd();
            size_t len = 1 + rnd() % sizeof buf;
            uint32_t addr = k % 3 ? 0x30000000u + (rnd() % 0x3000) : rnd();
            if (k == 0) addr = 0xFFFFFFFFu - (uint32_t)len + 1; /* the very top of memory */
            CHECK_EQ_INT(vm_mem_write(&m, addr, buf, len), 0);
            ref_write(addr, buf, len);
        }
        check_against_ref(&m);
    }
    uint8_t readback[40];
    vm_mem_read(&m, ref[0].index << 5, readback, 32);
    CHECK_MEM(readback, ref[0].data, 32);

    /* a copy has the same root and changes independently */
    vm_mem c;
    CHECK_EQ_INT(vm_mem_copy(&c, &m), 0);
    uint8_t r1[32], r2[32];
    vm_mem_root(&m, r1);
    vm_mem_root(&c, r2);
    CHECK_MEM(r1, r2, 32);
    uint8_t one = 1;
    vm_mem_write(&c, 0x20000000, &one, 1);
    vm_mem_root(&c, r2);
    CHECK(memcmp(r1, r2, 32) != 0);
    vm_mem_root(&m, r2);
    CHECK_MEM(r1, r2, 32);
    vm_mem_free(&c);

    /* loading a slot replaces it whole: its root is the tensor root of the data */
    static uint8_t tensor[10000];
    for (size_t i = 0; i < sizeof tensor; i++) tensor[i] = (uint8_t)rnd();
    CHECK_EQ_INT(vm_mem_load_slot(&m, 3, tensor, sizeof tensor), 0);
    uint8_t slot[32], want[32];
    vm_mem_root(&m, root);
    vm_mem_slot_root(&m, 3, slot);
    merkle_tensor_root(tensor, sizeof tensor, want);
    CHECK_MEM(slot, want, 32);
    CHECK_EQ_INT(vm_mem_load_slot(&m, 3, tensor, 100), 0);
    vm_mem_root(&m, root);
    vm_mem_slot_root(&m, 3, slot);
    merkle_tensor_root(tensor, 100, want);
    CHECK_MEM(slot, want, 32);
    CHECK_EQ_INT(vm_mem_load_slot(&m, 16, tensor, 1), -1);
    /* the reference, with slot 3 replaced the same way */
    size_t k = 0;
    for (size_t i = 0; i < nref; i++)
        if (ref[i].index >> 23 != 3) ref[k++] = ref[i];
    nref = k;
    ref_write(0x30000000u, tensor, 100);
    check_against_ref(&m);

    /* written-page tracking */
    size_t n;
    vm_mem_take_written(&m, &n);
    CHECK(n > 0);
    vm_mem_take_written(&m, &n);
    CHECK_EQ_INT(n, 0);
    vm_mem_write(&m, 0x50000000, &one, 1);
    const uint32_t *w = vm_mem_take_written(&m, &n);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(w[0], 0x50000000u >> VM_PAGE_BITS);
    vm_mem_free(&m);
    return check_summary("test_vm_mem");
}
