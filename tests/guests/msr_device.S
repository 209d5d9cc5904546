/* MSRs and CPUID features a device registered (kev/device_hooks.h), seen
 * from the guest. RDI = 1: the test device is registered (it owns
 * IA32_APIC_BASE and MSR_DEVICE, and its CPUID hook shows x2APIC and
 * TSC-deadline); RDI = 0: nothing is registered and both features are
 * hidden. RSI says how to end: 0 exit 0; 1 and 2 write a value at which the
 * device stops the VM, with (1) or without (2) a reason. */
#include "tests/guests/guest.h"
#include "tests/guests/irq.h"
#define MSR_DEVICE 0x40000080
#define FEATURES ((1 << 21) | (1 << 24))
	.text
	.global guest_start
guest_start:
	movq %rdi, %r12
	movq %rsi, %r13
	idt_setup
	movl $1, %eax
	xorl %ecx, %ecx
	cpuid
	andl $FEATURES, %ecx
	testq %r12, %r12
	jnz 1f
	cmpl $0, %ecx
	expect_eq $1
	guest_exit $0
1:	cmpl $FEATURES, %ecx
	expect_eq $2

	movl $0x1b, %ecx                 /* the device's APIC_BASE, not kev's */
	rdmsr
	cmpl $0x12345000, %eax
	expect_eq $3

	movl $MSR_DEVICE, %ecx
	movl $0x55667788, %eax
	movl $0x11223344, %edx
	wrmsr
	movq $-1, %rax
	movq $-1, %rdx
	rdmsr
	movabsq $0x55667788, %rbx
	cmpq %rbx, %rax
	expect_eq $4
	movabsq $0x11223344, %rbx
	cmpq %rbx, %rdx
	expect_eq $5

	movl $0xbad, %eax                /* refused: #GP(0) at the WRMSR */
	xorl %edx, %edx
	wrmsr
	expect_count 13, $1, 6
	cmpq $0, gp_error(%rip)
	expect_eq $7
	rdmsr
	cmpl $0x55667788, %eax           /* unchanged */
	expect_eq $8

	testq %r13, %r13
	jnz 2f
	guest_exit $0
2:	leal 0x56ff(%r13d), %eax         /* 0x5700 or 0x5701 */
	xorl %edx, %edx
	wrmsr
	guest_exit $9                    /* the device should have stopped the VM */

/* #GP: keep the error code, step over the 2-byte WRMSR. */
guest_irq:
	cmpq $13, %rdi
	jne 1f
	movq irq_frame_rip(%rip), %rax
	movq -8(%rax), %rcx
	movq %rcx, gp_error(%rip)
	addq $2, (%rax)
1:	ret

	.balign 8
gp_error: .quad -1
	irq_lib
