/* Machine profile: echoes UART input back, upper-cased, until it reads 'q',
 * then powers off with the test finisher (pass). Polls the line status
 * register (LSR bit 0 = data ready) like the simplest firmware consoles. */
  .globl _start
_start:
  li t0, 0x10000000
1:
  lbu t1, 5(t0)
  andi t1, t1, 1
  beqz t1, 1b
  lbu t2, 0(t0)
  li t3, 'q'
  beq t2, t3, 2f
  li t3, 'a'
  bltu t2, t3, 3f
  li t3, 'z' + 1
  bgeu t2, t3, 3f
  addi t2, t2, 'A' - 'a'
3:
  sb t2, 0(t0)
  j 1b
2:
  li t0, 0x100000
  li t1, 0x5555
  sw t1, 0(t0)
4:
  j 4b
