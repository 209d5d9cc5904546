/* An interrupt raised while the guest has IF=0 waits for STI, then arrives
 * after the instruction in STI's shadow (through the interrupt window). */
#include "tests/guests/guest.h"
#include "tests/guests/irq.h"
	.text
	.global guest_start
guest_start:
	idt_setup
	raise $0x50
	movl $0, %eax
	cpuid                          /* more exits with IF=0: still held */
	cpuid
	expect_count 0x50, $0, 1
	sti
	movq IRQ_COUNTS_GPA + 0x50 * 8, %rax   /* in the shadow: not yet */
	movq IRQ_COUNTS_GPA + 0x50 * 8, %rbx   /* delivered before this one */
	cli
	cmpq $0, %rax
	expect_eq $2
	cmpq $1, %rbx
	expect_eq $3
	guest_exit $0

guest_irq:
	apic_eoi
	ret
	irq_lib
