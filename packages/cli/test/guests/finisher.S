/* Machine profile: prints on the NS16550A UART, then tells the test finisher
 * to fail with code 5 (0x3333 | 5 << 16), the way QEMU virt firmware stops. */
  .globl _start
_start:
  li t0, 0x10000000
  la t1, msg
1:
  lbu t2, 0(t1)
  beqz t2, 2f
  sb t2, 0(t0)
  addi t1, t1, 1
  j 1b
2:
  li t0, 0x100000
  li t1, 0x53333
  sw t1, 0(t0)
3:
  j 3b
msg:
  .asciz "firmware says hi\n"
