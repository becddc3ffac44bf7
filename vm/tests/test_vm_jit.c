/* test_vm_jit.c: the translator (vm_jit.c) against the interpreter, which defines the machine.
 *
 * Every case runs one program twice, on a machine driven by vm_run (translating, forced from the
 * first run by OPML_VM_JIT=1) and on one driven by vm_interpret, and requires the same state hash
 * (registers, pc, step, status, exit code and the memory root) at every stop: after the whole
 * run, and after each of many runs cut at random budgets, so that chained blocks, budget exits
 * and re-entry mid-loop are all compared. Programs: long-running loops around random RV32IM
 * bodies (tests/randprog.h), self-modifying code (a patched instruction ahead in the same block,
 * a patched loop body, data stored beside code), calls and returns through JALR, misaligned
 * accesses and jumps, halts, code rewritten between runs by vm_mem_write. */
#include "vm.h"
#include "vm_asm.h"
#include "randprog.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

#define CODE 0x1000u

typedef struct pair { vm jit, ref; } pair;

static void load(pair *p, uint32_t pc, const uint32_t *code, size_t n) {
    CHECK_EQ_INT(vm_init(&p->jit), 0);
    CHECK_EQ_INT(vm_init(&p->ref), 0);
    CHECK_EQ_INT(vm_mem_write(&p->jit.mem, pc, code, 4 * n), 0);
    CHECK_EQ_INT(vm_mem_write(&p->ref.mem, pc, code, 4 * n), 0);
    p->jit.pc = p->ref.pc = pc;
}

static int same(pair *p, const char *what, uint64_t at) {
    uint8_t a[32], b[32];
    vm_state_hash(&p->jit, a);
    vm_state_hash(&p->ref, b);
    if (memcmp(a, b, 32) == 0) return 1;
    fprintf(stderr, "%s: translated and interpreted machines differ after step %llu: pc %08x/%08x step %llu/%llu "
                    "status %u/%u exit %u/%u\n", what, (unsigned long long)at, p->jit.pc, p->ref.pc,
            (unsigned long long)p->jit.step, (unsigned long long)p->ref.step, p->jit.status, p->ref.status,
            p->jit.exit_code, p->ref.exit_code);
    for (int r = 1; r < 32; r++)
        if (p->jit.x[r] != p->ref.x[r]) fprintf(stderr, "  x%d: %08x / %08x\n", r, p->jit.x[r], p->ref.x[r]);
    return 0;
}

/* Runs both to max_step in one go, then compares. */
static void run_whole(pair *p, uint64_t max_step, const char *what) {
    CHECK_EQ_INT(vm_run(&p->jit, max_step), 0);
    CHECK_EQ_INT(vm_interpret(&p->ref, max_step), 0);
    CHECK(same(p, what, max_step));
}

/* Runs both in slices of random length (1 .. maxslice steps), comparing after each. */
static void run_sliced(pair *p, uint64_t max_step, uint32_t maxslice, const char *what) {
    int ok = 1;
    while (ok && p->ref.status == VM_RUNNING && p->ref.step < max_step) {
        uint64_t to = p->ref.step + 1 + rp_rnd() % maxslice;
        if (to > max_step) to = max_step;
        CHECK_EQ_INT(vm_run(&p->jit, to), 0);
        CHECK_EQ_INT(vm_interpret(&p->ref, to), 0);
        ok = same(p, what, to);
    }
    CHECK(ok);
}

static void done(pair *p) {
    vm_free(&p->jit);
    vm_free(&p->ref);
}

/* A random body (randprog.h) looped `iters` times: prologue, counter set-up, body, the landing
 * pad of its forward jumps, then a counter in data memory that branches back to the body. The
 * loop tail clobbers x1, which the body treats as any other register. Returns the word count. */
static size_t looped_program(uint32_t *code, size_t cap, size_t body, uint32_t iters) {
    static uint32_t raw[4096];
    size_t n = rp_generate(raw, 4096, body);
    const size_t prologue = 61, epilogue = 30 + 9; /* rp_generate's fixed parts */
    const int32_t counter = RP_DATA_BYTES - 4;
    size_t k = 0;
    memcpy(code, raw, 4 * prologue), k = prologue;
    code[k++] = RV_ADDI(1, 0, (int32_t)iters);
    code[k++] = rv_s(counter, 1, 31, 2);
    size_t top = k;
    size_t middle = n - epilogue - prologue; /* body, then the landing pad of its jumps */
    memcpy(code + k, raw + prologue, 4 * middle), k += middle;
    code[k++] = rv_i(counter, 31, 2, 1, 0x03);      /* lw x1, counter(x31) */
    code[k++] = RV_ADDI(1, 1, -1);
    code[k++] = rv_s(counter, 1, 31, 2);
    code[k] = rv_b((int32_t)(4 * ((int64_t)top - (int64_t)k)), 0, 1, 1); /* bne x1, x0, top */
    k++;
    memcpy(code + k, raw + n - epilogue, 4 * epilogue), k += epilogue;
    CHECK(k <= cap);
    return k;
}

static void test_random_loops(void) {
    static uint32_t code[4096];
    for (uint32_t seed = 1; seed <= 20; seed++) {
        rp_seed = seed * 104729;
        size_t n = looped_program(code, 4096, 300, 150 + seed * 5);
        pair p;
        char what[64];
        snprintf(what, sizeof what, "random loop %u, whole", seed);
        load(&p, RP_TEXT, code, n);
        run_whole(&p, 10000000, what);
        CHECK_EQ_INT(p.ref.status, VM_FAULTED);          /* the write ecall of the epilogue */
        CHECK_EQ_INT(p.ref.exit_code, VM_FAULT_ECALL);
        CHECK(p.ref.step > 20000);
        done(&p);
        snprintf(what, sizeof what, "random loop %u, sliced", seed);
        load(&p, RP_TEXT, code, n);
        run_sliced(&p, 10000000, seed % 2 ? 3000 : 40, what);
        done(&p);
    }
}

/* A loop whose store rewrites, on every pass, the instruction right after it in the same block
 * (alternating x5 += 1 and x5 += 100): the block must end at the store and run the new word. */
static void test_patch_ahead(void) {
    uint32_t inc1 = RV_ADDI(5, 5, 1), inc100 = RV_ADDI(5, 5, 100);
    uint32_t code[] = {
        RV_ADDI(6, 0, 500),          /* 0x00: x6 = passes */
        RV_LUI(1, CODE >> 12),       /* 0x04: x1 = CODE */
        RV_ADDI(7, 0, 0),            /* 0x08: x7 = word to store, set below */
        rv_s(0x18, 7, 1, 2),         /* 0x0c: sw x7, 0x18(x1): rewrites 0x18 */
        rv_r(0, 8, 7, 4, 7, 0x33),   /* 0x10: x7 ^= x8 (x8 = inc1 ^ inc100): the other word next time */
        RV_ADDI(0, 0, 0),            /* 0x14 */
        inc1,                        /* 0x18: patched */
        RV_ADDI(6, 6, -1),           /* 0x1c */
        rv_b(-20, 0, 6, 1),          /* 0x20: bne x6, x0, 0x0c */
        RV_ADDI(17, 0, 93),
        RV_ECALL,
    };
    pair p;
    load(&p, CODE, code, sizeof code / 4);
    p.jit.x[7] = p.ref.x[7] = inc100;
    p.jit.x[8] = p.ref.x[8] = inc1 ^ inc100;
    code[2] = RV_ADDI(0, 0, 0); /* x7 comes from the registers above */
    CHECK_EQ_INT(vm_mem_write(&p.jit.mem, CODE, code, sizeof code), 0);
    CHECK_EQ_INT(vm_mem_write(&p.ref.mem, CODE, code, sizeof code), 0);
    run_whole(&p, 100000, "patch ahead");
    CHECK_EQ_INT(p.ref.status, VM_EXITED);
    CHECK_EQ_INT(p.ref.x[5], 250 * 100 + 250 * 1);
    done(&p);
    load(&p, CODE, code, sizeof code / 4);
    p.jit.x[7] = p.ref.x[7] = inc100;
    p.jit.x[8] = p.ref.x[8] = inc1 ^ inc100;
    run_sliced(&p, 100000, 9, "patch ahead, sliced");
    done(&p);
}

/* A loop that stores words, halves and bytes into data on its own code page, never changing an
 * instruction: every store takes the slow path, and the translations must stay valid. */
static void test_data_beside_code(void) {
    uint32_t code[] = {
        RV_LUI(1, CODE >> 12),
        RV_ADDI(6, 0, 1000),
        rv_i(0x40, 1, 2, 10, 0x03),  /* 0x08: lw x10, 0x40(x1) */
        RV_ADDI(10, 10, 3),
        rv_s(0x40, 10, 1, 2),        /* sw x10, 0x40(x1): the same page as this code */
        rv_s(0x42, 6, 1, 1),         /* sh x6, 0x42(x1) */
        rv_s(0x41, 6, 1, 0),         /* sb x6, 0x41(x1) */
        RV_ADDI(6, 6, -1),
        rv_b(-24, 0, 6, 1),          /* bne x6, x0, 0x08 */
        RV_ADDI(17, 0, 93),
        RV_ECALL,
    };
    pair p;
    load(&p, CODE, code, sizeof code / 4);
    run_whole(&p, 100000, "data beside code");
    CHECK_EQ_INT(p.ref.status, VM_EXITED);
    done(&p);
}

/* Calls and returns through JALR in a loop (the inline cache), a return to a misaligned address
 * at the end (a fetch fault the interpreter reports). */
static void test_calls(void) {
    uint32_t code[] = {
        RV_ADDI(6, 0, 300),          /* 0x00 */
        rv_j(0x20, 1),               /* 0x04: jal ra, 0x24 (f) */
        rv_j(0x30, 1),               /* 0x08: jal ra, 0x38 (g) */
        RV_ADDI(6, 6, -1),           /* 0x0c */
        rv_b(-12, 0, 6, 1),          /* 0x10: bne x6, x0, 0x04 */
        RV_ADDI(1, 1, 2),            /* 0x14: ra = 0x0e + CODE: misaligned */
        rv_i(0, 1, 0, 0, 0x67),      /* 0x18: jalr x0, 0(ra) */
        RV_ECALL, RV_ECALL,          /* 0x1c, 0x20 */
        RV_ADDI(5, 5, 7),            /* 0x24: f */
        rv_r(1, 5, 5, 0, 9, 0x33),   /* x9 = x5 * x5 */
        rv_i(0, 1, 0, 0, 0x67),      /* ret */
        RV_ECALL, RV_ECALL,
        rv_r(1, 9, 5, 4, 11, 0x33),  /* 0x38: g: x11 = x5 / x9 (div) */
        rv_r(1, 11, 9, 6, 12, 0x33), /* x12 = x9 % x11 (rem) */
        rv_i(1, 1, 0, 0, 0x67),      /* jalr x0, 1(ra): bit 0 cleared */
    };
    pair p;
    load(&p, CODE, code, sizeof code / 4);
    run_whole(&p, 100000, "calls");
    CHECK_EQ_INT(p.ref.status, VM_FAULTED);
    CHECK_EQ_INT(p.ref.exit_code, VM_FAULT_MISALIGNED_FETCH);
    done(&p);
    load(&p, CODE, code, sizeof code / 4);
    run_sliced(&p, 100000, 5, "calls, sliced");
    done(&p);
}

/* A loop that walks a pointer one byte at a time and loads words through it: the first
 * misaligned load faults in the middle of a translated block. Also a store version, and loads
 * from pages never written (zero). */
static void test_misaligned(void) {
    for (int store = 0; store < 2; store++) {
        uint32_t code[] = {
            RV_LUI(1, 0x30000),              /* x1 = 0x30000000: never written before */
            RV_ADDI(6, 0, 400),
            rv_i(0, 1, 0, 10, 0x03),         /* 0x08: lb x10, 0(x1) */
            rv_r(0, 10, 11, 0, 11, 0x33),    /* x11 += x10 */
            store ? rv_s(0, 6, 1, 2) : rv_i(0, 1, 1, 13, 0x03), /* sw x6, 0(x1) / lh x13, 0(x1) */
            rv_i(0, 1, 2, 12, 0x03),         /* lw x12, 0(x1) */
            RV_ADDI(1, 1, 4),
            RV_ADDI(6, 6, -1),
            rv_b(-24, 0, 6, 1),              /* bne x6, x0, 0x08 */
            RV_ADDI(1, 1, 1),                /* then one byte off */
            rv_b(-32, 0, 0, 0),              /* beq x0, x0, 0x08 */
        };
        pair p;
        load(&p, CODE, code, sizeof code / 4);
        run_whole(&p, 100000, store ? "misaligned store" : "misaligned load");
        CHECK_EQ_INT(p.ref.status, VM_FAULTED);
        CHECK_EQ_INT(p.ref.exit_code, store ? VM_FAULT_MISALIGNED_STORE : VM_FAULT_MISALIGNED_LOAD);
        CHECK(p.ref.step > 2000);
        done(&p);
    }
}

/* Code rewritten by vm_mem_write between two runs of the same machine: the second run must see
 * the new instruction, though the first translated the old one. */
static void test_rewrite_between_runs(void) {
    uint32_t code[] = {
        RV_ADDI(5, 5, 1),
        rv_j(-4, 0),                 /* j 0x00 */
    };
    pair p;
    load(&p, CODE, code, 2);
    run_whole(&p, 5000, "before rewrite");
    uint32_t w = RV_ADDI(5, 5, 1000);
    CHECK_EQ_INT(vm_mem_write(&p.jit.mem, CODE, &w, 4), 0);
    CHECK_EQ_INT(vm_mem_write(&p.ref.mem, CODE, &w, 4), 0);
    run_whole(&p, 10000, "after rewrite");
    CHECK_EQ_INT(p.ref.x[5], 2500 + 2500 * 1000);
    done(&p);
}

/* The interpreter (running the last steps of a budget) rewrites code that a translated block
 * holds: the next run must not execute the stale translation. */
static void test_interpreter_writes_code(void) {
    uint32_t code[] = {
        RV_ADDI(5, 5, 1),            /* 0x00: patched into x5 += 100 by the store below */
        RV_ADDI(6, 6, -1),
        rv_b(-8, 0, 6, 1),           /* 0x08: bne x6, x0, 0x00 */
        rv_s(0, 7, 1, 2),            /* 0x0c: sw x7, 0(x1) */
        RV_ADDI(6, 0, 10),
        rv_j(-20, 0),                /* 0x14: j 0x00 */
    };
    pair p;
    load(&p, CODE, code, sizeof code / 4);
    for (int k = 0; k < 2; k++) {
        vm *v = k ? &p.ref : &p.jit;
        v->x[1] = CODE, v->x[6] = 10, v->x[7] = RV_ADDI(5, 5, 100);
    }
    run_whole(&p, 30, "loop translated");   /* ten passes of the loop: at the store */
    run_whole(&p, 31, "store interpreted");  /* the store alone: less budget than its block */
    run_whole(&p, 61, "loop again");
    CHECK_EQ_INT(p.ref.x[5], 10 + 10 * 100);
    done(&p);
}

/* Code spread over 300 pages of one-instruction blocks (jal +4), run three times: the translator
 * runs out of code buffer and of page copies and flushes on the way; the result must not change. */
static void test_many_blocks(void) {
    const uint32_t base = 0x100000, words = 300 * VM_PAGE_SIZE / 4;
    uint32_t *code = malloc(4 * (words + 5));
    CHECK(code != NULL);
    if (!code) return;
    for (uint32_t i = 0; i < words; i++) code[i] = rv_j(4, 0);
    code[words] = RV_ADDI(6, 6, -1);
    code[words + 1] = rv_b(-(int32_t)(4 * (words + 1)), 0, 6, 1); /* bne x6, x0, base: out of reach */
    pair p;
    /* a branch reaches 4 KiB only: go back through a register instead */
    code[words + 1] = rv_b(8, 0, 6, 0);                  /* beq x6, x0, exit */
    code[words + 2] = rv_i(0, 7, 0, 0, 0x67);            /* jalr x0, 0(x7) = base */
    code[words + 3] = RV_ADDI(17, 0, 93);
    code[words + 4] = RV_ECALL;
    load(&p, base, code, words + 5);
    for (int k = 0; k < 2; k++) {
        vm *v = k ? &p.ref : &p.jit;
        v->x[6] = 3, v->x[7] = base;
    }
    run_whole(&p, 10000000, "many blocks");
    CHECK_EQ_INT(p.ref.status, VM_EXITED);
    CHECK_EQ_INT(p.ref.step, 3 * (words + 3) - 1 + 2);
    done(&p);
    free(code);
}

/* The translator is really used by default on a long run, and OPML_VM_JIT=0 turns it off: the
 * comparisons above would otherwise prove nothing. */
static void test_switch(void) {
    uint32_t code[] = {RV_ADDI(5, 5, 1), rv_j(-4, 0)};
    pair p;
    unsetenv("OPML_VM_JIT");
    load(&p, CODE, code, 2);
    CHECK_EQ_INT(vm_run(&p.jit, 100), 0);
    CHECK(p.jit.jit == NULL); /* a short first run is interpreted */
    CHECK_EQ_INT(vm_run(&p.jit, 1000000), 0);
#if defined(__x86_64__) && defined(__linux__)
    CHECK(p.jit.jit != NULL);
#endif
    done(&p);
    setenv("OPML_VM_JIT", "0", 1);
    load(&p, CODE, code, 2);
    CHECK_EQ_INT(vm_run(&p.jit, 1000000), 0);
    CHECK(p.jit.jit == NULL);
    CHECK_EQ_INT(p.jit.x[5], 500000);
    done(&p);
    setenv("OPML_VM_JIT", "1", 1);
}

int main(void) {
    setenv("OPML_VM_JIT", "1", 1);
    test_switch();
    test_random_loops();
    test_patch_ahead();
    test_data_beside_code();
    test_calls();
    test_misaligned();
    test_rewrite_between_runs();
    test_interpreter_writes_code();
    test_many_blocks();
    return check_summary("test_vm_jit");
}
