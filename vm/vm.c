/* vm.c: the RV32IM interpreter, vm_run, and the packed state (see vm.h, docs/vm.md).
 *
 * vm_interpret defines the machine: vm_run hands a run to the translator (vm_jit.c), which calls
 * back here for every fault, halt and budget tail, and runs everything here on hosts without one.
 *
 * The interpreter's loop keeps the current decode entry, the step budget and the current code page in locals.
 * Each code page gets an array of decoded instructions filled lazily on first execution (entries
 * not decoded yet decode in place); writes to the page reset the entry they overwrite
 * (vm_mem_touch). Loads read page data directly (an unallocated page reads as zero); a store
 * takes the fast path when its page is already marked written, has no decode cache, and so needs
 * no bookkeeping. */
#include "vm.h"

#include "keccak.h"
#include "vm_jit.h"

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
    vm_jit_free(v->jit);
    v->jit = NULL;
}

int vm_run(vm *v, uint64_t max_step) {
    int rc = vm_jit_run(v, max_step);
    return rc == 1 ? vm_interpret(v, max_step) : rc;
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

const void *vm_dec_undecoded;

/* Threaded dispatch (GCC's labels as values): each decode-cache entry holds its handler's address
 * and every handler ends in its own indirect jump, which predicts far better than one shared
 * switch. In the loop the current instruction is the entry d of the page at code_base; pc is
 * derived from d only when an instruction needs it (PC()). `left` counts the instructions still
 * allowed: NEXT and JUMP complete one. Sequential flow steps to d + 1; the sentinel entry past the
 * page's end moves on to the next page. Jumps within the page go straight to the target's entry,
 * others through `fetch`, which checks alignment and finds the page. */
int vm_interpret(vm *v, uint64_t max_step) {
    if (v->status != VM_RUNNING || v->step >= max_step) return 0;
    static void *const labels[VM_OP_COUNT] = {
        [VM_OP_UNDECODED] = &&op_undecoded, [VM_OP_ILLEGAL] = &&op_illegal,
        [VM_OP_LUI] = &&op_lui, [VM_OP_AUIPC] = &&op_auipc, [VM_OP_JAL] = &&op_jal, [VM_OP_JALR] = &&op_jalr,
        [VM_OP_BEQ] = &&op_beq, [VM_OP_BNE] = &&op_bne, [VM_OP_BLT] = &&op_blt, [VM_OP_BGE] = &&op_bge,
        [VM_OP_BLTU] = &&op_bltu, [VM_OP_BGEU] = &&op_bgeu,
        [VM_OP_LB] = &&op_lb, [VM_OP_LH] = &&op_lh, [VM_OP_LW] = &&op_lw, [VM_OP_LBU] = &&op_lbu,
        [VM_OP_LHU] = &&op_lhu, [VM_OP_SB] = &&op_sb, [VM_OP_SH] = &&op_sh, [VM_OP_SW] = &&op_sw,
        [VM_OP_ADDI] = &&op_addi, [VM_OP_SLTI] = &&op_slti, [VM_OP_SLTIU] = &&op_sltiu, [VM_OP_XORI] = &&op_xori,
        [VM_OP_ORI] = &&op_ori, [VM_OP_ANDI] = &&op_andi, [VM_OP_SLLI] = &&op_slli, [VM_OP_SRLI] = &&op_srli,
        [VM_OP_SRAI] = &&op_srai, [VM_OP_ADD] = &&op_add, [VM_OP_SUB] = &&op_sub, [VM_OP_SLL] = &&op_sll,
        [VM_OP_SLT] = &&op_slt, [VM_OP_SLTU] = &&op_sltu, [VM_OP_XOR] = &&op_xor, [VM_OP_SRL] = &&op_srl,
        [VM_OP_SRA] = &&op_sra, [VM_OP_OR] = &&op_or, [VM_OP_AND] = &&op_and, [VM_OP_MUL] = &&op_mul,
        [VM_OP_MULH] = &&op_mulh, [VM_OP_MULHSU] = &&op_mulhsu, [VM_OP_MULHU] = &&op_mulhu, [VM_OP_DIV] = &&op_div,
        [VM_OP_DIVU] = &&op_divu, [VM_OP_REM] = &&op_rem, [VM_OP_REMU] = &&op_remu, [VM_OP_FENCE] = &&op_fence,
        [VM_OP_ECALL] = &&op_ecall, [VM_OP_EBREAK] = &&op_ebreak,
    };
    __atomic_store_n(&vm_dec_undecoded, &&op_undecoded, __ATOMIC_RELAXED); /* the same value from every thread */
    uint32_t *x = v->x;
    vm_mem *m = &v->mem;
    vm_page *const *pages = m->pages;
    uint32_t pc = v->pc;            /* valid at fetch and out only */
    uint64_t budget = max_step - v->step, left = budget;
    uint32_t code_base = 1;         /* address of the page whose cache `code` is; 1: none yet */
    vm_dec *code = NULL, *d = NULL;
    uint32_t fault = 0, addr;
    int rc = 0;

#define PC() (code_base + (uint32_t)(d - code) * 4)
#define RD x[d->rd]
#define RS1 x[d->rs1]
#define RS2 x[d->rs2]
#define IMM d->imm
/* the instruction completed and execution continues at the next one */
#define NEXT() do { d++; if (__builtin_expect(--left == 0, 0)) goto out_d; goto *d->h; } while (0)
/* the instruction completed and execution continues at target */
#define JUMP(target) do { uint32_t t_ = (target), o_ = t_ - code_base; \
                          if (__builtin_expect(--left == 0, 0)) { pc = t_; goto out; } \
                          if (o_ < VM_PAGE_SIZE && !(o_ & 3)) { d = code + (o_ >> 2); goto *d->h; } \
                          pc = t_; goto fetch; } while (0)
#define BRANCH(cond) do { if (cond) JUMP(PC() + IMM); NEXT(); } while (0)
#define FAULT(code) do { fault = (code); pc = PC(); left--; goto out; } while (0)

fetch:
    if (__builtin_expect(pc & 3, 0)) {
        fault = VM_FAULT_MISALIGNED_FETCH;
        left--;
        goto out;
    }
    if ((pc & ~(VM_PAGE_SIZE - 1)) != code_base) {
        vm_page *p = vm_mem_page(m, pc);
        if (!p) { rc = -1; goto out; }
        if (!p->decoded) {
            if (!(p->decoded = malloc(VM_DEC_ENTRIES * sizeof(vm_dec)))) { rc = -1; goto out; }
            for (unsigned i = 0; i < VM_DEC_ENTRIES; i++) p->decoded[i] = (vm_dec){&&op_undecoded, 0, 0, 0, 0, 0};
            p->decoded[VM_DEC_ENTRIES - 1].h = &&op_page_end;
        }
        code_base = pc & ~(VM_PAGE_SIZE - 1);
        code = p->decoded;
    }
    d = &code[(pc & (VM_PAGE_SIZE - 1)) >> 2];
    goto *d->h;

op_page_end: pc = code_base + VM_PAGE_SIZE; goto fetch;
op_undecoded: {
    vm_insn in = vm_decode(load32(pages, PC()));
    *d = (vm_dec){labels[in.op], in.imm, in.rd, in.rs1, in.rs2, in.op};
    goto *d->h;
}
op_illegal: FAULT(VM_FAULT_ILLEGAL);
op_lui: RD = IMM; NEXT();
op_auipc: RD = PC() + IMM; NEXT();
op_jal: addr = PC(); RD = addr + 4; JUMP(addr + IMM);
op_jalr: addr = (RS1 + IMM) & ~1u; RD = PC() + 4; JUMP(addr);
op_beq: BRANCH(RS1 == RS2);
op_bne: BRANCH(RS1 != RS2);
op_blt: BRANCH((int32_t)RS1 < (int32_t)RS2);
op_bge: BRANCH((int32_t)RS1 >= (int32_t)RS2);
op_bltu: BRANCH(RS1 < RS2);
op_bgeu: BRANCH(RS1 >= RS2);
op_lb: RD = (uint32_t)(int32_t)(int8_t)load8(pages, RS1 + IMM); NEXT();
op_lbu: RD = load8(pages, RS1 + IMM); NEXT();
op_lh:
    addr = RS1 + IMM;
    if (addr & 1) FAULT(VM_FAULT_MISALIGNED_LOAD);
    RD = (uint32_t)(int32_t)(int16_t)load16(pages, addr); NEXT();
op_lhu:
    addr = RS1 + IMM;
    if (addr & 1) FAULT(VM_FAULT_MISALIGNED_LOAD);
    RD = load16(pages, addr); NEXT();
op_lw:
    addr = RS1 + IMM;
    if (addr & 3) FAULT(VM_FAULT_MISALIGNED_LOAD);
    RD = load32(pages, addr); NEXT();
op_sb: {
    uint8_t *q = store_ptr(m, RS1 + IMM);
    if (!q) { pc = PC(); rc = -1; goto out; }
    *q = (uint8_t)RS2; NEXT();
}
op_sh: {
    addr = RS1 + IMM;
    if (addr & 1) FAULT(VM_FAULT_MISALIGNED_STORE);
    uint8_t *q = store_ptr(m, addr);
    if (!q) { pc = PC(); rc = -1; goto out; }
    uint16_t h = (uint16_t)RS2;
    memcpy(q, &h, 2); NEXT();
}
op_sw: {
    addr = RS1 + IMM;
    if (addr & 3) FAULT(VM_FAULT_MISALIGNED_STORE);
    uint8_t *q = store_ptr(m, addr);
    if (!q) { pc = PC(); rc = -1; goto out; }
    uint32_t w = RS2;
    memcpy(q, &w, 4); NEXT();
}
op_addi: RD = RS1 + IMM; NEXT();
op_slti: RD = (int32_t)RS1 < (int32_t)IMM; NEXT();
op_sltiu: RD = RS1 < IMM; NEXT();
op_xori: RD = RS1 ^ IMM; NEXT();
op_ori: RD = RS1 | IMM; NEXT();
op_andi: RD = RS1 & IMM; NEXT();
op_slli: RD = RS1 << IMM; NEXT();
op_srli: RD = RS1 >> IMM; NEXT();
op_srai: RD = vm_sra(RS1, IMM); NEXT();
op_add: RD = RS1 + RS2; NEXT();
op_sub: RD = RS1 - RS2; NEXT();
op_sll: RD = RS1 << (RS2 & 31); NEXT();
op_slt: RD = (int32_t)RS1 < (int32_t)RS2; NEXT();
op_sltu: RD = RS1 < RS2; NEXT();
op_xor: RD = RS1 ^ RS2; NEXT();
op_srl: RD = RS1 >> (RS2 & 31); NEXT();
op_sra: RD = vm_sra(RS1, RS2); NEXT();
op_or: RD = RS1 | RS2; NEXT();
op_and: RD = RS1 & RS2; NEXT();
op_mul: RD = RS1 * RS2; NEXT();
op_mulh: RD = vm_mulh(RS1, RS2); NEXT();
op_mulhsu: RD = vm_mulhsu(RS1, RS2); NEXT();
op_mulhu: RD = vm_mulhu(RS1, RS2); NEXT();
op_div: RD = vm_div(RS1, RS2); NEXT();
op_divu: RD = vm_divu(RS1, RS2); NEXT();
op_rem: RD = vm_rem(RS1, RS2); NEXT();
op_remu: RD = vm_remu(RS1, RS2); NEXT();
op_fence: NEXT();
op_ecall:
    if (x[17] != VM_ECALL_EXIT) FAULT(VM_FAULT_ECALL);
    v->status = VM_EXITED;
    v->exit_code = x[10]; /* pc stays at the ecall (docs/vm.md step 7) */
    pc = PC();
    left--;
    goto out;
op_ebreak: FAULT(VM_FAULT_EBREAK);

#undef PC
#undef RD
#undef RS1
#undef RS2
#undef IMM
#undef NEXT
#undef JUMP
#undef BRANCH
#undef FAULT
out_d:
    pc = code_base + (uint32_t)(d - code) * 4;
out:
    if (fault) {
        v->status = VM_FAULTED;
        v->exit_code = fault;
    }
    v->pc = pc;
    v->step += budget - left;
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
