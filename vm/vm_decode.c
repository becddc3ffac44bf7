/* vm_decode.c: the RV32IM decoder (see vm_decode.h). Field layout per the RISC-V unprivileged
 * ISA, chapter 2 (RV32I) and chapter 7 (M). */
#include "vm_decode.h"

static uint32_t imm_i(uint32_t w) { return (uint32_t)((int32_t)w >> 20); }
static uint32_t imm_s(uint32_t w) { return (uint32_t)(((int32_t)w >> 20) & ~31) | ((w >> 7) & 31); }
static uint32_t imm_b(uint32_t w) {
    return (uint32_t)(((int32_t)w >> 19) & ~0xFFF) | ((w << 4) & 0x800) | ((w >> 20) & 0x7E0) | ((w >> 7) & 0x1E);
}
static uint32_t imm_j(uint32_t w) {
    return (uint32_t)(((int32_t)w >> 11) & ~0xFFFFF) | (w & 0xFF000) | ((w >> 9) & 0x800) | ((w >> 20) & 0x7FE);
}

vm_insn vm_decode(uint32_t w) {
    static const uint8_t branch_ops[8] = {VM_OP_BEQ, VM_OP_BNE, VM_OP_ILLEGAL, VM_OP_ILLEGAL,
                                          VM_OP_BLT, VM_OP_BGE, VM_OP_BLTU, VM_OP_BGEU};
    static const uint8_t load_ops[8] = {VM_OP_LB, VM_OP_LH, VM_OP_LW, VM_OP_ILLEGAL,
                                        VM_OP_LBU, VM_OP_LHU, VM_OP_ILLEGAL, VM_OP_ILLEGAL};
    static const uint8_t store_ops[8] = {VM_OP_SB, VM_OP_SH, VM_OP_SW, VM_OP_ILLEGAL,
                                         VM_OP_ILLEGAL, VM_OP_ILLEGAL, VM_OP_ILLEGAL, VM_OP_ILLEGAL};
    static const uint8_t opimm_ops[8] = {VM_OP_ADDI, VM_OP_SLLI, VM_OP_SLTI, VM_OP_SLTIU,
                                         VM_OP_XORI, VM_OP_SRLI, VM_OP_ORI, VM_OP_ANDI};
    static const uint8_t op_ops[8] = {VM_OP_ADD, VM_OP_SLL, VM_OP_SLT, VM_OP_SLTU,
                                      VM_OP_XOR, VM_OP_SRL, VM_OP_OR, VM_OP_AND};
    static const uint8_t mul_ops[8] = {VM_OP_MUL, VM_OP_MULH, VM_OP_MULHSU, VM_OP_MULHU,
                                       VM_OP_DIV, VM_OP_DIVU, VM_OP_REM, VM_OP_REMU};
    vm_insn in = {VM_OP_ILLEGAL, VM_REG_SINK, 0, 0, 0};
    uint32_t rd = (w >> 7) & 31, f3 = (w >> 12) & 7, f7 = w >> 25;
    in.rs1 = (w >> 15) & 31;
    in.rs2 = (w >> 20) & 31;
    uint8_t op = VM_OP_ILLEGAL;
    int writes = 1;
    switch (w & 0x7F) {
    case 0x37: op = VM_OP_LUI; in.imm = w & 0xFFFFF000u; break;
    case 0x17: op = VM_OP_AUIPC; in.imm = w & 0xFFFFF000u; break;
    case 0x6F: op = VM_OP_JAL; in.imm = imm_j(w); break;
    case 0x67: if (f3 == 0) op = VM_OP_JALR, in.imm = imm_i(w); break;
    case 0x63: op = branch_ops[f3]; in.imm = imm_b(w); writes = 0; break;
    case 0x03: op = load_ops[f3]; in.imm = imm_i(w); break;
    case 0x23: op = store_ops[f3]; in.imm = imm_s(w); writes = 0; break;
    case 0x13:
        op = opimm_ops[f3];
        in.imm = imm_i(w);
        if (f3 == 1 && f7 != 0) op = VM_OP_ILLEGAL;
        if (f3 == 5) op = f7 == 0 ? VM_OP_SRLI : f7 == 0x20 ? VM_OP_SRAI : VM_OP_ILLEGAL;
        if (f3 == 1 || f3 == 5) in.imm &= 31;
        break;
    case 0x33:
        if (f7 == 0) op = op_ops[f3];
        else if (f7 == 1) op = mul_ops[f3];
        else if (f7 == 0x20 && f3 == 0) op = VM_OP_SUB;
        else if (f7 == 0x20 && f3 == 5) op = VM_OP_SRA;
        break;
    case 0x0F: if (f3 <= 1) op = VM_OP_FENCE; writes = 0; break;
    case 0x73:
        if (w == 0x00000073u) op = VM_OP_ECALL;
        else if (w == 0x00100073u) op = VM_OP_EBREAK;
        writes = 0;
        break;
    default: break;
    }
    in.op = op;
    if (op == VM_OP_ILLEGAL) return (vm_insn){VM_OP_ILLEGAL, VM_REG_SINK, 0, 0, 0};
    in.rd = writes && rd ? (uint8_t)rd : VM_REG_SINK;
    return in;
}

int vm_insn_mem_kind(const vm_insn *in, unsigned *size) {
    switch (in->op) {
    case VM_OP_LB: case VM_OP_LBU: *size = 1; return 1;
    case VM_OP_LH: case VM_OP_LHU: *size = 2; return 1;
    case VM_OP_LW: *size = 4; return 1;
    case VM_OP_SB: *size = 1; return 2;
    case VM_OP_SH: *size = 2; return 2;
    case VM_OP_SW: *size = 4; return 2;
    default: return 0;
    }
}
