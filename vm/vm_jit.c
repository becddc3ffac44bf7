/* vm_jit.c: RV32IM basic blocks translated to x86-64 machine code (see vm_jit.h).
 *
 * Why: the interpreter spends several host cycles per guest instruction on dispatch alone; a
 * phase-2 dispute re-runs a node of hundreds of millions of instructions, so vm_run translates.
 *
 * This file holds the translator's state (the blocks made, the copies of the pages they were read
 * from), the translation of a block, the code buffer and the dispatcher that runs blocks and
 * interprets what they leave; the machine code itself (the encoder, one template per instruction,
 * the trampoline) is vm_jit_x86.c's, and vm_jit_private.h the state the two share.
 *
 * Blocks. A block is the run of instructions from a pc up to and including the first branch or
 * jump, stopping before an instruction that halts (ECALL, EBREAK, an illegal word), at the end of
 * its page, or after JIT_MAX_BLOCK instructions. Its code first takes its length N off the budget
 * (r14) and leaves to the dispatcher if the budget is smaller, so a run never passes max_step:
 * the dispatcher interprets the last few steps. Exits to a fixed pc are jumps that the dispatcher
 * patches to the target block once that is translated (chaining); JALR looks its target up in a
 * direct-mapped table in the context (the inline cache), and leaves to the dispatcher on a miss.
 *
 * Leaving mid-block ("deopt") at instruction i gives back the steps of instructions i..N-1 and
 * sets pc to instruction i; the dispatcher then interprets that one instruction. That is how a
 * misaligned access faults, and how a store retries when memory cannot be allocated: every fault
 * and every halt is the interpreter's, never re-implemented here.
 *
 * Code changes. Every page a block was read from carries VM_PAGE_CODE, so every write to it
 * leaves the fast store path; the translator keeps a copy of each such page and a bitmap of the
 * words it translated. A guest store that changes a translated word ends its block and flushes
 * every translation. Changes made any other way (by the interpreter, by vm_mem_* between runs,
 * pages replaced or dropped) are found by comparing the copies when vm_run starts and after each
 * interpreted step. Nothing keeps a pointer to a vm_page between calls.
 *
 * W^X: the code buffer is one memory object mapped twice, writable at j->code and executable at
 * j->code + j->delta, never both at one address. Code is written, and jumps patched, through the
 * writable view (relative jumps are the same in both); what runs, and every pointer that code
 * jumps through (block entries, the inline cache), is in the executable view. */
#define _GNU_SOURCE /* memfd_create */
#include "vm_jit_private.h"

#if defined(__x86_64__) && defined(__linux__)

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- the translator's state: pages read, blocks made ------------------------------------- */

jit_page *jit_code_page(vm_jit *j, uint32_t index) {
    for (size_t i = 0; i < j->ncpages; i++)
        if (j->cpages[i].index == index) return &j->cpages[i];
    return NULL;
}

static void jit_flush(vm_jit *j) {
    j->used = j->start;
    if (j->blocks) memset(j->blocks, 0, j->capblocks * sizeof *j->blocks);
    j->nblocks = 0;
    j->ncpages = 0;
    for (size_t i = 0; i < JIT_IC_SIZE; i++) j->ic[i] = (jit_ic){1, 0, NULL}; /* pc 1 never matches */
    j->gen++;
}

/* Compares every page copy with memory: a translated word that differs means the translations
 * are stale (returns 1); other differences refresh the copy. Marks the pages VM_PAGE_CODE again
 * (a page may have been replaced since). */
static int jit_stale(vm_jit *j) {
    for (size_t i = 0; i < j->ncpages; i++) {
        jit_page *cp = &j->cpages[i];
        vm_page *p = j->v->mem.pages[cp->index];
        if (!p) return 1;
        p->flags |= VM_PAGE_CODE;
        if (memcmp(p->data, cp->copy, VM_PAGE_SIZE) == 0) continue;
        for (uint32_t w = 0; w < JIT_WORDS; w++)
            if ((cp->translated[w / 64] >> (w % 64) & 1) && memcmp(p->data + 4 * w, cp->copy + 4 * w, 4) != 0) return 1;
        memcpy(cp->copy, p->data, VM_PAGE_SIZE);
    }
    return 0;
}

/* The copy of page p, made on first use; NULL out of memory. */
static jit_page *jit_watch(vm_jit *j, vm_page *p) {
    jit_page *cp = jit_code_page(j, p->index);
    if (cp) return cp;
    if (j->ncpages == j->capcpages) {
        size_t cap = j->capcpages ? 2 * j->capcpages : 8;
        jit_page *n = realloc(j->cpages, cap * sizeof *n);
        if (!n) return NULL;
        j->cpages = n, j->capcpages = cap;
    }
    cp = &j->cpages[j->ncpages++];
    cp->index = p->index;
    memcpy(cp->copy, p->data, VM_PAGE_SIZE);
    memset(cp->translated, 0, sizeof cp->translated);
    p->flags |= VM_PAGE_CODE;
    return cp;
}

static size_t slot_of(const vm_jit *j, uint32_t pc) {
    return (size_t)((pc >> 2) * 0x9E3779B1u) & (j->capblocks - 1);
}

static jit_block *block_find(vm_jit *j, uint32_t pc) {
    if (!j->capblocks) return NULL;
    for (size_t s = slot_of(j, pc);; s = (s + 1) & (j->capblocks - 1)) {
        jit_block *b = &j->blocks[s];
        if (!b->used) return NULL;
        if (b->pc == pc) return b;
    }
}

/* A new entry for pc (not in the table); NULL out of memory. */
static jit_block *block_add(vm_jit *j, uint32_t pc) {
    if (2 * (j->nblocks + 1) > j->capblocks) {
        jit_block *old = j->blocks;
        size_t oldcap = j->capblocks, cap = oldcap ? 2 * oldcap : 1024;
        if (!(j->blocks = calloc(cap, sizeof *j->blocks))) {
            j->blocks = old;
            return NULL;
        }
        j->capblocks = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].used) {
                size_t s = slot_of(j, old[i].pc);
                while (j->blocks[s].used) s = (s + 1) & (cap - 1);
                j->blocks[s] = old[i];
            }
        free(old);
    }
    size_t s = slot_of(j, pc);
    while (j->blocks[s].used) s = (s + 1) & (j->capblocks - 1);
    j->nblocks++;
    j->blocks[s] = (jit_block){pc, 0, 1, NULL};
    return &j->blocks[s];
}

static int ends_block(unsigned op) {
    return op == VM_OP_JAL || op == VM_OP_JALR || (op >= VM_OP_BEQ && op <= VM_OP_BGEU);
}

/* The block at pc (pc aligned, not in the table), translated; an entry with n = 0 when the
 * instruction at pc is one the translator leaves to the interpreter. NULL when out of memory
 * (the dispatcher then interprets). */
static jit_block *translate(vm_jit *j, uint32_t pc) {
    vm_page *p = j->v->mem.pages[pc >> VM_PAGE_BITS];
    vm_insn ins[JIT_MAX_BLOCK];
    uint32_t n = 0;
    for (uint32_t a = pc; p && n < JIT_MAX_BLOCK; a += 4) {
        uint32_t word;
        memcpy(&word, p->data + (a & (VM_PAGE_SIZE - 1)), 4);
        vm_insn in = vm_decode(word);
        if (in.op == VM_OP_ILLEGAL || in.op == VM_OP_ECALL || in.op == VM_OP_EBREAK) break;
        ins[n++] = in;
        if (ends_block(in.op) || ((a + 4) & (VM_PAGE_SIZE - 1)) == 0) break;
    }
    if (n == 0) return block_add(j, pc);
    if (j->used + JIT_BLOCK_ROOM > JIT_CODE_BYTES || (j->ncpages == JIT_MAX_PAGES && !jit_code_page(j, p->index)))
        jit_flush(j);
    jit_page *cp = jit_watch(j, p);
    if (!cp) return NULL;
    jit_block *b = block_add(j, pc);
    if (!b) return NULL;
    emitter e = {j, {j->code + j->used, 0, SEG_HOT}, {j->cold, 0, SEG_COLD}, 0};
    jit_block_entry(&e, n, pc);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t w = ((pc & (VM_PAGE_SIZE - 1)) >> 2) + k;
        cp->translated[w / 64] |= 1ull << (w % 64);
        memcpy(cp->copy + 4 * w, p->data + 4 * w, 4);
        jit_translate_insn(&e, &ins[k], k, n, pc + 4 * k);
    }
    if (!ends_block(ins[n - 1].op)) jit_block_fallthrough(&e, pc + 4 * n);
    jit_layout(&e);
    b->code = e.hot.p + j->delta;
    b->n = (uint16_t)n;
    j->used += (e.hot.n + e.cold.n + 15) & ~(size_t)15;
    return b;
}

/* The translator with its two views of one code buffer; NULL where the host refuses memory
 * that can be executed, or out of memory (vm_run then interprets). */
static vm_jit *jit_new(void) {
    vm_jit *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    int fd = memfd_create("opml-vm-jit", MFD_CLOEXEC);
    void *rw = MAP_FAILED, *rx = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, JIT_CODE_BYTES) == 0) {
        rw = mmap(NULL, JIT_CODE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        rx = mmap(NULL, JIT_CODE_BYTES, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    }
    if (fd >= 0) close(fd);
    if (rw == MAP_FAILED || rx == MAP_FAILED) {
        if (rw != MAP_FAILED) munmap(rw, JIT_CODE_BYTES);
        if (rx != MAP_FAILED) munmap(rx, JIT_CODE_BYTES);
        free(j);
        return NULL;
    }
    j->code = rw;
    j->delta = (uint8_t *)rx - (uint8_t *)rw;
    jit_trampoline(j);
    jit_flush(j);
    return j;
}

void vm_jit_free(vm_jit *j) {
    if (!j) return;
    munmap(j->code, JIT_CODE_BYTES);
    munmap(j->code + j->delta, JIT_CODE_BYTES);
    free(j->blocks);
    free(j->cpages);
    free(j);
}

/* Interprets up to max_step (one step when max_step is v->step + 1), then drops the
 * translations if the interpreted code wrote over translated code. */
static int interpret(vm_jit *j, vm *v, uint64_t max_step) {
    int rc = vm_interpret(v, max_step);
    if (jit_stale(j)) jit_flush(j);
    return rc;
}

int vm_jit_run(vm *v, uint64_t max_step) {
    if (v->status != VM_RUNNING || v->step >= max_step) return 0;
    vm_jit *j = v->jit;
    if (!j) {
        /* OPML_VM_JIT=0: never translate; =1: from the first run on, however short (tests);
         * unset: once a run is long enough to be worth it (not the single steps of proofs) */
        const char *env = getenv("OPML_VM_JIT");
        if (env && !strcmp(env, "0")) return 1;
        if (max_step - v->step < (env && !strcmp(env, "1") ? 0 : JIT_FIRST_RUN) || !(j = v->jit = jit_new())) return 1;
    }
    j->v = v, j->x = v->x, j->pages = v->mem.pages;
    if (jit_stale(j)) jit_flush(j);
    uint8_t *link = NULL;   /* the rel32 to point at the next block, from the last exit */
    unsigned link_gen = 0;
    int from_jalr = 0;
    while (v->status == VM_RUNNING && v->step < max_step) {
        uint64_t left = max_step - v->step;
        jit_block *b = NULL;
        if (!(v->pc & 3) && !(b = block_find(j, v->pc))) b = translate(j, v->pc);
        if (!b || !b->code || b->n > left) {
            /* a pc the translator leaves alone (one step), or a budget smaller than the block */
            if (interpret(j, v, b && b->code ? max_step : v->step + 1) != 0) return -1;
            link = NULL, from_jalr = 0;
            continue;
        }
        if (link && link_gen == j->gen) {
            int32_t rel = (int32_t)((b->code - j->delta) - (link + 4));
            memcpy(link, &rel, 4);
        }
        if (from_jalr) j->ic[(v->pc >> 2) & (JIT_IC_SIZE - 1)] = (jit_ic){v->pc, 0, b->code};
        link = NULL, from_jalr = 0;
        int (*enter)(vm_jit *, const uint8_t *);
        const void *entry = j->code + j->delta;
        memcpy(&enter, &entry, sizeof enter);
        j->left = left;
        int why = enter(j, b->code);
        v->step += left - j->left;
        v->pc = j->pc;
        switch (why) {
        case EXIT_LOOKUP:
            link = j->patch, link_gen = j->gen, from_jalr = !j->patch;
            break;
        case EXIT_DEOPT:
            if (interpret(j, v, v->step + 1) != 0) return -1;
            break;
        case EXIT_CHANGED:
            jit_flush(j);
            break;
        default: /* EXIT_BUDGET: the loop interprets the rest */
            break;
        }
    }
    return 0;
}

#else /* no translator for this host */

int vm_jit_run(vm *v, uint64_t max_step) {
    (void)v, (void)max_step;
    return 1;
}

void vm_jit_free(vm_jit *j) {
    (void)j;
}

#endif
