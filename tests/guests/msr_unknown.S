/* RDMSR of an MSR kev does not emulate: the VM must stop with a report. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movl $0x12345678, %ecx
	rdmsr
	guest_exit $99                /* never: kev stops the VM at the rdmsr */
