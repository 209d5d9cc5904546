/* A load from guest-physical 1 GiB: mapped in the guest's page tables, not in
 * kev's nested table (the guest has 1 MiB of RAM), so a nested page fault. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq $0x40000000, %rbx
	movq (%rbx), %rax
	guest_exit $99
