/* Instructions kev completes, with prefixes: kev must resume after the whole
 * instruction, in 64-bit, 32-bit and 16-bit code segments. Each prefixed
 * instruction is followed by a marker store: resuming anywhere else runs
 * other bytes (the marker check, or worse, fails). Exits 0, or the failed
 * check. */
#include "tests/guests/hostile.h"
#define MSR_SCRATCH0 0x400000f0
#define MARK (HG_VARS + 0x100)

/* After the instruction just emitted: record that execution got here. */
.macro mark n
	movl $\n, MARK
.endm
.macro expect_mark n, status
	cmpl $\n, MARK
	expect_eq \status
.endm

	.text
	.global guest_start
guest_start:
	hostile_setup
	xorl %eax, %eax
	.byte 0x2e, 0x0f, 0xa2                 /* cs cpuid */
	mark 1
	expect_mark 1, $1
	cmpl $KEV_CPUID_SIG_EBX, %ebx          /* and it was a CPUID: leaf 0 answers the */
	je 1f                                  /* vendor, so EBX is not kev's signature */
	testl %eax, %eax
	jnz 2f
1:	guest_exit $2
2:	movl $0x40000000, %eax
	.byte 0x66, 0x0f, 0xa2                 /* data16 cpuid */
	mark 3
	expect_mark 3, $3
	cmpl $KEV_CPUID_SIG_EBX, %ebx
	expect_eq $4
	movl $0x40000000, %eax
	.byte 0xf3, 0x48, 0x0f, 0xa2           /* rep, REX.W */
	mark 5
	expect_mark 5, $5
	movl $0x40000000, %eax
	.byte 0x48, 0x2e, 0x0f, 0xa2           /* REX then a legacy prefix: the REX is ignored */
	mark 6
	expect_mark 6, $6
	movl $0x40000000, %eax                 /* 13 prefixes: 15 bytes, the longest allowed */
	.byte 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0x66, 0x67, 0xf3, 0x2e, 0x3e, 0x26, 0x40, 0x0f, 0xa2
	mark 7
	expect_mark 7, $7
	cmpl $KEV_CPUID_SIG_EBX, %ebx
	expect_eq $8

	movl $MSR_SCRATCH0, %ecx
	movl $0x5a5a, %eax
	xorl %edx, %edx
	.byte 0x3e, 0x48, 0x0f, 0x30           /* ds REX.W wrmsr */
	mark 9
	expect_mark 9, $9
	movl $MSR_SCRATCH0, %ecx
	xorl %eax, %eax
	.byte 0x2e, 0x0f, 0x32                 /* cs rdmsr */
	mark 10
	expect_mark 10, $10
	cmpl $0x5a5a, %eax
	expect_eq $11

	movq $1, %rdi
	movq $2, %rsi
	movq $3, %rdx
	movq $4, %r10
	movq $KEV_HC_SUM, %rax
	.byte 0x2e, 0x3e, 0x0f, 0x01, 0xd9     /* cs ds vmmcall */
	mark 12
	expect_mark 12, $12
	cmpq $30, %rax
	expect_eq $13

	movl $0, %ecx
	movq $-1, %rax
	.byte 0x2e, 0x0f, 0x33                 /* cs rdpmc: counter 0 reads 0 */
	mark 14
	expect_mark 14, $14
	testq %rax, %rax
	expect_eq $15

	hg_set_gate 0x40, wake_handler         /* the host raises 0x40 once the vCPU halts */
	sti                                    /* with interrupts on, HLT resumes after itself */
	.byte 0x2e, 0xf4                       /* cs hlt */
	mark 16
	cli
	expect_mark 16, $16

	pushq $HG_CODE32                       /* 32-bit code */
	leaq compat32(%rip), %rax
	pushq %rax
	lretq
	.code32
compat32:
	movl $0x40000000, %eax
	.byte 0x2e, 0x0f, 0xa2                 /* cs cpuid */
	mark 17
	expect_mark 17, $17
	cmpl $KEV_CPUID_SIG_EBX, %ebx
	expect_eq $18
	movl $MSR_SCRATCH0, %ecx
	.byte 0x66, 0x0f, 0x32                 /* data16 rdmsr */
	mark 19
	expect_mark 19, $19
	cmpl $0x5a5a, %eax
	expect_eq $20
	movl $KEV_HC_VERSION, %eax
	.byte 0x3e, 0x0f, 0x01, 0xd9           /* ds vmmcall */
	mark 21
	expect_mark 21, $21
	cmpl $KEV_HC_ABI_VERSION, %eax
	expect_eq $22
	ljmp $HG_KCODE, $back64
	.code64
back64:
	pushq $HG_CODE16                       /* 16-bit code, based at the image */
	pushq $code16 - HG_IMAGE
	lretq
	.code16
code16:
	movl $0x40000000, %eax
	.byte 0x2e, 0x0f, 0xa2                 /* cs cpuid, fetched at CS base + IP */
	movl $23, %ecx
	cmpl $KEV_CPUID_SIG_EBX, %ebx
	jne 1f
	movl $0x40000000, %eax
	.byte 0x66, 0x0f, 0xa2                 /* data16 cpuid */
	movl $24, %ecx
	cmpl $KEV_CPUID_SIG_EBX, %ebx
	jne 1f
	xorl %ecx, %ecx
1:	ljmpl $HG_KCODE, $back64_again
	.code64
back64_again:
	testl %ecx, %ecx
	jz 1f
	guest_exit %ecx
1:	guest_exit $0
	hostile_lib

	.code64
/* The interrupt that ends the prefixed HLT: nothing to do but return. */
wake_handler:
	iretq
