/* vm.h: the RV32IM machine of docs/vm.md: registers, pc, step counter, status, memory; the fast
 * interpreter; the packed 173-byte state and its hash.
 *
 * vm_run() translates the guest code to host machine code where it can (vm_jit.h) and interprets
 * the rest: vm_interpret() executes instructions from a decode cache kept beside each code page.
 * Neither hashes in the loop: the memory root is computed only when a state hash or proof is
 * asked for. */
#ifndef OPML_VM_H
#define OPML_VM_H

#include <stddef.h>
#include <stdint.h>

#include "vm_decode.h"
#include "vm_mem.h"

#define VM_STATE_BYTES 173

enum vm_status { VM_RUNNING = 0, VM_EXITED = 1, VM_FAULTED = 2 };

enum vm_fault {
    VM_FAULT_ILLEGAL = 1,
    VM_FAULT_MISALIGNED_FETCH = 2,
    VM_FAULT_MISALIGNED_LOAD = 3,
    VM_FAULT_MISALIGNED_STORE = 4,
    VM_FAULT_ECALL = 5,
    VM_FAULT_EBREAK = 6,
};

#define VM_ECALL_EXIT 93 /* a7 value of the one ecall the machine knows */

typedef struct vm {
    uint32_t x[VM_REG_SINK + 1]; /* x[0] is always 0; x[VM_REG_SINK] absorbs writes to x0 */
    uint32_t pc;
    uint64_t step;
    uint8_t status;      /* enum vm_status */
    uint32_t exit_code;  /* a0 at exit, or the fault code */
    vm_mem mem;
    struct vm_jit *jit;  /* translations of the code run so far, or NULL (vm_jit.h) */
} vm;

/* A fresh machine: zero registers and memory, pc 0, step 0, running. Returns 0 or -1. */
int vm_init(vm *v);
void vm_free(vm *v);

/* Runs until the machine halts or v->step reaches `max_step` (an absolute step number).
 * Returns 0, or -1 out of memory (the machine is then unusable). */
int vm_run(vm *v, uint64_t max_step);

/* vm_run with the interpreter alone: the definition that translated code must match. */
int vm_interpret(vm *v, uint64_t max_step);

/* The packed state of docs/vm.md (rehashes changed memory first) and its keccak256. */
void vm_pack(vm *v, uint8_t out[VM_STATE_BYTES]);
void vm_state_hash(vm *v, uint8_t out[32]);

/* Packed-state field access for code that holds only the 173 bytes (verifier, tools). */
typedef struct vm_cpu {
    uint8_t mem_root[32];
    uint32_t pc;
    uint64_t step;
    uint8_t status;
    uint32_t exit_code;
    uint32_t x[32];      /* x[0] = 0 */
} vm_cpu;
void vm_state_decode(const uint8_t in[VM_STATE_BYTES], vm_cpu *c);
void vm_state_encode(const vm_cpu *c, uint8_t out[VM_STATE_BYTES]);

/* Text for a fault code ("illegal instruction", ...), or NULL for an unknown code. */
const char *vm_fault_name(uint32_t code);

#endif
