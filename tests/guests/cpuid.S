/* CPUID under kev: the hypervisor leaves, the hypervisor bit, SVM hidden. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movl $0x40000000, %eax
	xorl %ecx, %ecx
	cpuid
	cmpl $0x40000001, %eax
	expect_eq $1
	cmpl $KEV_CPUID_SIG_EBX, %ebx
	expect_eq $2
	cmpl $KEV_CPUID_SIG_ECX, %ecx
	expect_eq $3
	cmpl $KEV_CPUID_SIG_EDX, %edx
	expect_eq $4

	movl $0x40000001, %eax
	cpuid
	cmpl $KEV_HC_ABI_VERSION, %eax
	expect_eq $5

	movl $1, %eax
	cpuid
	btl $31, %ecx                 /* hypervisor present */
	jc 1f
	guest_exit $6
1:	movl $0x80000001, %eax
	cpuid
	btl $2, %ecx                  /* SVM must be hidden */
	jnc 2f
	guest_exit $7
2:	movl $0, %eax                 /* the vendor leaf passes through: max leaf >= 1 */
	cpuid
	cmpl $1, %eax
	jae 3f
	guest_exit $8
3:	guest_exit $0
