/* vm_elf.c: the ELF32 loader of vm_elf.h. Field offsets from the System V ABI (ELF32). */
#include "vm_elf.h"

#include <stdio.h>
#include <string.h>

#define EM_RISCV 243
#define PT_LOAD 1
#define MAX_SEGMENTS 64

static uint32_t rd16(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

int vm_load_elf(vm *v, const uint8_t *buf, size_t len, char *err, size_t errlen) {
    if (len < 52 || memcmp(buf, "\x7f" "ELF", 4) != 0) return snprintf(err, errlen, "not an ELF file"), -1;
    if (buf[4] != 1 || buf[5] != 1) return snprintf(err, errlen, "not a 32-bit little-endian ELF"), -1;
    if (rd16(buf + 18) != EM_RISCV) return snprintf(err, errlen, "not a RISC-V ELF (e_machine %u)", rd16(buf + 18)), -1;
    if (rd16(buf + 16) != 2) return snprintf(err, errlen, "not an executable (e_type %u)", rd16(buf + 16)), -1;
    uint32_t phoff = rd32(buf + 28), phentsize = rd16(buf + 42), phnum = rd16(buf + 44);
    if (phnum == 0) return snprintf(err, errlen, "no program headers"), -1;
    if (phentsize < 32 || phnum > MAX_SEGMENTS * 4 || (uint64_t)phoff + (uint64_t)phentsize * phnum > len)
        return snprintf(err, errlen, "program headers truncated or malformed"), -1;
    uint64_t lo[MAX_SEGMENTS], hi[MAX_SEGMENTS];
    const uint8_t *ph[MAX_SEGMENTS];
    unsigned n = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *p = buf + phoff + (size_t)i * phentsize;
        if (rd32(p) != PT_LOAD) continue;
        uint32_t off = rd32(p + 4), vaddr = rd32(p + 8), filesz = rd32(p + 16), memsz = rd32(p + 20);
        if (filesz > memsz) return snprintf(err, errlen, "segment %u: file size exceeds memory size", i), -1;
        if ((uint64_t)off + filesz > len) return snprintf(err, errlen, "segment %u: file bytes past the end of the file", i), -1;
        if ((uint64_t)vaddr + memsz > (1ull << 32)) return snprintf(err, errlen, "segment %u: past the 4 GiB address space", i), -1;
        if (memsz == 0) continue;
        if (n == MAX_SEGMENTS) return snprintf(err, errlen, "more than %d loadable segments", MAX_SEGMENTS), -1;
        for (unsigned k = 0; k < n; k++)
            if (vaddr < hi[k] && lo[k] < (uint64_t)vaddr + memsz)
                return snprintf(err, errlen, "segments overlap at %#x..%#llx", vaddr, (unsigned long long)vaddr + memsz), -1;
        lo[n] = vaddr;
        hi[n] = (uint64_t)vaddr + memsz;
        ph[n++] = p;
    }
    if (n == 0) return snprintf(err, errlen, "no loadable (PT_LOAD) segment"), -1;
    for (unsigned k = 0; k < n; k++) {
        uint32_t off = rd32(ph[k] + 4), filesz = rd32(ph[k] + 16);
        if (filesz && vm_mem_write(&v->mem, (uint32_t)lo[k], buf + off, filesz) != 0)
            return snprintf(err, errlen, "out of memory"), -1;
    }
    v->pc = rd32(buf + 24);
    return 0;
}
