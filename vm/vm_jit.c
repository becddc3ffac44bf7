/* vm_jit.c: RV32IM basic blocks translated to x86-64 machine code (see vm_jit.h).
 *
 * Why: the interpreter spends several host cycles per guest instruction on dispatch alone; a
 * phase-2 dispute re-runs a node of hundreds of millions of instructions, so vm_run translates.
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
 * Host registers in translated code: rbx = v->x (x[0] is always 0 in memory), r12 = the page
 * table, r13 = the vm_jit context, r14 = steps left; rax, rcx, rdx, rsi, rdi are scratch and
 * nothing lives in them from one guest instruction to the next.
 *
 * W^X: the code buffer is one memory object mapped twice, writable at j->code and executable at
 * j->code + j->delta, never both at one address. Code is written, and jumps patched, through the
 * writable view (relative jumps are the same in both); what runs, and every pointer that code
 * jumps through (block entries, the inline cache), is in the executable view. */
#define _GNU_SOURCE /* memfd_create */
#include "vm_jit.h"

#include "vm.h"

#if defined(__x86_64__) && defined(__linux__)

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define JIT_CODE_BYTES (8u << 20)      /* code buffer; flushed whole when full */
#define JIT_MAX_BLOCK 128              /* instructions per block */
#define JIT_IC_SIZE 1024               /* JALR inline cache entries (a power of 2) */
#define JIT_COLD_BYTES (32u << 10)     /* out-of-line stubs of one block, worst case < 16 KiB */
#define JIT_BLOCK_ROOM (64u << 10)     /* worst-case bytes of one block, hot and cold */
#define JIT_MAX_FIXUPS (JIT_MAX_BLOCK * 10) /* a store makes 8 jumps, a block end 4 more */
#define JIT_WORDS (VM_PAGE_SIZE / 4)
#define JIT_MAX_PAGES 256              /* page copies kept (1 MiB); more flushes, bounding memory
                                        * and the comparison at each vm_run */
#define JIT_FIRST_RUN 10000          /* a machine gets a translator on its first run this long */

/* Why translated code returned to the dispatcher (the value in eax at the exit). */
enum { EXIT_LOOKUP = 0, EXIT_BUDGET, EXIT_DEOPT, EXIT_CHANGED };

typedef struct jit_ic { uint32_t pc, unused; const uint8_t *code; } jit_ic;
typedef struct jit_block {
    uint32_t pc;
    uint16_t n;           /* instructions; 0: none at pc, interpret it */
    uint8_t used;
    const uint8_t *code;
} jit_block;
typedef struct jit_page {
    uint32_t index;                     /* page number */
    uint8_t copy[VM_PAGE_SIZE];         /* the page's bytes as the translator last saw them */
    uint64_t translated[JIT_WORDS / 64]; /* words some block was translated from */
} jit_page;

typedef struct jit_fixup { uint8_t seg, to_seg; uint32_t at, to; const uint8_t *abs; } jit_fixup;

struct vm_jit {
    /* read and written by translated code at fixed offsets (offsetof below) */
    uint32_t *x;
    vm_page **pages;
    uint64_t left;
    uint8_t *patch;                     /* at EXIT_LOOKUP: the rel32 to link (writable view), NULL
                                         * after a JALR */
    uint32_t pc;                        /* at every exit: where the guest continues */
    jit_ic ic[JIT_IC_SIZE];
    /* the dispatcher's */
    vm *v;
    uint8_t *code;                      /* JIT_CODE_BYTES, the writable view */
    ptrdiff_t delta;                    /* the executable view is at code + delta */
    size_t used, start;                 /* start: past the entry/exit trampoline */
    unsigned gen;                       /* flush count: a pending link from before a flush is void */
    const uint8_t *exit;                /* in the writable view, like every jump target in code */
    jit_block *blocks;                  /* open-addressing table keyed by pc */
    size_t nblocks, capblocks;
    jit_page *cpages;
    size_t ncpages, capcpages;
    uint8_t cold[JIT_COLD_BYTES];       /* a block's stubs, appended to its hot code when done */
    jit_fixup fix[JIT_MAX_FIXUPS];
};

/* ---- x86-64 encoding ----------------------------------------------------------------------
 * Only what the templates below need. op_mem emits `opcode reg, [base + index<<scale + disp]`
 * (the direction is the opcode's), choosing the shortest displacement and adding the SIB byte
 * that rsp/r12 as base require; base rbp/r13 always gets a displacement (mod 00 would mean
 * rip-relative). A two-byte opcode is passed as 0x0Fxx. */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
enum { CC_B = 2, CC_E = 4, CC_NE = 5, CC_L = 0xC, CC_GE = 0xD, CC_AE = 3 };
#define NOIDX (-1)
enum { SEG_HOT, SEG_COLD, SEG_ABS };

typedef struct seg { uint8_t *p; uint32_t n; uint8_t id; } seg;
typedef struct label { uint8_t seg; uint32_t off; const uint8_t *abs; } label;

typedef struct emitter {
    vm_jit *j;
    seg hot, cold;
    size_t nfix;
} emitter;

static void b8(seg *s, unsigned v) { s->p[s->n++] = (uint8_t)v; }
static void b32(seg *s, uint32_t v) { memcpy(s->p + s->n, &v, 4), s->n += 4; }
static void b64(seg *s, uint64_t v) { memcpy(s->p + s->n, &v, 8), s->n += 8; }

static void rex(seg *s, int w, int reg, int index, int base) {
    unsigned r = 0x40u | (unsigned)w << 3 | (unsigned)(reg >> 3 & 1) << 2 |
                 (index >= 0 ? (unsigned)(index >> 3 & 1) << 1 : 0) | (unsigned)(base >> 3 & 1);
    if (r != 0x40) b8(s, r);
}

static void opcode(seg *s, unsigned op) {
    if (op > 0xFF) b8(s, op >> 8);
    b8(s, op & 0xFF);
}

static void op_mem(seg *s, int w, unsigned op, int reg, int base, int index, int scale, int32_t disp) {
    rex(s, w, reg, index, base);
    opcode(s, op);
    int mod = disp == 0 && (base & 7) != RBP ? 0 : disp >= -128 && disp <= 127 ? 1 : 2;
    if (index >= 0 || (base & 7) == RSP) {
        b8(s, (unsigned)(mod << 6 | (reg & 7) << 3 | RSP));
        b8(s, (unsigned)(scale << 6 | (index >= 0 ? index & 7 : RSP) << 3 | (base & 7)));
    } else {
        b8(s, (unsigned)(mod << 6 | (reg & 7) << 3 | (base & 7)));
    }
    if (mod == 1) b8(s, (unsigned)disp & 0xFF);
    else if (mod == 2) b32(s, (uint32_t)disp);
}

/* `opcode reg, rm` between registers (ModRM mod 11) */
static void op_reg(seg *s, int w, unsigned op, int reg, int rm) {
    rex(s, w, reg, NOIDX, rm);
    opcode(s, op);
    b8(s, (unsigned)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

/* guest register r as a memory operand */
#define GREG(r) RBX, NOIDX, 0, (int32_t)(4 * (r))
#define CTX(field) R13, NOIDX, 0, (int32_t)offsetof(vm_jit, field)

static void mov_r32_imm(seg *s, int reg, uint32_t imm) { rex(s, 0, 0, NOIDX, reg), b8(s, 0xB8u + (reg & 7)), b32(s, imm); }
static void mov_rax_imm64(seg *s, uint64_t imm) { b8(s, 0x48), b8(s, 0xB8), b64(s, imm); }
static void call_rax(seg *s) { b8(s, 0xFF), b8(s, 0xD0); }
/* add/sub r14, imm32 (the budget) */
static void budget_add(seg *s, uint32_t n) { if (n) op_reg(s, 1, 0x81, 0, R14), b32(s, n); }

static label here(const seg *s) { return (label){s->id, s->n, NULL}; }

/* a jmp (cc < 0) or jcc rel32 from segment s to `to`, resolved when the block is laid out;
 * returns the jump's fixup (its rel32 field is at fixup->at in s) */
static jit_fixup *jump(emitter *e, seg *s, int cc, label to) {
    if (cc < 0) b8(s, 0xE9);
    else b8(s, 0x0F), b8(s, 0x80u | (unsigned)cc);
    jit_fixup *f = &e->j->fix[e->nfix++];
    *f = (jit_fixup){s->id, to.seg, s->n, to.off, to.abs};
    b32(s, 0);
    return f;
}

/* points an earlier forward jump at the current position of s */
static void land(jit_fixup *f, const seg *s) {
    f->to_seg = s->id, f->to = s->n, f->abs = NULL;
}

/* ---- block templates ---------------------------------------------------------------------- */

/* Cold stub leaving to the dispatcher with pc and reason, after giving back `refund` steps. */
static label exit_stub(emitter *e, uint32_t refund, uint32_t pc, unsigned why) {
    seg *c = &e->cold;
    label l = here(c);
    budget_add(c, refund);
    op_mem(c, 0, 0xC7, 0, CTX(pc)), b32(c, pc);
    mov_r32_imm(c, RAX, why);
    jump(e, c, -1, (label){SEG_ABS, 0, e->j->exit});
    return l;
}

/* A jmp/jcc in hot code to the block at `target`: first to a stub that asks the dispatcher for
 * it and names this rel32 as the one to patch. */
static void chain(emitter *e, int cc, uint32_t target) {
    seg *c = &e->cold;
    label stub = here(c);
    uint32_t at = jump(e, &e->hot, cc, stub)->at;
    op_mem(c, 0, 0xC7, 0, CTX(pc)), b32(c, target);
    mov_rax_imm64(c, (uint64_t)(uintptr_t)(e->hot.p + at));
    op_mem(c, 1, 0x89, RAX, CTX(patch));
    op_reg(c, 0, 0x31, RAX, RAX); /* EXIT_LOOKUP */
    jump(e, c, -1, (label){SEG_ABS, 0, e->j->exit});
}

/* JALR's end: target in eax; through the inline cache, or to the dispatcher. */
static void indirect(emitter *e) {
    seg *h = &e->hot, *c = &e->cold;
    int32_t ic = (int32_t)offsetof(vm_jit, ic);
    op_reg(h, 0, 0x89, RAX, RCX);                              /* mov ecx, eax */
    op_reg(h, 0, 0x81, 4, RCX), b32(h, (JIT_IC_SIZE - 1) << 2); /* and ecx, mask */
    op_reg(h, 0, 0xC1, 4, RCX), b8(h, 2);                      /* shl ecx, 2: entry offset */
    op_mem(h, 0, 0x3B, RAX, R13, RCX, 0, ic);                  /* cmp eax, [r13+rcx+ic] */
    label miss = here(c);
    jump(e, h, CC_NE, miss);
    op_mem(h, 0, 0xFF, 4, R13, RCX, 0, ic + 8);                /* jmp [r13+rcx+ic+8] */
    op_mem(c, 0, 0x89, RAX, CTX(pc));
    op_mem(c, 1, 0xC7, 0, CTX(patch)), b32(c, 0);
    op_reg(c, 0, 0x31, RAX, RAX);
    jump(e, c, -1, (label){SEG_ABS, 0, e->j->exit});
}

static uint32_t h_div(uint32_t a, uint32_t b) { return vm_div(a, b); }
static uint32_t h_divu(uint32_t a, uint32_t b) { return vm_divu(a, b); }
static uint32_t h_rem(uint32_t a, uint32_t b) { return vm_rem(a, b); }
static uint32_t h_remu(uint32_t a, uint32_t b) { return vm_remu(a, b); }

static jit_page *code_page(vm_jit *j, uint32_t index) {
    for (size_t i = 0; i < j->ncpages; i++)
        if (j->cpages[i].index == index) return &j->cpages[i];
    return NULL;
}

/* The slow path of a guest store (called from translated code): a page to allocate, flags to
 * update, or a page that holds translated code. Returns 0 done; 1 done, but a translated word
 * changed (the block must end); 2 not done, out of memory (the interpreter retries and fails). */
static int h_store(vm_jit *j, uint32_t addr, uint32_t value, uint32_t size) {
    vm_mem *m = &j->v->mem;
    vm_page *p = vm_mem_page(m, addr);
    if (!p) return 2;
    vm_mem_touch(m, p, addr);
    uint32_t off = addr & (VM_PAGE_SIZE - 1);
    memcpy(p->data + off, &value, size); /* little-endian host, as vm.c */
    if (!(p->flags & VM_PAGE_CODE)) return 0;
    jit_page *cp = code_page(j, p->index);
    if (!cp) return 0;
    uint32_t w = off >> 2;
    if (memcmp(cp->copy + 4 * w, p->data + 4 * w, 4) == 0) return 0;
    if (cp->translated[w / 64] >> (w % 64) & 1) return 1;
    memcpy(cp->copy + 4 * w, p->data + 4 * w, 4);
    return 0;
}

/* Loads and stores: the address into eax and the alignment check (deopt on a misaligned one). */
static void checked_address(emitter *e, const vm_insn *in, unsigned size, label deopt) {
    seg *h = &e->hot;
    op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
    if (in->imm) op_reg(h, 0, 0x81, 0, RAX), b32(h, in->imm);
    if (size > 1) {
        b8(h, 0xA8), b8(h, size - 1); /* test al, size-1 */
        jump(e, h, CC_NE, deopt);
    }
}

/* checked_address, then the page into rdx (a missing page: the cold path `missing`). */
static void address(emitter *e, const vm_insn *in, unsigned size, label deopt, label missing) {
    seg *h = &e->hot;
    checked_address(e, in, size, deopt);
    op_reg(h, 0, 0x89, RAX, RCX);
    op_reg(h, 0, 0xC1, 5, RCX), b8(h, VM_PAGE_BITS);        /* shr ecx, 12 */
    op_mem(h, 1, 0x8B, RDX, R12, RCX, 3, 0);                /* mov rdx, [r12+rcx*8] */
    op_reg(h, 1, 0x85, RDX, RDX);
    jump(e, h, CC_E, missing);
}

static void load(emitter *e, const vm_insn *in, uint32_t refund, uint32_t pc) {
    seg *h = &e->hot, *c = &e->cold;
    unsigned size = in->op == VM_OP_LW ? 4 : in->op == VM_OP_LH || in->op == VM_OP_LHU ? 2 : 1;
    label deopt = exit_stub(e, refund, pc, EXIT_DEOPT);
    if (in->rd == VM_REG_SINK) { /* nothing to write: only a misaligned address has an effect */
        if (size > 1) checked_address(e, in, size, deopt);
        return;
    }
    label missing = here(c);
    op_reg(c, 0, 0x31, RAX, RAX); /* a page never written reads as zero */
    jit_fixup *back = jump(e, c, -1, (label){0});
    address(e, in, size, deopt, missing);
    op_reg(h, 0, 0x81, 4, RAX), b32(h, VM_PAGE_SIZE - 1);
    static const unsigned ops[] = {[VM_OP_LB] = 0x0FBE, [VM_OP_LBU] = 0x0FB6, [VM_OP_LH] = 0x0FBF,
                                   [VM_OP_LHU] = 0x0FB7, [VM_OP_LW] = 0x8B};
    op_mem(h, 0, ops[in->op], RAX, RDX, RAX, 0, 0);
    land(back, h);
    op_mem(h, 0, 0x89, RAX, GREG(in->rd));
}

static void store(emitter *e, const vm_insn *in, uint32_t refund, uint32_t pc) {
    seg *h = &e->hot, *c = &e->cold;
    unsigned size = in->op == VM_OP_SW ? 4 : in->op == VM_OP_SH ? 2 : 1;
    label deopt = exit_stub(e, refund, pc, EXIT_DEOPT);
    label changed = exit_stub(e, refund - 1, pc + 4, EXIT_CHANGED);
    label slow = here(c);
    op_reg(c, 1, 0x89, R13, RDI);                 /* mov rdi, r13 */
    op_reg(c, 0, 0x89, RAX, RSI);                 /* mov esi, eax (the address) */
    op_mem(c, 0, 0x8B, RDX, GREG(in->rs2));
    mov_r32_imm(c, RCX, size);
    mov_rax_imm64(c, (uint64_t)(uintptr_t)&h_store);
    call_rax(c);
    op_reg(c, 0, 0x85, RAX, RAX);
    jit_fixup *done = jump(e, c, CC_E, (label){0});
    op_reg(c, 0, 0x83, 7, RAX), b8(c, 1);          /* cmp eax, 1 */
    jump(e, c, CC_E, changed);
    jump(e, c, -1, deopt);
    address(e, in, size, deopt, slow);
    op_mem(h, 0, 0x83, 7, RDX, NOIDX, 0, (int32_t)offsetof(vm_page, flags)), b8(h, 0);
    jump(e, h, CC_NE, slow);
    op_reg(h, 0, 0x81, 4, RAX), b32(h, VM_PAGE_SIZE - 1);
    op_mem(h, 0, 0x8B, RCX, GREG(in->rs2));
    if (size == 2) b8(h, 0x66);
    op_mem(h, 0, size == 1 ? 0x88 : 0x89, RCX, RDX, RAX, 0, 0);
    land(done, h);
}

/* rd = rs1 OP rs2 (or OP imm), through eax; `alu` is the x86 group-1 extension (add 0, or 1,
 * and 4, sub 5, xor 6) */
static void alu(seg *h, const vm_insn *in, int alu, int with_imm) {
    op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
    if (with_imm) op_reg(h, 0, 0x81, alu, RAX), b32(h, in->imm);
    else op_mem(h, 0, (unsigned)(alu << 3 | 3), RAX, GREG(in->rs2));
    op_mem(h, 0, 0x89, RAX, GREG(in->rd));
}

static void set_if(seg *h, const vm_insn *in, int cc, int with_imm) {
    op_reg(h, 0, 0x31, RCX, RCX);
    op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
    if (with_imm) op_reg(h, 0, 0x81, 7, RAX), b32(h, in->imm);
    else op_mem(h, 0, 0x3B, RAX, GREG(in->rs2));
    op_reg(h, 0, 0x0F90u | (unsigned)cc, 0, RCX);
    op_mem(h, 0, 0x89, RCX, GREG(in->rd));
}

/* shl 4, shr 5, sar 7; by rs2 (cl) or by the immediate */
static void shift(seg *h, const vm_insn *in, int kind, int with_imm) {
    op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
    if (with_imm) op_reg(h, 0, 0xC1, kind, RAX), b8(h, in->imm);
    else op_mem(h, 0, 0x8B, RCX, GREG(in->rs2)), op_reg(h, 0, 0xD3, kind, RAX);
    op_mem(h, 0, 0x89, RAX, GREG(in->rd));
}

/* the high word of a 64-bit product: operands widened (sign 0x63 movsxd, zero 0x8B mov) */
static void mulh(seg *h, const vm_insn *in, unsigned widen1, unsigned widen2) {
    op_mem(h, widen1 == 0x63, widen1, RAX, GREG(in->rs1));
    op_mem(h, widen2 == 0x63, widen2, RCX, GREG(in->rs2));
    op_reg(h, 1, 0x0FAF, RAX, RCX);
    op_reg(h, 1, 0xC1, 5, RAX), b8(h, 32);
    op_mem(h, 0, 0x89, RAX, GREG(in->rd));
}

static void call2(seg *h, const vm_insn *in, uint32_t (*f)(uint32_t, uint32_t)) {
    op_mem(h, 0, 0x8B, RDI, GREG(in->rs1));
    op_mem(h, 0, 0x8B, RSI, GREG(in->rs2));
    mov_rax_imm64(h, (uint64_t)(uintptr_t)f);
    call_rax(h);
    op_mem(h, 0, 0x89, RAX, GREG(in->rd));
}

/* The register-and-immediate operations: the x86 detail their template takes (the group-1
 * extension for alu, the condition for set_if, the shift extension for shift) and whether the
 * second operand is the immediate. */
static const struct { uint8_t x86, imm; } arith[VM_OP_COUNT] = {
    [VM_OP_ADD] = {0, 0}, [VM_OP_ADDI] = {0, 1}, [VM_OP_SUB] = {5, 0},
    [VM_OP_XOR] = {6, 0}, [VM_OP_XORI] = {6, 1}, [VM_OP_OR] = {1, 0}, [VM_OP_ORI] = {1, 1},
    [VM_OP_AND] = {4, 0}, [VM_OP_ANDI] = {4, 1},
    [VM_OP_SLT] = {CC_L, 0}, [VM_OP_SLTI] = {CC_L, 1}, [VM_OP_SLTU] = {CC_B, 0}, [VM_OP_SLTIU] = {CC_B, 1},
    [VM_OP_SLL] = {4, 0}, [VM_OP_SLLI] = {4, 1}, [VM_OP_SRL] = {5, 0}, [VM_OP_SRLI] = {5, 1},
    [VM_OP_SRA] = {7, 0}, [VM_OP_SRAI] = {7, 1},
};

/* One instruction, the k-th of a block of n, at pc. Branches and jumps end the block. */
static void translate_insn(emitter *e, const vm_insn *in, uint32_t k, uint32_t n, uint32_t pc) {
    seg *h = &e->hot;
    if (in->rd == VM_REG_SINK && in->op >= VM_OP_ADDI && in->op <= VM_OP_REMU) return; /* no effect */
    switch (in->op) {
    case VM_OP_LUI: if (in->rd != VM_REG_SINK) op_mem(h, 0, 0xC7, 0, GREG(in->rd)), b32(h, in->imm); return;
    case VM_OP_AUIPC: if (in->rd != VM_REG_SINK) op_mem(h, 0, 0xC7, 0, GREG(in->rd)), b32(h, pc + in->imm); return;
    case VM_OP_JAL:
        if (in->rd != VM_REG_SINK) op_mem(h, 0, 0xC7, 0, GREG(in->rd)), b32(h, pc + 4);
        chain(e, -1, pc + in->imm);
        return;
    case VM_OP_JALR:
        op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
        if (in->imm) op_reg(h, 0, 0x81, 0, RAX), b32(h, in->imm);
        op_reg(h, 0, 0x83, 4, RAX), b8(h, 0xFE);   /* and eax, ~1 */
        if (in->rd != VM_REG_SINK) op_mem(h, 0, 0xC7, 0, GREG(in->rd)), b32(h, pc + 4);
        indirect(e);
        return;
    case VM_OP_BEQ: case VM_OP_BNE: case VM_OP_BLT: case VM_OP_BGE: case VM_OP_BLTU: case VM_OP_BGEU: {
        static const int cc[] = {[VM_OP_BEQ] = CC_E, [VM_OP_BNE] = CC_NE, [VM_OP_BLT] = CC_L,
                                 [VM_OP_BGE] = CC_GE, [VM_OP_BLTU] = CC_B, [VM_OP_BGEU] = CC_AE};
        op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
        op_mem(h, 0, 0x3B, RAX, GREG(in->rs2));
        chain(e, cc[in->op], pc + in->imm);
        chain(e, -1, pc + 4);
        return;
    }
    case VM_OP_LB: case VM_OP_LH: case VM_OP_LW: case VM_OP_LBU: case VM_OP_LHU: load(e, in, n - k, pc); return;
    case VM_OP_SB: case VM_OP_SH: case VM_OP_SW: store(e, in, n - k, pc); return;
    case VM_OP_FENCE: return;
    case VM_OP_ADD: case VM_OP_ADDI: case VM_OP_SUB: case VM_OP_XOR: case VM_OP_XORI: case VM_OP_OR:
    case VM_OP_ORI: case VM_OP_AND: case VM_OP_ANDI: alu(h, in, arith[in->op].x86, arith[in->op].imm); return;
    case VM_OP_SLT: case VM_OP_SLTI: case VM_OP_SLTU: case VM_OP_SLTIU:
        set_if(h, in, arith[in->op].x86, arith[in->op].imm);
        return;
    case VM_OP_SLL: case VM_OP_SLLI: case VM_OP_SRL: case VM_OP_SRLI: case VM_OP_SRA: case VM_OP_SRAI:
        shift(h, in, arith[in->op].x86, arith[in->op].imm);
        return;
    case VM_OP_MUL:
        op_mem(h, 0, 0x8B, RAX, GREG(in->rs1));
        op_mem(h, 0, 0x0FAF, RAX, GREG(in->rs2));
        op_mem(h, 0, 0x89, RAX, GREG(in->rd));
        return;
    case VM_OP_MULH: mulh(h, in, 0x63, 0x63); return;
    case VM_OP_MULHSU: mulh(h, in, 0x63, 0x8B); return;
    case VM_OP_MULHU: mulh(h, in, 0x8B, 0x8B); return;
    case VM_OP_DIV: call2(h, in, h_div); return;
    case VM_OP_DIVU: call2(h, in, h_divu); return;
    case VM_OP_REM: call2(h, in, h_rem); return;
    case VM_OP_REMU: call2(h, in, h_remu); return;
    default: return; /* never: blocks stop before any other op */
    }
}

/* ---- the translator's state: pages read, blocks made ------------------------------------- */

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
    jit_page *cp = code_page(j, p->index);
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

/* Resolves the block's jumps once its cold stubs sit right after its hot code. */
static void layout(emitter *e) {
    uint8_t *hot = e->hot.p, *cold = hot + e->hot.n;
    memcpy(cold, e->cold.p, e->cold.n);
    for (size_t i = 0; i < e->nfix; i++) {
        const jit_fixup *f = &e->j->fix[i];
        uint8_t *at = (f->seg == SEG_HOT ? hot : cold) + f->at;
        const uint8_t *to = f->to_seg == SEG_ABS ? f->abs : (f->to_seg == SEG_HOT ? hot : cold) + f->to;
        int32_t rel = (int32_t)(to - (at + 4));
        memcpy(at, &rel, 4);
    }
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
    if (j->used + JIT_BLOCK_ROOM > JIT_CODE_BYTES || (j->ncpages == JIT_MAX_PAGES && !code_page(j, p->index)))
        jit_flush(j);
    jit_page *cp = jit_watch(j, p);
    if (!cp) return NULL;
    jit_block *b = block_add(j, pc);
    if (!b) return NULL;
    emitter e = {j, {j->code + j->used, 0, SEG_HOT}, {j->cold, 0, SEG_COLD}, 0};
    op_reg(&e.hot, 1, 0x81, 5, R14), b32(&e.hot, n); /* sub r14, n: the block's steps */
    jump(&e, &e.hot, CC_B, exit_stub(&e, n, pc, EXIT_BUDGET));
    for (uint32_t k = 0; k < n; k++) {
        uint32_t w = ((pc & (VM_PAGE_SIZE - 1)) >> 2) + k;
        cp->translated[w / 64] |= 1ull << (w % 64);
        memcpy(cp->copy + 4 * w, p->data + 4 * w, 4);
        translate_insn(&e, &ins[k], k, n, pc + 4 * k);
    }
    if (!ends_block(ins[n - 1].op)) chain(&e, -1, pc + 4 * n);
    layout(&e);
    b->code = e.hot.p + j->delta;
    b->n = (uint16_t)n;
    j->used += (e.hot.n + e.cold.n + 15) & ~(size_t)15;
    return b;
}

/* Writes the entry and exit sequences at the start of the buffer:
 *   int enter(vm_jit *j, const uint8_t *code): saves the callee-saved registers, loads rbx, r12,
 *   r13, r14 from j and jumps to code (the stack stays 16-byte aligned for helper calls);
 *   exit: stores r14 back to j->left and returns eax (the EXIT_* reason) to enter's caller. */
static void trampoline(vm_jit *j) {
    seg s = {j->code, 0, SEG_HOT};
    b8(&s, 0x53), b8(&s, 0x55);                                   /* push rbx, rbp */
    for (unsigned r = R12; r <= R15; r++) b8(&s, 0x41), b8(&s, 0x50 + (r & 7));
    op_reg(&s, 1, 0x83, 5, RSP), b8(&s, 8);                       /* sub rsp, 8 */
    op_reg(&s, 1, 0x89, RDI, R13);
    op_mem(&s, 1, 0x8B, RBX, CTX(x));
    op_mem(&s, 1, 0x8B, R12, CTX(pages));
    op_mem(&s, 1, 0x8B, R14, CTX(left));
    b8(&s, 0xFF), b8(&s, 0xE6);                                   /* jmp rsi */
    s.n = (s.n + 15) & ~15u;
    j->exit = j->code + s.n;
    op_mem(&s, 1, 0x89, R14, CTX(left));
    op_reg(&s, 1, 0x83, 0, RSP), b8(&s, 8);                       /* add rsp, 8 */
    for (unsigned r = R15; r >= R12; r--) b8(&s, 0x41), b8(&s, 0x58 + (r & 7));
    b8(&s, 0x5D), b8(&s, 0x5B), b8(&s, 0xC3);                     /* pop rbp, rbx; ret */
    j->start = (s.n + 15) & ~15u;
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
    trampoline(j);
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
