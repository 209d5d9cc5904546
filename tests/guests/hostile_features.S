/* Features kev hides: CPUID does not offer MONITOR, XSAVE, OSXSAVE, AVX or
 * x2APIC, and XSETBV, MONITOR and MWAIT raise #UD as on a CPU without them.
 * RDPMC reads 0 from counters 0-3 and raises #GP(0) for any other. Exits 0,
 * or the failed check. */
#include "tests/guests/hostile.h"
#define HIDDEN_LEAF1_ECX ((1 << 3) | (1 << 21) | (1 << 26) | (1 << 27) | (1 << 28))
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
