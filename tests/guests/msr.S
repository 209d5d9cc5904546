/* Emulated MSRs: a scratch MSR keeps a 64-bit value; EFER hides SVME. */
#include "tests/guests/guest.h"
#define MSR_SCRATCH0 0x400000f0
#define MSR_SCRATCH1 0x400000f1
	.text
	.global guest_start
guest_start:
	movl $MSR_SCRATCH0, %ecx
	rdmsr                         /* power-on value 0 */
	orl %edx, %eax
	expect_eq $1

	movl $MSR_SCRATCH0, %ecx
	movl $0x55667788, %eax
	movl $0x11223344, %edx
	wrmsr
	movl $MSR_SCRATCH1, %ecx      /* a second MSR must not alias the first */
	movl $0xdeadbeef, %eax
	xorl %edx, %edx
	wrmsr

	movl $MSR_SCRATCH0, %ecx
	movq $-1, %rax                /* rdmsr must clear bits 63:32 of rax and rdx */
	movq $-1, %rdx
	rdmsr
	movabsq $0x55667788, %rbx
	cmpq %rbx, %rax
	expect_eq $2
	movabsq $0x11223344, %rbx
	cmpq %rbx, %rdx
	expect_eq $3

	movl $0xc0000080, %ecx        /* EFER: LME, LMA, no SVME */
	rdmsr
	btl $12, %eax
	jnc 1f
	guest_exit $4
1:	btl $10, %eax
	jc 2f
	guest_exit $5
2:	wrmsr                         /* writing it back must keep the guest running */
	guest_exit $0
