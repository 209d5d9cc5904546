/* Interrupt entry stubs. Each of the 256 stubs pushes a dummy error code
 * (unless the CPU pushed one) and its vector, then joins trap_common, which
 * saves the general-purpose registers as a struct trapframe and calls
 * trap_dispatch(tf). Exceptions with a CPU-pushed error code: 8, 10-14, 17,
 * 21, 29, 30. */
	.text
	.altmacro
	.code64

.macro stub n
	.align 16
vector_\n:
	.if !(\n == 8 || (\n >= 10 && \n <= 14) || \n == 17 || \n == 21 || \n == 29 || \n == 30)
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
.endm

	.set i, 0
	.rept 256
	stub %i
	.set i, i + 1
	.endr

trap_common:
	cld
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	mov %rsp, %rdi
	/* A frame the backtrace can follow across the trap. */
	mov 0x88(%rsp), %rax      /* interrupted rip */
	pushq %rax
	pushq %rbp
	mov %rsp, %rbp
	call trap_dispatch
	add $16, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	add $16, %rsp             /* vector, error code */
	iretq

	.section .rodata
	.align 8
	.global trap_vector_table
.macro vector_addr n
	.quad vector_\n
.endm
trap_vector_table:
	.set i, 0
	.rept 256
	vector_addr %i
	.set i, i + 1
	.endr
