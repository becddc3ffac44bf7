/* start.S: the guest's entry at address 0 (docs/vm-guest.md). The VM starts every node run with
 * pc = 0 and all registers 0: set the stack pointer to the top of slot 2, run the node, exit with
 * guest_main's result (ecall a7 = 93, a0 = code). */
    .section .text.start, "ax"
    .globl _start
_start:
    li sp, 0x30000000
    call guest_main
    li a7, 93
    ecall
