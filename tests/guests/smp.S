/* Two vCPUs: vCPU 0 starts vCPU 1, which stores its vCPU index; vCPU 0 waits
 * for it (bounded) and exits 0 if it saw 1. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movq $1, %rdi
	leaq ap_entry(%rip), %rsi
	leaq ap_stack_top(%rip), %rdx
	hypercall $KEV_HC_START_VCPU
	cmpq $0, %rax
	expect_eq $1
	movq $1, %rdi                 /* starting it twice is refused */
	leaq ap_entry(%rip), %rsi
	leaq ap_stack_top(%rip), %rdx
	hypercall $KEV_HC_START_VCPU
	cmpq $KEV_HC_EINVAL, %rax
	expect_eq $2
	movq $500000000, %rcx
1:	cmpq $0, ap_flag(%rip)
	jne 2f
	pause
	decq %rcx
	jnz 1b
	guest_exit $3                 /* the AP never ran */
2:	cmpq $2, ap_flag(%rip)        /* vCPU index 1, plus 1 */
	expect_eq $4
	guest_exit $0

ap_entry:
	pushq $0                      /* the stack works */
	popq %rax
	hypercall $KEV_HC_VCPU_ID
	incq %rax
	movq %rax, ap_flag(%rip)
3:	pause                         /* runs until vCPU 0 ends the VM */
	jmp 3b

	.balign 8
ap_flag: .quad 0
	.balign 16
	.fill 512, 1, 0
ap_stack_top:
