/* Features kev hides: CPUID does not offer MONITOR, XSAVE, OSXSAVE, AVX or
 * x2APIC, and XSETBV, MONITOR and MWAIT raise #UD as on a CPU without them.
 * CPUID leaf 7 offers no AVX2, MPX or AVX-512F and no subleaf past 0; leaf
 * 0xD is empty. RDPMC reads 0 from counters 0-3 and raises #GP(0) for any
 * other. Exits 0, or the failed check. */
#include "tests/guests/hostile.h"
#define HIDDEN_LEAF1_ECX ((1 << 3) | (1 << 21) | (1 << 26) | (1 << 27) | (1 << 28))
#define HIDDEN_LEAF7_EBX ((1 << 5) | (1 << 14) | (1 << 16))
	.text
	.global guest_start
guest_start:
	hostile_setup
	movl $1, %eax
	cpuid
	testl $HIDDEN_LEAF1_ECX, %ecx
	expect_eq $1
	btl $31, %ecx                          /* the hypervisor bit stays */
	jc 1f
	guest_exit $2
1:	xorl %eax, %eax
	cpuid
	movl %eax, %r12d                       /* the highest basic leaf */
	cmpl $7, %r12d
	jb 1f
	movl $7, %eax                          /* leaf 7: no AVX2, AVX-512 or MPX, no subleaf 1 */
	xorl %ecx, %ecx
	cpuid
	testl %eax, %eax
	expect_eq $9
	testl $HIDDEN_LEAF7_EBX, %ebx
	expect_eq $10
	cmpl $0xd, %r12d
	jb 1f
	movl $0xd, %eax                        /* leaf 0xD (XSAVE state): empty */
	xorl %ecx, %ecx
	cpuid
	orl %ebx, %eax
	orl %ecx, %eax
	orl %edx, %eax
	expect_eq $11
1:
	movl $1, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	hg_arm 1f
2:	xsetbv
1:	hg_expect 6, 0, 2b, $3
	leaq guest_start(%rip), %rax
	xorl %ecx, %ecx
	xorl %edx, %edx
	hg_arm 1f
2:	monitor
1:	hg_expect 6, 0, 2b, $4
	xorl %eax, %eax
	xorl %ecx, %ecx
	hg_arm 1f
2:	mwait
1:	hg_expect 6, 0, 2b, $5

	movl $3, %ecx                          /* the last legacy counter */
	movq $-1, %rax
	movq $-1, %rdx
	rdpmc
	orq %rdx, %rax
	expect_eq $6
	movl $4, %ecx
	hg_arm 1f
2:	rdpmc
1:	hg_expect 13, 0, 2b, $7
	movl $0x80000000, %ecx
	hg_arm 1f
2:	rdpmc
1:	hg_expect 13, 0, 2b, $8
	guest_exit $0
	hostile_lib
