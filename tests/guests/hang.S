/* Makes the test hypercall RDI, whose handler (tests/kernel/test_kev_hang.c)
 * never returns or faults; exits 0 if it ever comes back. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq %rdi, %rax
hang_call:
	vmmcall
	guest_exit $0
