/*
 * exit (app profile, pure assembly, NOCRT=1): the smallest guest. No C library, no crt0:
 * reads argc from the initial stack, writes a line with the write syscall and leaves with
 * exit_group(7 + argc) so the exit code path is tested without picolibc in the way.
 */
	.section .rodata
msg:	.ascii "exit.S: raw write, then exit_group(7 + argc)\n"
msg_end:
err:	.ascii "exit.S: this line goes to stderr\n"
err_end:
	.balign 4
/* `li rd, end - start` is rejected while relaxation may still move labels: load the lengths */
msg_len: .word msg_end - msg
err_len: .word err_end - err

	.text
	.globl _start
_start:
	lw s0, 0(sp)            /* argc */
	li a0, 1
	la a1, msg
	lw a2, msg_len
	li a7, 64               /* write */
	ecall
	mv s1, a0               /* bytes written */
	li a0, 2
	la a1, err
	lw a2, err_len
	li a7, 64
	ecall
	lw t0, msg_len
	bne s1, t0, 1f
	addi a0, s0, 7
	li a7, 94               /* exit_group */
	ecall
1:	li a0, 99
	li a7, 93               /* exit */
	ecall
	unimp

