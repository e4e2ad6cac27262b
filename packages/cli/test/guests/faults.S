/* One unhandled trap, chosen at build time with -DFAULT=n. */
  .globl _start
_start:
#if FAULT == 1        /* illegal instruction: a write to the read-only cycle CSR */
  csrw cycle, zero
#elif FAULT == 2      /* load access fault: far beyond RAM */
  li t0, 0xf0000000
  lw t1, 0(t0)
#elif FAULT == 3      /* breakpoint */
  ebreak
#endif
  li a7, 93
  li a0, 0
  ecall
