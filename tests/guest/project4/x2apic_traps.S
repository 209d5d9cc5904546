/* Trap entries for the x2APIC guest tests (test_x2apic.c), installed in a
 * private copy of keos's IDT while a test runs with interrupts under its
 * own control:
 *
 *   - x2t_gp_entry (vector 13): a #GP raised by the RDMSR or WRMSR of
 *     x2t_rdmsr/x2t_wrmsr is counted, its error code kept, and the
 *     instruction skipped (2 bytes); any other #GP goes on to keos's own
 *     entry (x2t_gp_fallback), which fails the test with the usual report.
 *   - x2t_irq_<vector>: appends the vector to x2t_log and returns without an
 *     EOI, so the vector stays in service until the test writes EOI itself.
 *     x2t_irq_0x40 (keos's timer vector, a tick that was pending when the
 *     test took the timer over) is logged and EOI'd at once.
 *
 * uint64_t x2t_rdmsr(uint32_t msr);  void x2t_wrmsr(uint32_t msr, uint64_t value); */
	.text
	.code64

	.global x2t_rdmsr
x2t_rdmsr:
	movl %edi, %ecx
	xorl %eax, %eax
	xorl %edx, %edx
x2t_rdmsr_insn:
	rdmsr
	shlq $32, %rdx
	orq %rdx, %rax
	ret

	.global x2t_wrmsr
x2t_wrmsr:
	movl %edi, %ecx
	movl %esi, %eax
	movq %rsi, %rdx
	shrq $32, %rdx
x2t_wrmsr_insn:
	wrmsr
	ret

	/* Stack on entry: error code, rip, cs, rflags, rsp, ss. */
	.global x2t_gp_entry
x2t_gp_entry:
	pushq %rax
	leaq x2t_rdmsr_insn(%rip), %rax
	cmpq %rax, 16(%rsp)
	je 1f
	leaq x2t_wrmsr_insn(%rip), %rax
	cmpq %rax, 16(%rsp)
	je 1f
	popq %rax
	jmp *x2t_gp_fallback(%rip)
1:	movq 8(%rsp), %rax
	movq %rax, x2t_gp_error(%rip)
	incq x2t_gp_count(%rip)
	addq $2, 16(%rsp)               /* past the 2-byte RDMSR/WRMSR */
	popq %rax
	addq $8, %rsp                   /* the error code */
	iretq

.macro irq_entry vec
	.global x2t_irq_\vec
x2t_irq_\vec:
	pushq $\vec
	jmp x2t_irq_common
.endm
	irq_entry 0x40
	irq_entry 0x58
	irq_entry 0x59
	irq_entry 0x5a
	irq_entry 0x68

x2t_irq_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	movq 24(%rsp), %rax             /* the vector */
	movq x2t_log_len(%rip), %rcx
	cmpq $64, %rcx
	jae 1f
	leaq x2t_log(%rip), %rdx
	movb %al, (%rdx,%rcx)
	incq x2t_log_len(%rip)
1:	cmpq $0x40, %rax
	jne 2f
	movl $0x80b, %ecx               /* x2APIC EOI */
	xorl %eax, %eax
	xorl %edx, %edx
	wrmsr
2:	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp                   /* the vector */
	iretq

	.data
	.balign 8
	.global x2t_gp_fallback, x2t_gp_error, x2t_gp_count, x2t_log_len, x2t_log
x2t_gp_fallback: .quad 0
x2t_gp_error: .quad 0
x2t_gp_count: .quad 0
x2t_log_len: .quad 0
x2t_log: .space 64

	.section .note.GNU-stack, "", @progbits
