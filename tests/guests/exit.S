/* Exits with the status in RDI through port 0xf4, or through KeV's port 0x604 if RSI != 0. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movl %edi, %eax
	testq %rsi, %rsi
	jnz 1f
	outl %eax, $GUEST_EXIT_PORT
	jmp 2f
1:	movw $GUEST_EXIT_PORT_KEV, %dx
	outl %eax, %dx
2:	cli
	hlt
	jmp 2b
