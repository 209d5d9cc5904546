/* A hardware breakpoint on host code: DR0 = RDI (the host test passes the
 * address of a host function), DR7 = RSI (0x403 enables it; 0x2400 is
 * general detect), then exits. kev must stop the VM at the DR7 write. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq %rdi, %dr0
	movq %rsi, %dr7
	guest_exit $0
