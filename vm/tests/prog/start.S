/* start.S: entry of cprog.c (linked at 0 with the guest's link.ld): a 64 KiB stack in .bss,
 * main, then write(1, hex of the result, 9) with the result in t6, then exit(0). */
    .section .text.start, "ax"
    .globl _start
_start:
    la sp, stack_top
    call main
    mv t6, a0
    la a1, hexbuf
    li t0, 8
1:  srli t1, a0, 28
    addi t1, t1, 48
    li t2, 58
    blt t1, t2, 2f
    addi t1, t1, 39
2:  sb t1, 0(a1)
    slli a0, a0, 4
    addi a1, a1, 1
    addi t0, t0, -1
    bnez t0, 1b
    li t1, 10
    sb t1, 0(a1)
    li a0, 1
    la a1, hexbuf
    li a2, 9
    li a7, 64
    ecall
    li a0, 0
    li a7, 93
    ecall
    .bss
hexbuf: .space 16
    .balign 16
    .space 65536
stack_top:
