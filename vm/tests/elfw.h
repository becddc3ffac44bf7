/* elfw.h: a minimal static ELF32 RISC-V executable writer for the tests and the benchmark: random
 * programs and node runs handed to qemu-riscv32 and to the VM's ELF loader. */
#ifndef OPML_ELFW_H
#define OPML_ELFW_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct elfw_seg {
    uint32_t vaddr;
    const void *data; /* filesz bytes (NULL when filesz is 0) */
    uint32_t filesz, memsz;
    uint32_t flags;   /* 4 R, 2 W, 1 X */
} elfw_seg;

static inline void elfw_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static inline void elfw_put32(uint8_t *p, uint32_t v) { elfw_put16(p, v), elfw_put16(p + 2, v >> 16); }

/* Writes an executable (mode 0755: qemu-user refuses files without execute permission) with one
 * PT_LOAD per segment, each segment's bytes at a page-aligned file offset. Returns 0 or -1. */
static inline int elfw_write(const char *path, uint32_t entry, const elfw_seg *segs, unsigned n) {
    uint8_t h[52 + 32 * 16];
    if (n > 16) return -1;
    memset(h, 0, sizeof h);
    memcpy(h, "\x7f" "ELF", 4);
    h[4] = 1, h[5] = 1, h[6] = 1;   /* 32-bit, little-endian, version 1 */
    elfw_put16(h + 16, 2);          /* ET_EXEC */
    elfw_put16(h + 18, 243);        /* EM_RISCV */
    elfw_put32(h + 20, 1);
    elfw_put32(h + 24, entry);
    elfw_put32(h + 28, 52);         /* phoff */
    elfw_put16(h + 40, 52);         /* ehsize */
    elfw_put16(h + 42, 32);         /* phentsize */
    elfw_put16(h + 44, n);          /* phnum */
    elfw_put16(h + 46, 40);         /* shentsize */
    uint32_t off = 0x1000;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ph = h + 52 + 32 * i;
        elfw_put32(ph, 1);
        elfw_put32(ph + 4, off);
        elfw_put32(ph + 8, segs[i].vaddr), elfw_put32(ph + 12, segs[i].vaddr);
        elfw_put32(ph + 16, segs[i].filesz), elfw_put32(ph + 20, segs[i].memsz);
        elfw_put32(ph + 24, segs[i].flags), elfw_put32(ph + 28, 0x1000);
        off += (segs[i].filesz + 0xFFF) & ~0xFFFu;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    static const uint8_t zero[0x1000];
    int ok = fwrite(h, sizeof h, 1, f) == 1 && fwrite(zero, 0x1000 - sizeof h, 1, f) == 1;
    for (unsigned i = 0; i < n && ok; i++) {
        if (segs[i].filesz) ok = fwrite(segs[i].data, segs[i].filesz, 1, f) == 1;
        uint32_t pad = (0x1000 - (segs[i].filesz & 0xFFF)) & 0xFFF;
        if (ok && pad) ok = fwrite(zero, pad, 1, f) == 1;
    }
    if (fclose(f) != 0 || !ok) return -1;
    return chmod(path, 0755);
}

#endif
