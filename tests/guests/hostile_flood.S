/* Console floods. RDI selects what, RSI how many lines:
 *   0  lines of 40 bytes to COM1 (without waiting on the line status)
 *   1  the same lines through the PUTS hypercall
 *   2  the test's hypercall HOSTILE_HC_PRINT (a device that prints a host
 *      line each time), then an invalid opcode: kev stops the VM with its
 *      own report, which must still be printed
 * Exits 0 after modes 0 and 1. */
#include "tests/guests/guest.h"
#define HOSTILE_HC_PRINT 0x4001
	.text
	.global guest_start
guest_start:
	movq %rdi, %r12
	movq %rsi, %r13
	cmpq $1, %r12
	je puts_flood
	cmpq $2, %r12
	je print_flood
com1_flood:
	testq %r13, %r13
	jz done
	leaq line(%rip), %rsi
	movq $line_end - line, %rcx
	movw $GUEST_COM1, %dx
1:	movb (%rsi), %al
	outb %al, %dx
	incq %rsi
	loop 1b
	decq %r13
	jmp com1_flood
puts_flood:
	testq %r13, %r13
	jz done
	leaq line(%rip), %rdi
	movq $line_end - line, %rsi
	hypercall $KEV_HC_PUTS
	decq %r13
	jmp puts_flood
print_flood:
	testq %r13, %r13
	jz 1f
	movq %r13, %rdi
	hypercall $HOSTILE_HC_PRINT
	decq %r13
	jmp print_flood
1:	ud2
done:
	guest_exit $0
line:	.ascii "flood flood flood flood flood flood fl\n"
line_end:
