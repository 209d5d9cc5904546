/* Hypercalls: arguments in registers, a result in RAX, other registers kept. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	hypercall $KEV_HC_VERSION
	cmpq $KEV_HC_ABI_VERSION, %rax
	expect_eq $1

	movq $1, %rdi
	movq $2, %rsi
	movq $3, %rdx
	movq $4, %r10
	movq $0x5555, %rbx
	movq $0x6666, %r15
	hypercall $KEV_HC_SUM
	cmpq $30, %rax                /* 1 + 2*2 + 3*3 + 4*4 */
	expect_eq $2
	cmpq $1, %rdi                 /* every other register survives the exit */
	expect_eq $3
	cmpq $4, %r10
	expect_eq $4
	cmpq $0x5555, %rbx
	expect_eq $5
	cmpq $0x6666, %r15
	expect_eq $6

	leaq message(%rip), %rdi
	movq $message_end - message, %rsi
	hypercall $KEV_HC_PUTS
	cmpq $message_end - message, %rax
	expect_eq $7

	movq $0x7fff00000000, %rdi    /* beyond the guest's identity map */
	movq $4, %rsi
	hypercall $KEV_HC_PUTS
	cmpq $KEV_HC_EFAULT, %rax
	expect_eq $8

	hypercall $KEV_HC_VCPU_ID
	cmpq $0, %rax
	expect_eq $9

	movq $0, %rdi
	hypercall $KEV_HC_EXIT
	guest_exit $11                /* never: KEV_HC_EXIT ends the VM */
message: .ascii "hello through a hypercall\n"
message_end:
