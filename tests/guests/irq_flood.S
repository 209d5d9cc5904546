/* Under a flood of raises from another CPU and from its timer interrupts:
 * counts every delivery per vector (the host compares), halting and running
 * by turns; vector 0x21, the lowest class, raised last, ends the run. */
#include "tests/guests/guest.h"
#include "tests/guests/irq.h"
	.text
	.global guest_start
guest_start:
	idt_setup
	sti
1:	hlt
	movl $200, %ecx
2:	pause
	decl %ecx
	jnz 2b
	jmp 1b

guest_irq:
	cmpq $0x21, %rdi
	jne 1f
	guest_exit $0
1:	apic_eoi
	ret
	irq_lib
