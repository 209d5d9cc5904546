/* HLT with IF=1 sleeps until an interrupt: one raised by the host's test
 * thread (0x70), then one by a host timer (0x71). RDI = 1: halts forever
 * instead (woken by nothing but the VM's deadline). RDI = 2: HLT with IF=0.
 * RDI = 3: spins with IF=1 and no exits, counting interrupts, until 0x21. */
#include "tests/guests/guest.h"
#include "tests/guests/irq.h"
	.text
	.global guest_start
guest_start:
	movq %rdi, %rbx
	idt_setup
	cmpq $3, %rbx
	jne 4f
	sti
5:	pause
	jmp 5b
4:	cmpq $2, %rbx
	jne 1f
	cli
	hlt
	guest_exit $9
1:	sti
	cmpq $1, %rbx
	jne 2f
3:	hlt
	jmp 3b
2:	hlt
	expect_count 0x70, $1, 1
	hlt
	expect_count 0x71, $1, 2
	guest_exit $0

guest_irq:
	cmpq $0x21, %rdi
	jne 1f
	guest_exit $0
1:	apic_eoi
	ret
	irq_lib
