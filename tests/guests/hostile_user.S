/* Guest user mode (CPL 3) reaching for what only its kernel may use: every
 * hypercall returns KEV_HC_EPERM and does nothing; RDPMC without CR4.PCE,
 * MOV DR and RDMSR raise #GP(0). With RDI = 1 the kernel sets CR4.PCE
 * first: RDPMC then reads 0 in user mode. Exits 0 (from user mode: IOPL 3),
 * or the failed check. */
#include "tests/guests/hostile.h"
#define MSR_SCRATCH0 0x400000f0
	.text
	.global guest_start
guest_start:
	hostile_setup
	movq %rdi, %r12
	testq %r12, %r12
	jz 1f
	movq %cr4, %rax
	orq $0x100, %rax                       /* CR4.PCE */
	movq %rax, %cr4
1:	hg_enter_user user

user:
	movq $KEV_HC_VERSION, %rax
	vmmcall
	cmpq $KEV_HC_EPERM, %rax
	expect_eq $1
	leaq message(%rip), %rdi
	movq $message_end - message, %rsi
	movq $KEV_HC_PUTS, %rax
	vmmcall
	cmpq $KEV_HC_EPERM, %rax
	expect_eq $2
	xorl %edi, %edi
	movq $KEV_HC_EXIT, %rax                /* must not end the VM */
	vmmcall
	cmpq $KEV_HC_EPERM, %rax
	expect_eq $3
	movq $0x4000, %rax                     /* unknown numbers too */
	vmmcall
	cmpq $KEV_HC_EPERM, %rax
	expect_eq $4

	xorl %ecx, %ecx
	testq %r12, %r12
	jnz 3f
	hg_arm 1f
2:	rdpmc
1:	hg_expect 13, 0, 2b, $5
	jmp 4f
3:	movq $-1, %rax
	movq $-1, %rdx
	rdpmc                                  /* CR4.PCE: allowed, and it reads 0 */
	orq %rdx, %rax
	expect_eq $6
4:
	hg_arm 1f
2:	movq %dr7, %rax
1:	hg_expect 13, 0, 2b, $7
	hg_arm 1f
2:	movq %rax, %dr0
1:	hg_expect 13, 0, 2b, $8
	movl $MSR_SCRATCH0, %ecx
	hg_arm 1f
2:	rdmsr
1:	hg_expect 13, 0, 2b, $9
	guest_exit $0
message: .ascii "user mode must not print this\n"
message_end:
	hostile_lib
