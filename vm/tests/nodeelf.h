/* nodeelf.h: a node run as a qemu-riscv32 program, for the differential test of the guest
 * kernels and the benchmark. The ELF maps exactly the VM's initial memory of the node (slot 0 the
 * pinned guest image, slot 1 the descriptor, slot 2 zero, operands in slots 3..14, the output slot)
 * and runs the same guest from address 0. One word differs: the `li a7, 93` of the guest's _start
 * becomes a jump to a few instructions that first write the output slot to stdout (qemu's
 * process would otherwise take the output with it), then exit with the guest's code. */
#ifndef OPML_NODEELF_H
#define OPML_NODEELF_H

#include "elfw.h"
#include "vm_asm.h"
#include "vm_guest.h"

#define NODEELF_DUMP 0xF0000u /* the dump code, past the guest image, within JAL range of 0xc */

/* Writes the ELF; out_len is the node's output size. With exit_at_once the guest's first words
 * become exit(0) instead (the benchmark's measure of qemu's start-up with the same memory).
 * Returns 0, or -1 (I/O, or a guest whose _start is not the expected `li sp; call guest_main;
 * li a7, 93; ecall`). */
static inline int nodeelf_write(const char *path, const uint8_t *desc, size_t desc_len, const void *const in[12],
                                const size_t len[12], uint32_t out_len, int exit_at_once) {
    if (vm_guest_image_len + 64 > NODEELF_DUMP) return -1;
    uint8_t *img = calloc(1, NODEELF_DUMP + 64);
    if (!img) return -1;
    memcpy(img, vm_guest_image, vm_guest_image_len);
    uint32_t w;
    memcpy(&w, img + 0xc, 4);
    if (w != RV_ADDI(17, 0, 93)) { free(img); return -1; }
    elfw_put32(img + 0xc, rv_j((int32_t)(NODEELF_DUMP - 0xc), 0));
    if (exit_at_once) elfw_put32(img, RV_ADDI(17, 0, 93)), elfw_put32(img + 4, RV_ECALL);
    uint32_t dump[] = {
        RV_ADDI(8, 10, 0), RV_ADDI(10, 0, 1), RV_LUI(11, 0xF0000),
        RV_LUI(12, ((out_len + 0x800) >> 12) & 0xFFFFF), RV_ADDI(12, 12, (int32_t)(out_len << 20) >> 20),
        RV_ADDI(17, 0, 64), RV_ECALL, RV_ADDI(10, 8, 0), RV_ADDI(17, 0, 93), RV_ECALL,
    };
    for (size_t i = 0; i < sizeof dump / 4; i++) elfw_put32(img + NODEELF_DUMP + 4 * i, dump[i]);
    elfw_seg segs[16];
    unsigned n = 0;
    segs[n++] = (elfw_seg){0, img, NODEELF_DUMP + 64, 0x100000, 7};
    segs[n++] = (elfw_seg){0x10000000u, desc, (uint32_t)desc_len, (uint32_t)desc_len, 4};
    segs[n++] = (elfw_seg){0x20000000u, NULL, 0, 0x10000000u, 6};
    for (unsigned j = 0; j < 12; j++)
        if (len[j]) segs[n++] = (elfw_seg){0x30000000u + (j << 28), in[j], (uint32_t)len[j], (uint32_t)len[j], 4};
    segs[n++] = (elfw_seg){0xF0000000u, NULL, 0, out_len ? out_len : 1, 6};
    int rc = elfw_write(path, 0, segs, n);
    free(img);
    return rc;
}

#endif
