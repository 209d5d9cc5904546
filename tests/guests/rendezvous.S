/* For two VMs at once: say hello, make the test's rendezvous hypercall
 * (number RDI; it answers 1 once the other VM has made it too), and exit
 * with 100 + the answer. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq %rdi, %rbx
	serial_puts hello
	movq %rbx, %rax
	vmmcall
	addl $100, %eax
	guest_exit %eax
	guest_serial_lib
hello:	.asciz "rendezvous guest running\n"
