/* test_vm_isa.c: every RV32IM instruction and every corner case of docs/vm.md's step semantics,
 * one instruction at a time in the fast interpreter. */
#include "vm.h"
#include "vm_asm.h"
#include "check.h"

#include <string.h>

#define PC0 0x1000u

/* A machine with `n` instruction words at PC0, x1 = a, x2 = b. */
static void setup(vm *v, const uint32_t *code, size_t n, uint32_t a, uint32_t b) {
    CHECK_EQ_INT(vm_init(v), 0);
    CHECK_EQ_INT(vm_mem_write(&v->mem, PC0, code, n * 4), 0);
    v->pc = PC0;
    v->x[1] = a;
    v->x[2] = b;
}

/* Runs one R-type (rs1 = x1, rs2 = x2, rd = x3) and returns x3. */
static uint32_t rop(uint32_t f7, uint32_t f3, uint32_t a, uint32_t b) {
    vm v;
    uint32_t w = rv_r(f7, 2, 1, f3, 3, 0x33);
    setup(&v, &w, 1, a, b);
    CHECK_EQ_INT(vm_run(&v, 1), 0);
    CHECK_EQ_INT(v.status, VM_RUNNING);
    CHECK_EQ_INT(v.pc, PC0 + 4);
    CHECK_EQ_INT(v.step, 1);
    uint32_t r = v.x[3];
    vm_free(&v);
    return r;
}

/* Runs one OP-IMM (rs1 = x1, rd = x3) and returns x3. */
static uint32_t iop(uint32_t f3, int32_t imm, uint32_t a) {
    vm v;
    uint32_t w = rv_i(imm, 1, f3, 3, 0x13);
    setup(&v, &w, 1, a, 0);
    CHECK_EQ_INT(vm_run(&v, 1), 0);
    CHECK_EQ_INT(v.status, VM_RUNNING);
    uint32_t r = v.x[3];
    vm_free(&v);
    return r;
}

/* Runs one word that must fault with `code`, leaving pc and registers as they were. */
static void faults(uint32_t w, uint32_t a, uint32_t b, uint32_t code) {
    vm v;
    setup(&v, &w, 1, a, b);
    v.x[17] = 64;
    CHECK_EQ_INT(vm_run(&v, 10), 0);
    CHECK_EQ_INT(v.status, VM_FAULTED);
    CHECK_EQ_INT(v.exit_code, code);
    CHECK_EQ_INT(v.pc, PC0);
    CHECK_EQ_INT(v.step, 1);
    CHECK_EQ_INT(v.x[1], a);
    CHECK_EQ_INT(v.x[2], b);
    CHECK_EQ_INT(v.x[3], 0);
    vm_free(&v);
}

static void test_alu(void) {
    CHECK_EQ_INT(rop(0, 0, 7, 5), 12);
    CHECK_EQ_INT(rop(0, 0, 0xFFFFFFFF, 1), 0);
    CHECK_EQ_INT(rop(0x20, 0, 5, 7), 0xFFFFFFFE);
    CHECK_EQ_INT(rop(0x20, 0, 0x80000000, 1), 0x7FFFFFFF);
    CHECK_EQ_INT(rop(0, 1, 1, 33), 2);                    /* SLL: amount masked to 5 bits */
    CHECK_EQ_INT(rop(0, 1, 1, 31), 0x80000000);
    CHECK_EQ_INT(rop(0, 2, 0xFFFFFFFF, 0), 1);            /* SLT signed */
    CHECK_EQ_INT(rop(0, 2, 0, 0xFFFFFFFF), 0);
    CHECK_EQ_INT(rop(0, 3, 0xFFFFFFFF, 0), 0);            /* SLTU unsigned */
    CHECK_EQ_INT(rop(0, 3, 0, 0xFFFFFFFF), 1);
    CHECK_EQ_INT(rop(0, 4, 0xF0F0, 0xFF00), 0x0FF0);
    CHECK_EQ_INT(rop(0, 5, 0x80000000, 31), 1);           /* SRL logical */
    CHECK_EQ_INT(rop(0, 5, 0x80000000, 32 + 4), 0x08000000);
    CHECK_EQ_INT(rop(0x20, 5, 0x80000000, 31), 0xFFFFFFFF); /* SRA arithmetic */
    CHECK_EQ_INT(rop(0x20, 5, 0x80000000, 32), 0x80000000);
    CHECK_EQ_INT(rop(0x20, 5, 0x40000000, 30), 1);
    CHECK_EQ_INT(rop(0, 6, 0xF0, 0x0F), 0xFF);
    CHECK_EQ_INT(rop(0, 7, 0xF0, 0x3C), 0x30);
    /* M extension */
    CHECK_EQ_INT(rop(1, 0, 0x10000, 0x10001), 0x10000);   /* MUL low half */
    CHECK_EQ_INT(rop(1, 0, 0xFFFFFFFF, 0xFFFFFFFF), 1);
    CHECK_EQ_INT(rop(1, 1, 0xFFFFFFFF, 0xFFFFFFFF), 0);   /* MULH: (-1)(-1) = 1 */
    CHECK_EQ_INT(rop(1, 1, 0x80000000, 0x80000000), 0x40000000);
    CHECK_EQ_INT(rop(1, 1, 0x80000000, 2), 0xFFFFFFFF);
    CHECK_EQ_INT(rop(1, 2, 0xFFFFFFFF, 0xFFFFFFFF), 0xFFFFFFFF); /* MULHSU: -1 * (2^32-1) */
    CHECK_EQ_INT(rop(1, 2, 2, 0x80000000), 1);
    CHECK_EQ_INT(rop(1, 3, 0xFFFFFFFF, 0xFFFFFFFF), 0xFFFFFFFE); /* MULHU */
    CHECK_EQ_INT(rop(1, 4, (uint32_t)-7, 2), (uint32_t)-3); /* DIV truncates toward zero */
    CHECK_EQ_INT(rop(1, 4, 7, 0), 0xFFFFFFFF);            /* DIV by zero: all ones */
    CHECK_EQ_INT(rop(1, 4, 0x80000000, 0xFFFFFFFF), 0x80000000); /* overflow */
    CHECK_EQ_INT(rop(1, 5, 0xFFFFFFFF, 2), 0x7FFFFFFF);
    CHECK_EQ_INT(rop(1, 5, 7, 0), 0xFFFFFFFF);            /* DIVU by zero */
    CHECK_EQ_INT(rop(1, 6, (uint32_t)-7, 2), (uint32_t)-1); /* REM takes the dividend's sign */
    CHECK_EQ_INT(rop(1, 6, 7, (uint32_t)-2), 1);
    CHECK_EQ_INT(rop(1, 6, 7, 0), 7);                     /* REM by zero: the dividend */
    CHECK_EQ_INT(rop(1, 6, 0x80000000, 0xFFFFFFFF), 0);   /* overflow */
    CHECK_EQ_INT(rop(1, 7, 0xFFFFFFFF, 10), 5);
    CHECK_EQ_INT(rop(1, 7, 9, 0), 9);                     /* REMU by zero */
    /* OP-IMM */
    CHECK_EQ_INT(iop(0, -1, 5), 4);
    CHECK_EQ_INT(iop(0, -2048, 0), 0xFFFFF800);
    CHECK_EQ_INT(iop(0, 2047, 0), 2047);
    CHECK_EQ_INT(iop(2, -1, 0xFFFFFFFE), 1);               /* SLTI */
    CHECK_EQ_INT(iop(2, 1, 1), 0);
    CHECK_EQ_INT(iop(3, -1, 5), 1);                        /* SLTIU: imm sign-extended, compared unsigned */
    CHECK_EQ_INT(iop(3, 1, 0), 1);
    CHECK_EQ_INT(iop(3, 0, 0), 0);
    CHECK_EQ_INT(iop(4, -1, 0x1234), 0xFFFFEDCB);          /* XORI -1 = NOT */
    CHECK_EQ_INT(iop(6, 0x700, 0x0F), 0x70F);
    CHECK_EQ_INT(iop(7, -16, 0x1234), 0x1230);
    CHECK_EQ_INT(iop(1, 31, 1), 0x80000000);               /* SLLI */
    CHECK_EQ_INT(iop(5, 31, 0x80000000), 1);               /* SRLI */
    CHECK_EQ_INT(iop(5, 0x400 | 31, 0x80000000), 0xFFFFFFFF); /* SRAI */
    CHECK_EQ_INT(iop(5, 0x400 | 0, 0x80000000), 0x80000000);
}

static void test_upper_jumps_branches(void) {
    vm v;
    uint32_t w = RV_LUI(3, 0xFFFFF);
    setup(&v, &w, 1, 0, 0);
    vm_run(&v, 1);
    CHECK_EQ_INT(v.x[3], 0xFFFFF000);
    vm_free(&v);
    w = rv_u(0x80000, 3, 0x17); /* AUIPC */
    setup(&v, &w, 1, 0, 0);
    vm_run(&v, 1);
    CHECK_EQ_INT(v.x[3], 0x80000000 + PC0);
    vm_free(&v);
    w = rv_j(-8, 3); /* JAL backwards */
    setup(&v, &w, 1, 0, 0);
    vm_run(&v, 1);
    CHECK_EQ_INT(v.x[3], PC0 + 4);
    CHECK_EQ_INT(v.pc, PC0 - 8);
    vm_free(&v);
    w = rv_j(0xFFFFE, 0); /* JAL x0: the link is dropped */
    setup(&v, &w, 1, 0, 0);
    vm_run(&v, 1);
    CHECK_EQ_INT(v.pc, PC0 + 0xFFFFE);
    CHECK_EQ_INT(v.x[0], 0);
    vm_free(&v);
    w = rv_i(3, 1, 0, 1, 0x67); /* JALR x1, 3(x1): target from the old x1, low bit cleared */
    setup(&v, &w, 1, 0x2000, 0);
    vm_run(&v, 1);
    CHECK_EQ_INT(v.pc, 0x2002);
    CHECK_EQ_INT(v.x[1], PC0 + 4);
    CHECK_EQ_INT(v.status, VM_RUNNING);
    vm_run(&v, 2); /* the misaligned target faults at the next fetch */
    CHECK_EQ_INT(v.status, VM_FAULTED);
    CHECK_EQ_INT(v.exit_code, VM_FAULT_MISALIGNED_FETCH);
    CHECK_EQ_INT(v.pc, 0x2002);
    CHECK_EQ_INT(v.step, 2);
    vm_free(&v);
    struct { uint32_t f3, a, b; int taken; } br[] = {
        {0, 5, 5, 1}, {0, 5, 6, 0}, {1, 5, 6, 1}, {1, 5, 5, 0},
        {4, 0xFFFFFFFF, 0, 1}, {4, 0, 0xFFFFFFFF, 0}, {4, 3, 3, 0},
        {5, 0, 0xFFFFFFFF, 1}, {5, 3, 3, 1}, {5, 0xFFFFFFFF, 0, 0},
        {6, 0, 0xFFFFFFFF, 1}, {6, 0xFFFFFFFF, 0, 0}, {6, 3, 3, 0},
        {7, 0xFFFFFFFF, 0, 1}, {7, 3, 3, 1}, {7, 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof br / sizeof br[0]; i++) {
        w = rv_b(-0x800, 2, 1, br[i].f3);
        setup(&v, &w, 1, br[i].a, br[i].b);
        vm_run(&v, 1);
        CHECK_EQ_INT(v.pc, br[i].taken ? PC0 - 0x800 : PC0 + 4);
        vm_free(&v);
    }
}

static void test_loads_stores(void) {
    vm v;
    const uint32_t data = 0x3000;
    uint8_t bytes[8] = {0x81, 0x82, 0x83, 0x84, 0x05, 0x06, 0x07, 0x08};
    struct { uint32_t f3; int32_t off; uint32_t want; } ld[] = {
        {0, 0, 0xFFFFFF81}, {4, 0, 0x81}, {0, 4, 5}, {1, 2, 0xFFFF8483}, {5, 2, 0x8483},
        {1, 4, 0x0605}, {2, 4, 0x08070605}, {2, 0, 0x84838281},
    };
    for (size_t i = 0; i < sizeof ld / sizeof ld[0]; i++) {
        uint32_t w = rv_i(ld[i].off - 16, 1, ld[i].f3, 3, 0x03);
        setup(&v, &w, 1, data + 16, 0);
        vm_mem_write(&v.mem, data, bytes, sizeof bytes);
        vm_run(&v, 1);
        CHECK_EQ_INT(v.x[3], ld[i].want);
        CHECK_EQ_INT(v.status, VM_RUNNING);
        vm_free(&v);
    }
    uint32_t w = rv_i(0, 1, 2, 3, 0x03); /* LW from memory never written: zero, nothing allocated */
    setup(&v, &w, 1, 0xABCDE000, 0);
    size_t before = v.mem.npages;
    vm_run(&v, 1);
    CHECK_EQ_INT(v.x[3], 0);
    CHECK_EQ_INT(v.mem.npages, before);
    vm_free(&v);
    /* misaligned loads and stores fault with nothing touched */
    faults(rv_i(1, 1, 1, 3, 0x03), data, 0, VM_FAULT_MISALIGNED_LOAD);
    faults(rv_i(1, 1, 5, 3, 0x03), data, 0, VM_FAULT_MISALIGNED_LOAD);
    faults(rv_i(2, 1, 2, 3, 0x03), data, 0, VM_FAULT_MISALIGNED_LOAD);
    faults(rv_i(3, 1, 2, 3, 0x03), data, 0, VM_FAULT_MISALIGNED_LOAD);
    faults(rv_s(1, 2, 1, 1), data, 7, VM_FAULT_MISALIGNED_STORE);
    faults(rv_s(2, 2, 1, 2), data, 7, VM_FAULT_MISALIGNED_STORE);
    faults(rv_s(0, 2, 1, 2), data + 1, 7, VM_FAULT_MISALIGNED_STORE);
    /* stores write exactly their width, little-endian */
    struct { uint32_t f3; int32_t off; uint8_t want[8]; } st[] = {
        {0, 1, {0, 0xEF, 0, 0, 0, 0, 0, 0}},
        {1, 2, {0, 0, 0xEF, 0xBE, 0, 0, 0, 0}},
        {2, 4, {0, 0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE}},
    };
    for (size_t i = 0; i < 3; i++) {
        w = rv_s(st[i].off - 0x20, 2, 1, st[i].f3);
        setup(&v, &w, 1, data + 0x20, 0xDEADBEEF);
        vm_run(&v, 1);
        uint8_t got[8];
        vm_mem_read(&v.mem, data, got, 8);
        CHECK_MEM(got, st[i].want, 8);
        CHECK_EQ_INT(v.pc, PC0 + 4);
        vm_free(&v);
    }
    /* a store across the 2^32 wrap of rs1 + imm */
    w = rv_s(-4, 2, 1, 2);
    setup(&v, &w, 1, 0, 0x11223344);
    vm_run(&v, 1);
    uint32_t top;
    vm_mem_read(&v.mem, 0xFFFFFFFC, &top, 4);
    CHECK_EQ_INT(top, 0x11223344);
    vm_free(&v);
}

static void test_x0_fence_system(void) {
    vm v;
    uint32_t code[] = {RV_ADDI(0, 0, 5), rv_i(0, 0, 2, 0, 0x03) /* LW x0, 0(x0) */, rv_r(0, 2, 1, 0, 0, 0x33),
                       0x0FF0000F /* FENCE */, 0x0000100F /* FENCE.I */, RV_ADDI(3, 0, 1)};
    setup(&v, code, 6, 1, 2);
    vm_run(&v, 6);
    CHECK_EQ_INT(v.x[0], 0);
    CHECK_EQ_INT(v.x[3], 1);
    CHECK_EQ_INT(v.pc, PC0 + 24);
    CHECK_EQ_INT(v.status, VM_RUNNING);
    vm_free(&v);
    /* exit: status 1, exit code a0, pc stays at the ecall; a halted machine does not move */
    uint32_t ex[] = {RV_ADDI(17, 0, 93), RV_ADDI(10, 0, -3), RV_ECALL, RV_ADDI(3, 0, 1)};
    setup(&v, ex, 4, 0, 0);
    CHECK_EQ_INT(vm_run(&v, 100), 0);
    CHECK_EQ_INT(v.status, VM_EXITED);
    CHECK_EQ_INT(v.exit_code, 0xFFFFFFFD);
    CHECK_EQ_INT(v.pc, PC0 + 8);
    CHECK_EQ_INT(v.step, 3);
    uint8_t h1[32], h2[32];
    vm_state_hash(&v, h1);
    vm_run(&v, 1000);
    vm_state_hash(&v, h2);
    CHECK_MEM(h1, h2, 32);
    CHECK_EQ_INT(v.step, 3);
    vm_free(&v);
    faults(RV_ECALL, 0, 0, VM_FAULT_ECALL);       /* a7 = 64 */
    faults(RV_EBREAK, 0, 0, VM_FAULT_EBREAK);
    /* illegal words */
    uint32_t illegal[] = {
        0x00000000, 0xFFFFFFFF, 0x00001073 /* CSRRW */, 0x30200073 /* MRET */, 0x10500073 /* WFI */,
        0x00000173 /* ECALL with rd set */, 0x00200073 /* URET-like */, 0x0000200F /* MISC-MEM f3 2 */,
        rv_i(0x20 | 1, 1, 1, 3, 0x13) /* SLLI with bit 25: shamt >= 32 */,
        rv_i(0x400, 1, 1, 3, 0x13) /* SLLI with funct7 0x20 */,
        rv_i(0x420, 1, 5, 3, 0x13) /* SRAI shamt 32 */, rv_i(0x200, 1, 5, 3, 0x13) /* SRxI funct7 0x10 */,
        rv_r(0x20, 2, 1, 1, 3, 0x33) /* funct7 0x20 with SLL */, rv_r(0x02, 2, 1, 0, 3, 0x33),
        rv_i(0, 1, 1, 3, 0x67) /* JALR funct3 1 */, rv_b(8, 2, 1, 2), rv_b(8, 2, 1, 3),
        rv_i(0, 1, 3, 3, 0x03) /* LD */, rv_i(0, 1, 6, 3, 0x03) /* LWU */, rv_i(0, 1, 7, 3, 0x03),
        rv_s(0, 2, 1, 3) /* SD */, rv_s(0, 2, 1, 4),
        0x00000013 & ~3u /* compressed-looking: low bits 00 */, 0x4501 /* C.LI */, 0x0000001B /* ADDIW */,
        0x00000007 /* FLW */, 0x0000002F /* AMO */, 0x00000053 /* OP-FP */,
    };
    for (size_t i = 0; i < sizeof illegal / sizeof illegal[0]; i++) faults(illegal[i], 0x100, 7, VM_FAULT_ILLEGAL);
    /* a misaligned pc from the start */
    setup(&v, code, 1, 0, 0);
    v.pc = PC0 + 2;
    vm_run(&v, 5);
    CHECK_EQ_INT(v.status, VM_FAULTED);
    CHECK_EQ_INT(v.exit_code, VM_FAULT_MISALIGNED_FETCH);
    CHECK_EQ_INT(v.step, 1);
    vm_free(&v);
    /* fetching from never-written memory executes word 0: illegal */
    CHECK_EQ_INT(vm_init(&v), 0);
    v.pc = 0x40000000;
    vm_run(&v, 5);
    CHECK_EQ_INT(v.exit_code, VM_FAULT_ILLEGAL);
    vm_free(&v);
}

/* A program that overwrites an instruction it already ran: the decode cache must follow. */
static void test_self_modifying(void) {
    vm v;
    uint32_t code[] = {
        RV_ADDI(5, 5, 1),   /* 0x0: x5 += 1, patched below into x5 += 100 */
        rv_s(-4, 7, 1, 2),  /* 0x4: sw x7, -4(x1) with x1 = PC0 + 4: overwrites 0x0 */
        rv_j(-8, 0),        /* 0x8: j 0x0 */
    };
    setup(&v, code, 3, PC0 + 4, 0);
    v.x[7] = RV_ADDI(5, 5, 100);
    vm_run(&v, 4);
    CHECK_EQ_INT(v.x[5], 101);
    CHECK_EQ_INT(v.pc, PC0 + 4);
    vm_free(&v);
}

int main(void) {
    test_alu();
    test_upper_jumps_branches();
    test_loads_stores();
    test_x0_fence_system();
    test_self_modifying();
    return check_summary("test_vm_isa");
}
