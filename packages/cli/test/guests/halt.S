/* Machine profile: prints, then waits for an interrupt with every interrupt
 * disabled, for ever: the firmware has halted. */
  .globl _start
_start:
  li t0, 0x10000000
  li t1, 'z'
  sb t1, 0(t0)
  li t1, '\n'
  sb t1, 0(t0)
1:
  wfi
  j 1b
