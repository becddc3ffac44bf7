/* vm_asm.h: RV32IM instruction encoders for the code that writes machine code by hand: the unit
 * tests, the step-vector generator and the random-program generator of the differential tests.
 * Each returns the 32-bit instruction word; register numbers are 0..31. */
#ifndef OPML_VM_ASM_H
#define OPML_VM_ASM_H

#include <stdint.h>

static inline uint32_t rv_r(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op) {
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static inline uint32_t rv_i(int32_t imm, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op) {
    return ((uint32_t)imm & 0xFFF) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static inline uint32_t rv_s(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3) {
    uint32_t u = (uint32_t)imm;
    return ((u >> 5) & 0x7F) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 31) << 7 | 0x23;
}
static inline uint32_t rv_b(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3) {
    uint32_t u = (uint32_t)imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3F) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
           ((u >> 1) & 0xF) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}
static inline uint32_t rv_u(uint32_t imm20, uint32_t rd, uint32_t op) { return imm20 << 12 | rd << 7 | op; }
static inline uint32_t rv_j(int32_t imm, uint32_t rd) {
    uint32_t u = (uint32_t)imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3FF) << 21 | ((u >> 11) & 1) << 20 | ((u >> 12) & 0xFF) << 12 |
           rd << 7 | 0x6F;
}

/* The common ones by name. */
#define RV_ADDI(rd, rs1, imm) rv_i((imm), (rs1), 0, (rd), 0x13)
#define RV_LUI(rd, imm20) rv_u((imm20), (rd), 0x37)
#define RV_ECALL 0x00000073u
#define RV_EBREAK 0x00100073u

#endif
