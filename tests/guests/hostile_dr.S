/* The debug registers as the architecture defines them, though kev emulates
 * them: values kept per register and per encoding (prefixes, REX.B, mod bits
 * ignored), the fixed bits of DR6 and DR7, DR4/DR5 as aliases, #UD for DR4/DR5
 * with CR4.DE, for DR8 and for LOCK, #GP(0) for bits 63:32 of DR6/DR7, and
 * 32-bit operands in a 32-bit code segment. Exits 0, or the failed check. */
#include "tests/guests/hostile.h"
	.text
	.global guest_start
guest_start:
	hostile_setup

	movabsq $0x1122334455667788, %rax
	movq %rax, %dr0
	movq %dr0, %rbx
	cmpq %rax, %rbx
	expect_eq $1
	movabsq $0xffffffff80001234, %r9
	movq %r9, %dr1                         /* 41 0f 23 c9: REX.B */
	movq %dr1, %r10
	cmpq %r9, %r10
	expect_eq $2
	movq $0x2222, %rcx
	.byte 0x2e, 0x66, 0x0f, 0x23, 0xd1     /* cs, data16, mov %rcx, %dr2 */
	.byte 0x3e, 0x48, 0x0f, 0x21, 0xd2     /* ds, REX.W, mov %dr2, %rdx */
	cmpq $0x2222, %rdx
	expect_eq $3
	movq $0x3333, %rax
	.byte 0x0f, 0x23, 0x18                 /* mod 00: still mov %rax, %dr3 */
	.byte 0x0f, 0x21, 0x1b                 /* mov %dr3, %rbx */
	cmpq $0x3333, %rbx
	expect_eq $4
	movq %dr0, %rbx                        /* DR0 kept its value meanwhile */
	movabsq $0x1122334455667788, %rax
	cmpq %rax, %rbx
	expect_eq $5

	xorl %eax, %eax
	movq %rax, %dr6
	movq %dr6, %rax
	movl $0xffff0ff0, %ebx                 /* the bits that always read 1 */
	cmpq %rbx, %rax
	expect_eq $6
	movq $0x400f, %rax                     /* B0-B3, BS */
	movq %rax, %dr6
	movq %dr6, %rax
	movl $0xffff4fff, %ebx
	cmpq %rbx, %rax
	expect_eq $7
	movq $0x000d0300, %rax                 /* R/W and LEN fields, LE, GE: arms nothing */
	movq %rax, %dr7
	movq %dr7, %rax
	cmpq $0x000d0700, %rax                 /* bit 10 reads 1 */
	expect_eq $8
	.byte 0x0f, 0x21, 0xe0                 /* mov %dr4, %rax: DR6 without CR4.DE */
	movl $0xffff4fff, %ebx
	cmpq %rbx, %rax
	expect_eq $9
	.byte 0x0f, 0x21, 0xe8                 /* mov %dr5, %rax: DR7 */
	cmpq $0x000d0700, %rax
	expect_eq $10

	movq %cr4, %rax                        /* CR4.DE: DR4 and DR5 do not exist */
	orq $8, %rax
	movq %rax, %cr4
	hg_arm 1f
2:	.byte 0x0f, 0x21, 0xe0
1:	hg_expect 6, 0, 2b, $11
	hg_arm 1f
2:	.byte 0x0f, 0x23, 0xe8                 /* mov %rax, %dr5 */
1:	hg_expect 6, 0, 2b, $12
	movq %cr4, %rax
	andq $~8, %rax
	movq %rax, %cr4

	hg_arm 1f
2:	.byte 0x44, 0x0f, 0x21, 0xc0           /* REX.R: mov %dr8, %rax */
1:	hg_expect 6, 0, 2b, $13
	hg_arm 1f
2:	.byte 0xf0, 0x0f, 0x21, 0xc0           /* lock mov %dr0, %rax */
1:	hg_expect 6, 0, 2b, $14

	movabsq $0x100000400, %rax             /* bit 32 of DR7 */
	hg_arm 1f
2:	movq %rax, %dr7
1:	hg_expect 13, 0, 2b, $15
	movq %dr7, %rax                        /* unchanged */
	cmpq $0x000d0700, %rax
	expect_eq $16
	movabsq $0x8000000000000000, %rax      /* bit 63 of DR6 */
	hg_arm 1f
2:	movq %rax, %dr6
1:	hg_expect 13, 0, 2b, $17
	movq $0x400, %rax                      /* back to the power-on value */
	movq %rax, %dr7

	pushq $HG_CODE32                       /* 32-bit code: 32-bit operands */
	leaq compat32(%rip), %rax
	pushq %rax
	lretq
	.code32
compat32:
	movl $0xcafebabe, %eax
	movl %eax, %dr0
	movl %dr0, %ebx
	cmpl %eax, %ebx
	expect_eq $18
	.byte 0x2e, 0x0f, 0x21, 0xc1           /* cs mov %dr0, %ecx */
	cmpl %eax, %ecx
	expect_eq $19
	ljmp $HG_KCODE, $back64
	.code64
back64:
	movq %dr0, %rax
	movl $0xcafebabe, %ebx                 /* the 32-bit write cleared bits 63:32 */
	cmpq %rbx, %rax
	expect_eq $20
	guest_exit $0
	hostile_lib
