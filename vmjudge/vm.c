/* vm.c: the fast RV32IM interpreter and the packed state (see vm.h, docs/vm.md).
 *
 * The loop keeps pc, step and the current code page in locals. Each code page gets an array of
 * decoded instructions filled lazily on first fetch (VM_OP_UNDECODED entries decode in place);
 * writes to the page reset the entry they overwrite (vm_mem_touch). Loads read page data
 * directly (an unallocated page reads as zero); a store takes the fast path when its page is
 * already marked written, has no decode cache, and so needs no bookkeeping. */
#include "vm.h"

#include "keccak.h"

#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the interpreter reads guest words with host loads: little-endian hosts only"
#endif

int vm_init(vm *v) {
    memset(v, 0, sizeof *v);
    return vm_mem_init(&v->mem);
}

void vm_free(vm *v) {
    vm_mem_free(&v->mem);
}

const char *vm_fault_name(uint32_t code) {
    switch (code) {
    case VM_FAULT_ILLEGAL: return "illegal instruction";
    case VM_FAULT_MISALIGNED_FETCH: return "misaligned instruction fetch";
    case VM_FAULT_MISALIGNED_LOAD: return "misaligned load";
    case VM_FAULT_MISALIGNED_STORE: return "misaligned store";
    case VM_FAULT_ECALL: return "unknown ecall";
    case VM_FAULT_EBREAK: return "ebreak";
    default: return NULL;
    }
}

static inline const uint8_t *load_ptr(vm_page *const *pages, uint32_t addr) {
    const vm_page *p = pages[addr >> VM_PAGE_BITS];
    return p ? p->data + (addr & (VM_PAGE_SIZE - 1)) : NULL;
}

static inline uint32_t load32(vm_page *const *pages, uint32_t addr) {
    const uint8_t *q = load_ptr(pages, addr);
    uint32_t v = 0;
    if (q) memcpy(&v, q, 4);
    return v;
}
static inline uint32_t load16(vm_page *const *pages, uint32_t addr) {
    const uint8_t *q = load_ptr(pages, addr);
    uint16_t v = 0;
    if (q) memcpy(&v, q, 2);
    return v;
}
static inline uint32_t load8(vm_page *const *pages, uint32_t addr) {
    const uint8_t *q = load_ptr(pages, addr);
    return q ? *q : 0;
}

/* The byte address to store at, after the page bookkeeping; NULL out of memory. */
static inline uint8_t *store_ptr(vm_mem *m, uint32_t addr) {
    vm_page *p = m->pages[addr >> VM_PAGE_BITS];
    if (__builtin_expect(!p || p->flags || p->decoded, 0)) {
        if (!p && !(p = vm_mem_page(m, addr))) return NULL;
        vm_mem_touch(m, p, addr);
    }
    return p->data + (addr & (VM_PAGE_SIZE - 1));
}

int vm_run(vm *v, uint64_t max_step) {
    if (v->status != VM_RUNNING) return 0;
    uint32_t *x = v->x;
    vm_mem *m = &v->mem;
    vm_page *const *pages = m->pages;
    uint32_t pc = v->pc;
    uint64_t step = v->step;
    uint32_t code_page = 0xFFFFFFFFu; /* page number whose decode cache `code` is, none yet */
    vm_insn *code = NULL;
    uint32_t fault = 0;
    int rc = 0;

    while (step < max_step) {
        if (__builtin_expect(pc & 3, 0)) {
            step++;
            fault = VM_FAULT_MISALIGNED_FETCH;
            break;
        }
        if (__builtin_expect((pc >> VM_PAGE_BITS) != code_page, 0)) {
            vm_page *p = vm_mem_page(m, pc);
            if (!p) { rc = -1; break; }
            if (!p->decoded && !(p->decoded = calloc(VM_PAGE_SIZE / 4, sizeof(vm_insn)))) { rc = -1; break; }
            code_page = pc >> VM_PAGE_BITS;
            code = p->decoded;
        }
        vm_insn *d = &code[(pc & (VM_PAGE_SIZE - 1)) >> 2];
        step++;
    dispatch:;
        uint32_t a = x[d->rs1], b = x[d->rs2], imm = d->imm;
        switch ((enum vm_op)d->op) {
        case VM_OP_UNDECODED: *d = vm_decode(load32(pages, pc)); goto dispatch;
        case VM_OP_ILLEGAL: fault = VM_FAULT_ILLEGAL; break;
        case VM_OP_LUI: x[d->rd] = imm; pc += 4; continue;
        case VM_OP_AUIPC: x[d->rd] = pc + imm; pc += 4; continue;
        case VM_OP_JAL: x[d->rd] = pc + 4; pc += imm; continue;
        case VM_OP_JALR: x[d->rd] = pc + 4; pc = (a + imm) & ~1u; continue;
        case VM_OP_BEQ: pc += a == b ? imm : 4; continue;
        case VM_OP_BNE: pc += a != b ? imm : 4; continue;
        case VM_OP_BLT: pc += (int32_t)a < (int32_t)b ? imm : 4; continue;
        case VM_OP_BGE: pc += (int32_t)a >= (int32_t)b ? imm : 4; continue;
        case VM_OP_BLTU: pc += a < b ? imm : 4; continue;
        case VM_OP_BGEU: pc += a >= b ? imm : 4; continue;
        case VM_OP_LB: x[d->rd] = (uint32_t)(int32_t)(int8_t)load8(pages, a + imm); pc += 4; continue;
        case VM_OP_LBU: x[d->rd] = load8(pages, a + imm); pc += 4; continue;
        case VM_OP_LH:
            if ((a + imm) & 1) { fault = VM_FAULT_MISALIGNED_LOAD; break; }
            x[d->rd] = (uint32_t)(int32_t)(int16_t)load16(pages, a + imm); pc += 4; continue;
        case VM_OP_LHU:
            if ((a + imm) & 1) { fault = VM_FAULT_MISALIGNED_LOAD; break; }
            x[d->rd] = load16(pages, a + imm); pc += 4; continue;
        case VM_OP_LW:
            if ((a + imm) & 3) { fault = VM_FAULT_MISALIGNED_LOAD; break; }
            x[d->rd] = load32(pages, a + imm); pc += 4; continue;
        case VM_OP_SB: {
            uint8_t *q = store_ptr(m, a + imm);
            if (!q) { step--; rc = -1; break; }
            *q = (uint8_t)b; pc += 4; continue;
        }
        case VM_OP_SH: {
            if ((a + imm) & 1) { fault = VM_FAULT_MISALIGNED_STORE; break; }
            uint8_t *q = store_ptr(m, a + imm);
            if (!q) { step--; rc = -1; break; }
            uint16_t h = (uint16_t)b;
            memcpy(q, &h, 2); pc += 4; continue;
        }
        case VM_OP_SW: {
            if ((a + imm) & 3) { fault = VM_FAULT_MISALIGNED_STORE; break; }
            uint8_t *q = store_ptr(m, a + imm);
            if (!q) { step--; rc = -1; break; }
            memcpy(q, &b, 4); pc += 4; continue;
        }
        case VM_OP_ADDI: x[d->rd] = a + imm; pc += 4; continue;
        case VM_OP_SLTI: x[d->rd] = (int32_t)a < (int32_t)imm; pc += 4; continue;
        case VM_OP_SLTIU: x[d->rd] = a < imm; pc += 4; continue;
        case VM_OP_XORI: x[d->rd] = a ^ imm; pc += 4; continue;
        case VM_OP_ORI: x[d->rd] = a | imm; pc += 4; continue;
        case VM_OP_ANDI: x[d->rd] = a & imm; pc += 4; continue;
        case VM_OP_SLLI: x[d->rd] = a << imm; pc += 4; continue;
        case VM_OP_SRLI: x[d->rd] = a >> imm; pc += 4; continue;
        case VM_OP_SRAI: x[d->rd] = vm_sra(a, imm); pc += 4; continue;
        case VM_OP_ADD: x[d->rd] = a + b; pc += 4; continue;
        case VM_OP_SUB: x[d->rd] = a - b; pc += 4; continue;
        case VM_OP_SLL: x[d->rd] = a << (b & 31); pc += 4; continue;
        case VM_OP_SLT: x[d->rd] = (int32_t)a < (int32_t)b; pc += 4; continue;
        case VM_OP_SLTU: x[d->rd] = a < b; pc += 4; continue;
        case VM_OP_XOR: x[d->rd] = a ^ b; pc += 4; continue;
        case VM_OP_SRL: x[d->rd] = a >> (b & 31); pc += 4; continue;
        case VM_OP_SRA: x[d->rd] = vm_sra(a, b); pc += 4; continue;
        case VM_OP_OR: x[d->rd] = a | b; pc += 4; continue;
        case VM_OP_AND: x[d->rd] = a & b; pc += 4; continue;
        case VM_OP_MUL: x[d->rd] = a * b; pc += 4; continue;
        case VM_OP_MULH: x[d->rd] = vm_mulh(a, b); pc += 4; continue;
        case VM_OP_MULHSU: x[d->rd] = vm_mulhsu(a, b); pc += 4; continue;
        case VM_OP_MULHU: x[d->rd] = vm_mulhu(a, b); pc += 4; continue;
        case VM_OP_DIV: x[d->rd] = vm_div(a, b); pc += 4; continue;
        case VM_OP_DIVU: x[d->rd] = vm_divu(a, b); pc += 4; continue;
        case VM_OP_REM: x[d->rd] = vm_rem(a, b); pc += 4; continue;
        case VM_OP_REMU: x[d->rd] = vm_remu(a, b); pc += 4; continue;
        case VM_OP_FENCE: pc += 4; continue;
        case VM_OP_ECALL:
            if (x[17] != VM_ECALL_EXIT) { fault = VM_FAULT_ECALL; break; }
            v->status = VM_EXITED;
            v->exit_code = x[10]; /* pc stays at the ecall (docs/vm.md step 7) */
            break;
        case VM_OP_EBREAK: fault = VM_FAULT_EBREAK; break;
        case VM_OP_COUNT: fault = VM_FAULT_ILLEGAL; break;
        }
        break; /* only halting instructions and out-of-memory reach here */
    }
    if (fault) {
        v->status = VM_FAULTED;
        v->exit_code = fault;
    }
    v->pc = pc;
    v->step = step;
    return rc;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void vm_state_encode(const vm_cpu *c, uint8_t out[VM_STATE_BYTES]) {
    memcpy(out, c->mem_root, 32);
    put32(out + 32, c->pc);
    put32(out + 36, (uint32_t)(c->step >> 32));
    put32(out + 40, (uint32_t)c->step);
    out[44] = c->status;
    put32(out + 45, c->exit_code);
    for (int i = 1; i < 32; i++) put32(out + 49 + 4 * (i - 1), c->x[i]);
}

void vm_state_decode(const uint8_t in[VM_STATE_BYTES], vm_cpu *c) {
    memcpy(c->mem_root, in, 32);
    c->pc = get32(in + 32);
    c->step = (uint64_t)get32(in + 36) << 32 | get32(in + 40);
    c->status = in[44];
    c->exit_code = get32(in + 45);
    c->x[0] = 0;
    for (int i = 1; i < 32; i++) c->x[i] = get32(in + 49 + 4 * (i - 1));
}

void vm_pack(vm *v, uint8_t out[VM_STATE_BYTES]) {
    vm_cpu c;
    vm_mem_root(&v->mem, c.mem_root);
    c.pc = v->pc;
    c.step = v->step;
    c.status = v->status;
    c.exit_code = v->exit_code;
    memcpy(c.x, v->x, sizeof c.x);
    c.x[0] = 0;
    vm_state_encode(&c, out);
}

void vm_state_hash(vm *v, uint8_t out[32]) {
    uint8_t s[VM_STATE_BYTES];
    vm_pack(v, s);
    keccak256(s, sizeof s, out);
}
