/* vm_jit.h: the translator that runs guest code as x86-64 machine code for vm_run (vm_jit.c).
 *
 * An accelerator only: the interpreter (vm_interpret in vm.c) stays the definition of every
 * instruction, and a machine run through the translator ends in exactly the state, after exactly
 * the steps, that the interpreter gives. Hosts other than x86-64 Linux, and processes with the
 * environment variable OPML_VM_JIT=0, use the interpreter alone; OPML_VM_JIT=1 translates from a
 * machine's first run on, however short (for tests; by default short runs are interpreted). */
#ifndef OPML_VM_JIT_H
#define OPML_VM_JIT_H

#include <stdint.h>

typedef struct vm vm;
typedef struct vm_jit vm_jit;

/* Runs v like vm_run (until it halts or v->step reaches max_step), translating the code it meets;
 * v->jit holds the translations between calls (created on first use). Returns 0, -1 out of
 * memory (as vm_run), or 1 when no translator is available (nothing ran: interpret instead). */
int vm_jit_run(vm *v, uint64_t max_step);

/* Releases a translator (NULL is fine). */
void vm_jit_free(vm_jit *j);

#endif
