/*
 * M-mode trap vector shared by the machine-profile conformance firmware.
 *
 * It records what the hart reported (count, mcause, mtval, mepc, mstatus) in `trap_rec`
 * and then:
 *   - interrupt: silences the source (mtimecmp := max for the timer, msip := 0 for the
 *     software interrupt) and returns to mepc;
 *   - exception: resumes at trap_rec.resume in M-mode (the probe that expected the trap
 *     stored it), clearing it so a second, unexpected trap powers off with code 0xee.
 * Only t0/t1 and mscratch are used, so a probe may trap in the middle of C code.
 */
	.section .text.trap, "ax", @progbits
	.globl trap_vector
	.balign 4
trap_vector:
	csrw mscratch, t0
	la t0, trap_rec
	sw t1, 24(t0)
	lw t1, 0(t0)
	addi t1, t1, 1
	sw t1, 0(t0)
	csrr t1, mcause
	sw t1, 4(t0)
	csrr t1, mtval
	sw t1, 8(t0)
	csrr t1, mepc
	sw t1, 12(t0)
	csrr t1, mstatus
	sw t1, 16(t0)
	csrr t1, mcause
	bgez t1, 2f
	/* interrupt */
	andi t1, t1, 0x1f
	addi t1, t1, -7
	bnez t1, 1f
	li t0, 0x02004004          /* mtimecmp high word */
	li t1, -1
	sw t1, 0(t0)
	j 9f
1:	li t0, 0x02000000          /* msip */
	sw zero, 0(t0)
	j 9f
2:	/* exception */
	lw t1, 20(t0)
	beqz t1, 8f
	sw zero, 20(t0)
	csrw mepc, t1
	li t1, 0x1800              /* mstatus.MPP = M: resume in the probe's privilege */
	csrs mstatus, t1
9:	la t0, trap_rec
	lw t1, 24(t0)
	csrr t0, mscratch
	mret
8:	li t0, 0x100000
	li t1, (0xee << 16) | 0x3333
	sw t1, 0(t0)
	j 8b

	.data
	.globl trap_rec
	.balign 4
	/* count, cause, tval, epc, status, resume, saved t1 */
trap_rec:
	.zero 28
