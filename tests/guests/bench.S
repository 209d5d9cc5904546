/* The exit benchmark: RDI null hypercalls, then exit 0. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq %rdi, %rcx
1:	movl $KEV_HC_NOP, %eax
	vmmcall
	decq %rcx
	jnz 1b
	guest_exit $0
