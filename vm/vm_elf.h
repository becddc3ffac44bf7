/* vm_elf.h: loading a bare RV32 ELF executable into a fresh machine (for `opml vm-exec` and the
 * differential tests): every PT_LOAD segment's file bytes at its virtual address (the rest of
 * its memory size stays zero), pc at the entry point. Anything else in the file is ignored. */
#ifndef OPML_VM_ELF_H
#define OPML_VM_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/* Loads the ELF image buf[0..len) into v, which must be freshly initialised. Returns 0, or -1
 * with a one-line reason in err (not an ELF, not 32-bit little-endian RISC-V, not an executable,
 * truncated headers or segments, a segment past 4 GiB, overlapping segments, no PT_LOAD). */
int vm_load_elf(vm *v, const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
