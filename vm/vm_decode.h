/* vm_decode.h: RV32IM instruction decoding, shared by the fast interpreter (vm.c) and the one-step
 * verifier (vm_proof.c), so both agree on which words are instructions (docs/vm.md, "One step").
 *
 * A word decodes to a vm_insn: an operation, register numbers and the immediate already
 * sign-extended and assembled. Every word outside RV32IM (CSR instructions, bad funct3/funct7,
 * SLLI/SRLI/SRAI with a shift immediate >= 32, any other opcode) decodes to VM_OP_ILLEGAL.
 * Writes to x0 are routed to VM_REG_SINK, a 33rd register nobody reads, so the executors never
 * test rd == 0; reads of x0 read register 0, which is always 0. */
#ifndef OPML_VM_DECODE_H
#define OPML_VM_DECODE_H

#include <stdint.h>

#define VM_REG_SINK 32

enum vm_op {
    VM_OP_UNDECODED = 0, /* a decode-cache entry not filled yet (never produced by vm_decode) */
    VM_OP_ILLEGAL,
    VM_OP_LUI, VM_OP_AUIPC, VM_OP_JAL, VM_OP_JALR,
    VM_OP_BEQ, VM_OP_BNE, VM_OP_BLT, VM_OP_BGE, VM_OP_BLTU, VM_OP_BGEU,
    VM_OP_LB, VM_OP_LH, VM_OP_LW, VM_OP_LBU, VM_OP_LHU,
    VM_OP_SB, VM_OP_SH, VM_OP_SW,
    VM_OP_ADDI, VM_OP_SLTI, VM_OP_SLTIU, VM_OP_XORI, VM_OP_ORI, VM_OP_ANDI,
    VM_OP_SLLI, VM_OP_SRLI, VM_OP_SRAI,
    VM_OP_ADD, VM_OP_SUB, VM_OP_SLL, VM_OP_SLT, VM_OP_SLTU, VM_OP_XOR, VM_OP_SRL, VM_OP_SRA,
    VM_OP_OR, VM_OP_AND,
    VM_OP_MUL, VM_OP_MULH, VM_OP_MULHSU, VM_OP_MULHU, VM_OP_DIV, VM_OP_DIVU, VM_OP_REM, VM_OP_REMU,
    VM_OP_FENCE, VM_OP_ECALL, VM_OP_EBREAK,
    VM_OP_COUNT
};

typedef struct vm_insn {
    uint8_t op;   /* enum vm_op */
    uint8_t rd;   /* 1..31, or VM_REG_SINK when the instruction writes x0 or writes nothing */
    uint8_t rs1;  /* 0..31 */
    uint8_t rs2;  /* 0..31 */
    uint32_t imm; /* sign-extended immediate (shift amount for SLLI/SRLI/SRAI) */
} vm_insn;

/* Decodes one 32-bit instruction word. */
vm_insn vm_decode(uint32_t word);

/* 1 for the loads LB..LHU, 2 for the stores SB..SW, 0 for anything else; *size gets the access
 * width in bytes (1, 2 or 4) for a load or store. */
int vm_insn_mem_kind(const vm_insn *in, unsigned *size);

/* The ALU results whose RISC-V definitions have corner cases (docs/vm.md step 5). */
static inline uint32_t vm_div(uint32_t a, uint32_t b) {
    if (b == 0) return 0xFFFFFFFFu;
    if (a == 0x80000000u && b == 0xFFFFFFFFu) return 0x80000000u;
    return (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint32_t vm_divu(uint32_t a, uint32_t b) { return b ? a / b : 0xFFFFFFFFu; }
static inline uint32_t vm_rem(uint32_t a, uint32_t b) {
    if (b == 0) return a;
    if (a == 0x80000000u && b == 0xFFFFFFFFu) return 0;
    return (uint32_t)((int32_t)a % (int32_t)b);
}
static inline uint32_t vm_remu(uint32_t a, uint32_t b) { return b ? a % b : a; }
static inline uint32_t vm_mulh(uint32_t a, uint32_t b) {
    return (uint32_t)((uint64_t)((int64_t)(int32_t)a * (int64_t)(int32_t)b) >> 32);
}
static inline uint32_t vm_mulhsu(uint32_t a, uint32_t b) {
    return (uint32_t)((uint64_t)((int64_t)(int32_t)a * (int64_t)(uint64_t)b) >> 32);
}
static inline uint32_t vm_mulhu(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }
static inline uint32_t vm_sra(uint32_t a, uint32_t sh) {
    /* arithmetic shift written out: right-shifting a negative int is implementation-defined in C */
    sh &= 31;
    return (a >> sh) | ((a & 0x80000000u) && sh ? ~(0xFFFFFFFFu >> sh) : 0);
}

#endif
