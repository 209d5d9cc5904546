/* Events around an interrupt's delivery:
 *  1. a handler's #GP and a raise at the same exit: the #GP runs first, the
 *     interrupt right after its IRET;
 *  2. delivery of 0x60 faults on a stack page the nested table lacks
 *     (gpa 0x200000): after the host maps it, 0x60 arrives exactly once;
 *  3. the same at gpa 0x202000, where the host also injects #GP: #GP first,
 *     then 0x61 exactly once. */
#include "tests/guests/guest.h"
#include "tests/guests/irq.h"
	.text
	.global guest_start
guest_start:
	idt_setup
	movq $3, gp_skip(%rip)           /* #GP on the VMMCALL: skip it */
	sti
	movq $0x50, %rdi
	hypercall $HC_TEST_RAISE_AND_GP
	nop
	cli
	expect_log gp_first, 1

	movq $0, irq_log_len(%rip)
	movq %rsp, %rbx
	movq $0x201000, %rsp
	sti
	raise $0x60
	nop
	cli
	movq %rbx, %rsp
	expect_count 0x60, $1, 2
	expect_log once, 3

	movq $0, irq_log_len(%rip)
	movq $0, gp_skip(%rip)           /* #GP injected between instructions */
	movq $0x203000, %rsp
	sti
	raise $0x61
	nop
	cli
	movq %rbx, %rsp
	expect_count 0x61, $1, 4
	expect_log gp_then_61, 5
	guest_exit $0

guest_irq:
	cmpq $13, %rdi
	jne 1f
	movq irq_frame_rip(%rip), %rax
	movq gp_skip(%rip), %rcx
	addq %rcx, (%rax)
	ret
1:	apic_eoi
	ret

	.balign 8
gp_skip: .quad 0
gp_first: .word 13, 0x10d, 0x50, 0x150
gp_first_end:
once:	.word 0x60, 0x160
once_end:
gp_then_61: .word 13, 0x10d, 0x61, 0x161
gp_then_61_end:
	irq_lib
