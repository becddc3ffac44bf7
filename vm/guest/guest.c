/* guest.c: the RV32IM guest program: one program for every operator, which runs the one node
 * whose descriptor the VM placed in slot 1 (docs/vm.md memory map) with the reference kernels of
 * numerics/kernels. Operand j is read from slot 3 + j, the output written to slot 15, slot 2 holds
 * the stack (top down from 0x30000000) and below it the kernels' scratch. Exit code 0 on success,
 * else the kernel's error as a positive number (kernel.h, enum kd_err). */
#include "kernel.h"

#include <stdint.h>

#define SLOT(s) ((uintptr_t)(s) << 28)
#define GUEST_STACK_BYTES (16u << 20) /* the top 16 MiB of slot 2; scratch is the rest */

int guest_main(void);

int guest_main(void) {
    const void *in[KD_MAX_OPERANDS];
    for (unsigned j = 0; j < KD_MAX_OPERANDS; j++) in[j] = (const void *)SLOT(3 + j);
    int rc = kernel_run((const uint8_t *)SLOT(1), KD_BYTES, in, (void *)SLOT(15), (void *)SLOT(2),
                        (1u << 28) - GUEST_STACK_BYTES);
    return rc < 0 ? -rc : 0;
}
