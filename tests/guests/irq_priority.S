/* APIC priority: the highest pending vector first; a vector waits while one
 * of its class or above is in service (even with IF=1) or its class is not
 * above the TPR; a higher class nests inside a lower one's handler. Each
 * handler opens a window (sti; nop; cli) before its EOI. */
#include "tests/guests/guest.h"
#include "tests/guests/irq.h"
	.text
	.global guest_start
guest_start:
	idt_setup
	raise $0x40
	raise $0x85
	raise $0x45
	raise $0x80
	sti
	nop
	nop
	cli
	expect_log order, 1

	movq $0, irq_log_len(%rip)
	apic_set_tpr $0x50
	raise $0x45
	raise $0x60
	sti
	nop
	nop
	cli
	expect_log tpr_blocks, 2
	expect_count 0x45, $1, 3         /* only the first round's */

	apic_set_tpr $0
	sti
	nop
	cli
	expect_count 0x45, $2, 4

	movq $0, irq_log_len(%rip)
	raise $0x30                      /* its handler raises 0x90 */
	sti
	nop
	nop
	cli
	expect_log nested, 5
	guest_exit $0

guest_irq:
	cmpq $0x30, %rdi
	jne 1f
	raise $0x90
1:	sti
	nop
	nop
	nop
	cli
	apic_eoi
	ret

	.balign 2
order:	.word 0x85, 0x185, 0x80, 0x180, 0x45, 0x145, 0x40, 0x140
order_end:
tpr_blocks: .word 0x60, 0x160
tpr_blocks_end:
nested:	.word 0x30, 0x90, 0x190, 0x130
nested_end:
	irq_lib
