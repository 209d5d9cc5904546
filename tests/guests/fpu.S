/* x87/SSE isolation: first checks the power-on state (MXCSR 0x1f80, FCW
 * 0x37f, XMM0-15 zero), then fills XMM0-15 with a pattern made from RDI and
 * makes RSI null hypercalls, checking every register after each exit.
 * Exits 0, or 1-3 for a bad power-on state, 4 for a register that changed. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq %cr4, %rax
	orq $0x600, %rax                 /* OSFXSR | OSXMMEXCPT */
	movq %rax, %cr4
	stmxcsr scratch(%rip)
	cmpl $0x1f80, scratch(%rip)
	expect_eq $1
	fnstcw scratch(%rip)
	cmpw $0x037f, scratch(%rip)
	expect_eq $2
	call store_all
	leaq saved(%rip), %rax
	movl $32, %ecx
1:	cmpq $0, (%rax)
	expect_eq $3
	addq $8, %rax
	decl %ecx
	jnz 1b

	leaq pattern(%rip), %rax         /* pattern[i] = (rdi + i, ~(rdi + i)) */
	xorl %ecx, %ecx
2:	leaq (%rdi,%rcx), %rdx
	movq %rdx, (%rax)
	notq %rdx
	movq %rdx, 8(%rax)
	addq $16, %rax
	incl %ecx
	cmpl $16, %ecx
	jne 2b
	call load_all

	movq %rsi, %rbx
3:	hypercall $KEV_HC_NOP
	call store_all
	leaq saved(%rip), %rsi
	leaq pattern(%rip), %rdi
	movl $32, %ecx
	repe cmpsq
	expect_eq $4
	decq %rbx
	jnz 3b
	guest_exit $0

.macro xmm_all op, base
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.ifc \op, store
	movdqu %xmm\n, \n * 16(\base)
	.else
	movdqu \n * 16(\base), %xmm\n
	.endif
	.endr
.endm

store_all:
	leaq saved(%rip), %rax
	xmm_all store, %rax
	ret
load_all:
	leaq pattern(%rip), %rax
	xmm_all load, %rax
	ret

	.balign 16
scratch: .quad 0, 0
saved:	.fill 32, 8, 0xff
pattern: .fill 32, 8, 0
