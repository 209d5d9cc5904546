/* An invalid opcode: the intercepted #UD stops the VM with a report. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	nop
	ud2
	guest_exit $99
