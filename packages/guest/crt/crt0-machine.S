/*
 * machine profile entry (M-mode), linked first in the image at 0x80000000: QEMU's
 * `-bios none -kernel` and rvisor both start the hart at the ELF entry, and on QEMU the
 * reset vector jumps to the start of RAM, so _start must be the first byte.
 */
	.section .text.init.enter, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	.option push
	.option norelax
	la gp, __global_pointer$
	.option pop
	la sp, __stack_top
	la tp, __tls_base
	/* Any trap before main installs its own handler is a firmware bug: stop with code 0xbad
	   rather than loop through an uninitialised mtvec. */
	la t0, __rv_early_trap
	csrw mtvec, t0
	/* QEMU's ELF loader zero-fills memsz > filesz, but a flat image or a warm restart
	   does not: clear .tbss/.bss ourselves. */
	la t0, __bss_start
	la t1, __bss_end
1:	bgeu t0, t1, 2f
	sw zero, 0(t0)
	addi t0, t0, 4
	j 1b
	/* argc = 0 with argv = envp = an empty, NULL-terminated list: firmware has no name */
2:	li a0, 0
	la a1, __rv_no_args
	la a2, __rv_no_args
	call __rv_start
	unimp
	.size _start, . - _start

	.section .rodata
	.balign 4
__rv_no_args:
	.word 0

	.text
	.balign 4
	.type __rv_early_trap, @function
__rv_early_trap:
	li t0, 0x100000
	li t1, (0xbad << 16) | 0x3333
	sw t1, 0(t0)
3:	wfi
	j 3b
	.size __rv_early_trap, . - __rv_early_trap
