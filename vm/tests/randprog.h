/* randprog.h: random RV32IM programs for the proof tests and the differential test against
 * qemu-riscv32, and a minimal ELF32 writer to hand them to qemu and to `opml vm-exec`.
 *
 * A program sits at RP_TEXT: a prologue giving x1..x30 random values and x31 = RP_DATA, then
 * random instructions of every RV32IM kind (loads and stores aligned, based on x31 which nothing
 * overwrites; branches and jumps only forward, so it always terminates), then an epilogue that
 * stores x1..x30 to the data area and calls write(1, RP_DATA, RP_DATA_BYTES) then exit(0). The
 * VM stops at the write ecall (fault 5, "unknown ecall") with the data area holding what qemu
 * prints: compare the two. */
#ifndef OPML_RANDPROG_H
#define OPML_RANDPROG_H

#include "vm_asm.h"
#include "elfw.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define RP_TEXT 0x10000u
#define RP_DATA 0x20000000u
#define RP_DATA_BYTES 2048u /* offsets 0..1919 random traffic, 1920.. the register dump */
#define RP_DUMP 1920u

static uint32_t rp_seed = 1;
static inline uint32_t rp_rnd(void) {
    rp_seed ^= rp_seed << 13, rp_seed ^= rp_seed >> 17, rp_seed ^= rp_seed << 5;
    return rp_seed;
}

/* Interesting operand values: corner cases of the ALU more often than uniform. */
static inline uint32_t rp_value(void) {
    static const uint32_t special[] = {0, 1, 2, 31, 32, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x8000};
    return rp_rnd() % 3 ? rp_rnd() : special[rp_rnd() % 10];
}

/* Writes at most cap words into code; returns the count. */
static inline size_t rp_generate(uint32_t *code, size_t cap, size_t body) {
    size_t n = 0;
    for (uint32_t r = 1; r <= 30; r++) {
        uint32_t v = rp_value();
        uint32_t hi = (v + 0x800) >> 12, lo = v & 0xFFF;
        code[n++] = RV_LUI(r, hi & 0xFFFFF);
        code[n++] = RV_ADDI(r, r, (int32_t)(lo << 20) >> 20);
    }
    code[n++] = RV_LUI(31, RP_DATA >> 12);
    size_t end = n + body;
    while (n < end && n + 40 < cap) {
        uint32_t rd = 1 + rp_rnd() % 30, rs1 = rp_rnd() % 31, rs2 = rp_rnd() % 31;
        if (rp_rnd() % 16 == 0) rd = 0; /* writes to x0 */
        switch (rp_rnd() % 10) {
        case 0: case 1: case 2: { /* OP and M */
            static const uint32_t f7s[] = {0, 0, 1, 0x20};
            uint32_t f7 = f7s[rp_rnd() % 4], f3 = rp_rnd() % 8;
            if (f7 == 0x20) f3 = rp_rnd() % 2 ? 0 : 5;
            code[n++] = rv_r(f7, rs2, rs1, f3, rd, 0x33);
            break;
        }
        case 3: case 4: { /* OP-IMM */
            uint32_t f3 = rp_rnd() % 8;
            int32_t imm = (int32_t)(rp_rnd() << 20) >> 20;
            if (f3 == 1) imm = rp_rnd() % 32;
            if (f3 == 5) imm = (rp_rnd() % 32) | (rp_rnd() % 2 ? 0x400 : 0);
            code[n++] = rv_i(imm, rs1, f3, rd, 0x13);
            break;
        }
        case 5: code[n++] = rv_u(rp_rnd() & 0xFFFFF, rd, rp_rnd() % 2 ? 0x37 : 0x17); break;
        case 6: { /* load */
            static const uint32_t f3s[] = {0, 1, 2, 4, 5};
            uint32_t f3 = f3s[rp_rnd() % 5], size = 1u << (f3 & 3);
            code[n++] = rv_i((int32_t)((rp_rnd() % RP_DUMP) & ~(size - 1)), 31, f3, rd, 0x03);
            break;
        }
        case 7: { /* store */
            uint32_t f3 = rp_rnd() % 3, size = 1u << f3;
            code[n++] = rv_s((int32_t)((rp_rnd() % RP_DUMP) & ~(size - 1)), rs2, 31, f3);
            break;
        }
        case 8: { /* forward branch over 0..5 instructions */
            static const uint32_t f3s[] = {0, 1, 4, 5, 6, 7};
            code[n++] = rv_b((int32_t)(4 + 4 * (rp_rnd() % 6)), rs2, rs1, f3s[rp_rnd() % 6]);
            break;
        }
        default: /* forward jump with link; or a FENCE now and then */
            if (rp_rnd() % 4 == 0) code[n++] = 0x0FF0000F;
            else code[n++] = rv_j((int32_t)(4 + 4 * (rp_rnd() % 4)), rd);
            break;
        }
    }
    /* landing pad for the last forward jumps, then the dump */
    for (int i = 0; i < 6; i++) code[n++] = RV_ADDI(0, 0, 0);
    for (uint32_t r = 1; r <= 30; r++) code[n++] = rv_s((int32_t)(RP_DUMP + 4 * (r - 1)), r, 31, 2);
    code[n++] = RV_ADDI(10, 0, 1);
    code[n++] = RV_ADDI(11, 31, 0);
    code[n++] = RV_ADDI(12, 0, RP_DATA_BYTES / 2); /* 2048 does not fit an immediate: twice 1024 */
    code[n++] = rv_r(0, 12, 12, 0, 12, 0x33);
    code[n++] = RV_ADDI(17, 0, 64);
    code[n++] = RV_ECALL;
    code[n++] = RV_ADDI(10, 0, 0);
    code[n++] = RV_ADDI(17, 0, 93);
    code[n++] = RV_ECALL;
    return n;
}

/* A static ELF32 RISC-V executable: text (RX) at RP_TEXT, RP_DATA_BYTES of zeroed data (RW, no
 * file bytes) at RP_DATA, entry RP_TEXT. Returns 0 or -1. */
static inline int rp_write_elf(const char *path, const uint32_t *code, size_t n) {
    uint8_t *text = malloc(4 * n);
    if (!text) return -1;
    for (size_t i = 0; i < n; i++) elfw_put32(text + 4 * i, code[i]);
    elfw_seg segs[2] = {{RP_TEXT, text, (uint32_t)(4 * n), (uint32_t)(4 * n), 5},
                        {RP_DATA, NULL, 0, RP_DATA_BYTES, 6}};
    int rc = elfw_write(path, RP_TEXT, segs, 2);
    free(text);
    return rc;
}

#endif
