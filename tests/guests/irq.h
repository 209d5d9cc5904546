/* Interrupts in kev's test guests (with tests/guests/guest.h).
 *
 * idt_setup builds a 256-entry IDT at IRQ_IDT_GPA whose every vector enters
 * irq_common with the vector number; irq_common saves the caller-saved
 * registers, counts the vector in IRQ_COUNTS_GPA (one 8-byte counter per
 * vector), appends an "enter" entry (the vector) to the log, calls the
 * guest's own `guest_irq` with the vector in RDI, appends a "leave" entry
 * (0x100 | vector), and returns with IRETQ. Vectors where the CPU pushes an
 * error code (8, 10-14, 17) drop it before IRETQ; guest_irq finds the
 * interrupted RIP at irq_frame_rip (it may change it).
 *
 * The log is 16-bit entries from IRQ_LOG_GPA; irq_log_len counts them.
 * apic_eoi and apic_set_tpr write the x2APIC EOI and TPR MSRs, which the
 * kernel tests map onto vcpu_eoi and vcpu_set_tpr. */
#ifndef TESTS_GUESTS_IRQ_H
#define TESTS_GUESTS_IRQ_H

#define IRQ_IDT_GPA     0x8000
#define IRQ_COUNTS_GPA  0x9000
#define IRQ_LOG_GPA     0x9800
#define MSR_X2APIC_TPR  0x808
#define MSR_X2APIC_EOI  0x80b
/* Test hypercalls (tests/kernel/test_kev_irq.c): raise vector RDI on the calling vCPU; also inject #GP(0). */
#define HC_TEST_RAISE        0x4101
#define HC_TEST_RAISE_AND_GP 0x4102

.macro apic_eoi
	movl $MSR_X2APIC_EOI, %ecx
	xorl %eax, %eax
	xorl %edx, %edx
	wrmsr
.endm

.macro apic_set_tpr value
	movl $MSR_X2APIC_TPR, %ecx
	movl \value, %eax
	xorl %edx, %edx
	wrmsr
.endm

/* Raises vector (an immediate) on this vCPU through the test hypercall. */
.macro raise vector
	movq \vector, %rdi
	hypercall $HC_TEST_RAISE
.endm

/* Fills the IDT and loads it; clobbers RAX, RCX, RDX, RDI. */
.macro idt_setup
	leaq irq_stubs(%rip), %rax
	movq $IRQ_IDT_GPA, %rdi
	movl $256, %ecx
.Lidt_fill\@:
	movq %rax, %rdx
	movw %dx, (%rdi)                 /* offset 15:0 */
	movw $0x08, 2(%rdi)              /* code selector */
	movw $0x8e00, 4(%rdi)            /* present interrupt gate, IST 0 */
	shrq $16, %rdx
	movw %dx, 6(%rdi)                /* offset 31:16 */
	shrq $16, %rdx
	movl %edx, 8(%rdi)               /* offset 63:32 */
	movl $0, 12(%rdi)
	addq $16, %rax
	addq $16, %rdi
	decl %ecx
	jnz .Lidt_fill\@
	lidt irq_idtr(%rip)
.endm

.macro irq_stub n
	.balign 16
	.if (\n == 8 || (\n >= 10 && \n <= 14) || \n == 17)
	pushq $\n
	jmp irq_common_err
	.else
	pushq $0
	pushq $\n
	jmp irq_common
	.endif
.endm

/* The stubs, irq_common and the IDT descriptor; include once, after the code. */
.macro irq_lib
	.balign 16
irq_stubs:
	.altmacro
	.set irq_i, 0
	.rept 256
	irq_stub %irq_i
	.set irq_i, irq_i + 1
	.endr
	.noaltmacro

irq_common_err:                          /* the CPU pushed the error code already */
irq_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movq 72(%rsp), %rdi              /* vector */
	leaq 88(%rsp), %rax              /* the CPU's frame: RIP first */
	movq %rax, irq_frame_rip(%rip)
	movq $IRQ_COUNTS_GPA, %rax
	incq (%rax,%rdi,8)
	call irq_log
	call guest_irq
	movq 72(%rsp), %rdi
	orq $0x100, %rdi
	call irq_log
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp                   /* vector, error code */
	iretq

irq_log:                                 /* appends DI to the log; clobbers RAX, RCX */
	movq irq_log_len(%rip), %rcx
	movq $IRQ_LOG_GPA, %rax
	movw %di, (%rax,%rcx,2)
	incq irq_log_len(%rip)
	andq $0xff, %rdi
	ret

	.balign 8
irq_frame_rip: .quad 0
irq_log_len: .quad 0
irq_idtr:
	.word 256 * 16 - 1
	.quad IRQ_IDT_GPA
.endm

/* Exits with status unless the counter of vector equals value. */
.macro expect_count vector, value, status
	movq $IRQ_COUNTS_GPA, %rax
	cmpq \value, \vector * 8(%rax)
	expect_eq \status
.endm

/* Exits with status unless the log equals the 16-bit words from label to label_end. */
.macro expect_log label, status
	movq irq_log_len(%rip), %rcx
	cmpq $(\label\()_end - \label) / 2, %rcx
	expect_eq \status
	leaq \label(%rip), %rsi
	movq $IRQ_LOG_GPA, %rdi
	repe cmpsw
	expect_eq \status
.endm
#endif
