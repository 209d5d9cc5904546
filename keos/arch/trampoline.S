/* The application-processor trampoline. A STARTUP IPI starts an AP in real
 * mode at physical TRAMPOLINE_PA; smp.c copies this code there first and
 * fills in the two words at its end (stack top and struct cpu pointer).
 * The code is linked in the kernel image but runs from the copy, so every
 * address below is computed relative to the copy. */
#define TRAMPOLINE_PA 0x8000
#define REL(x) (TRAMPOLINE_PA + (x) - ap_trampoline_start)

	.section .rodata
	.global ap_trampoline_start, ap_trampoline_end
	.global ap_trampoline_stack, ap_trampoline_cpu
	.code16
ap_trampoline_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl REL(tramp_gdt_desc)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x18, $REL(tramp32)

	.code32
tramp32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $0xC0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80010000, %eax
	mov %eax, %cr0
	ljmp $0x08, $REL(tramp64)

	.code64
tramp64:
	mov REL(ap_trampoline_stack), %rsp
	mov REL(ap_trampoline_cpu), %rdi
	xor %ebp, %ebp
	movabs $ap_start, %rax
	call *%rax
1:	hlt
	jmp 1b

	.align 16
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cf9a000000ffff
tramp_gdt_desc:
	.word tramp_gdt_desc - tramp_gdt - 1
	.long REL(tramp_gdt)
	.align 8
ap_trampoline_stack:
	.quad 0
ap_trampoline_cpu:
	.quad 0
ap_trampoline_end:
