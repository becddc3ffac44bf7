/* vm_jit_x86.c: the x86-64 machine code of the translator's blocks (vm_jit.c says what a block is
 * and how the dispatcher runs it): an encoder for the few instruction forms the templates need,
 * one template per RV32IM instruction (loads and stores with their alignment check, missing pages
 * and the slow store path through h_store; branches and jumps chained through stubs), a block's
 * budget check, the layout of a block's hot code followed by its cold stubs, and the trampoline
 * between C and translated code.
 *
 * Host registers in translated code: rbx = v->x (x[0] is always 0 in memory), r12 = the page
 * table, r13 = the vm_jit context, r14 = steps left; rax, rcx, rdx, rsi, rdi are scratch and
 * nothing lives in them from one guest instruction to the next. */
#include "vm_jit_private.h"

#if defined(__x86_64__) && defined(__linux__)

#include <string.h>

/* ---- x86-64 encoding ----------------------------------------------------------------------
 * Only what the templates below need. op_mem emits `opcode reg, [base + index<<scale + disp]`
 * (the direction is the opcode's), choosing the shortest displacement and adding the SIB byte
 * that rsp/r12 as base require; base rbp/r13 always gets a displacement (mod 00 would mean
 * rip-relative). A two-byte opcode is passed as 0x0Fxx. */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
enum { CC_B = 2, CC_E = 4, CC_NE = 5, CC_L = 0xC, CC_GE = 0xD, CC_AE = 3 };
#define NOIDX (-1)

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
    jit_page *cp = jit_code_page(j, p->index);
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
void jit_translate_insn(emitter *e, const vm_insn *in, uint32_t k, uint32_t n, uint32_t pc) {
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

/* The block's start: its n steps off the budget (r14), or to the dispatcher when fewer are left. */
void jit_block_entry(emitter *e, uint32_t n, uint32_t pc) {
    op_reg(&e->hot, 1, 0x81, 5, R14), b32(&e->hot, n); /* sub r14, n */
    jump(e, &e->hot, CC_B, exit_stub(e, n, pc, EXIT_BUDGET));
}

/* The end of a block whose last instruction does not end it (a page end, JIT_MAX_BLOCK). */
void jit_block_fallthrough(emitter *e, uint32_t pc) { chain(e, -1, pc); }

/* Resolves the block's jumps once its cold stubs sit right after its hot code. */
void jit_layout(emitter *e) {
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

/* Writes the entry and exit sequences at the start of the buffer:
 *   int enter(vm_jit *j, const uint8_t *code): saves the callee-saved registers, loads rbx, r12,
 *   r13, r14 from j and jumps to code (the stack stays 16-byte aligned for helper calls);
 *   exit: stores r14 back to j->left and returns eax (the EXIT_* reason) to enter's caller. */
void jit_trampoline(vm_jit *j) {
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

#endif
