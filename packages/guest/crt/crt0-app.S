/*
 * app profile entry (U-mode). The loader (rvisor's VM, or qemu-riscv32) has already placed
 * the segments, zeroed .bss and built a Linux-style initial stack:
 *   sp -> argc, argv[0..argc-1], NULL, envp[...], NULL, auxv pairs, AT_NULL
 * so there is nothing to copy or clear; we only set gp/tp and call main(argc, argv, envp).
 */
	.section .text.init.enter, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	/* gp must be set before any relaxed access; relaxation would turn this into `mv gp, gp`. */
	.option push
	.option norelax
	la gp, __global_pointer$
	.option pop
	/* picolibc keeps errno in TLS (local-exec): the single thread uses the image's own
	   .tdata/.tbss as its TLS block, which the loader has already initialised. */
	la tp, __tls_base
	lw a0, 0(sp)            /* argc */
	addi a1, sp, 4          /* argv */
	slli a2, a0, 2
	add a2, a2, a1
	addi a2, a2, 4          /* envp = argv + argc + 1 */
	andi sp, sp, -16        /* psABI: 16-byte aligned stack at calls */
	call __rv_start
	/* __rv_start never returns; trap loudly if it somehow does. */
	unimp
	.size _start, . - _start
