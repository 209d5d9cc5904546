/* Boot: from the multiboot loader's 32-bit protected mode to 64-bit C.
 *
 * QEMU's -kernel (and kev, for a guest keos) enters _start32 in 32-bit
 * protected mode with paging off, EAX = multiboot magic, EBX = physical
 * address of the multiboot information. Everything here runs at its physical
 * address (the .boot section is linked low); the page tables are static data:
 *
 *   boot_pml4   [0] identity 0-4 GiB, [256] direct map 0-4 GiB at
 *               PHYS_MAP_BASE, [511] kernel image at KERNBASE (-2 GiB)
 *   kernel_pml4 the same without the identity map; C switches to it once it
 *               no longer runs at low addresses (null pointers then fault).
 *
 * The multiboot header uses the address fields (flag 16) so that loaders
 * need not understand a 64-bit ELF: the file from the header on is loaded
 * flat at 1 MiB (tools/check_kernel_layout.sh verifies the ELF is laid out so). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))
#define PTE_P  0x1
#define PTE_W  0x2
#define PTE_PS 0x80

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header
	.long _load_start_phys
	.long _load_end_phys
	.long _bss_end_phys
	.long _start32

	.section .boot.text, "ax"
	.code32
	.global _start32
_start32:
	cli
	mov %eax, %edi            /* multiboot magic -> first C argument */
	mov %ebx, %esi            /* multiboot info  -> second C argument */
	mov %cr4, %eax
	or $0x20, %eax            /* PAE */
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $0xC0000080, %ecx     /* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80010001, %eax      /* PG | WP | PE */
	mov %eax, %cr0
	lgdt boot_gdt_desc
	ljmp $0x08, $start64_low

	.code64
start64_low:
	movabs $start64, %rax
	jmp *%rax

	.section .boot.data, "aw"
	.align 16
	.global boot_gdt
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff  /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff  /* 0x10: data */
	.quad 0x00cf9a000000ffff  /* 0x18: 32-bit code (AP trampoline) */
boot_gdt_end:
	.global boot_gdt_desc
boot_gdt_desc:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.align 4096
	.global boot_pml4
boot_pml4:
	.quad pdpt_low + (PTE_P | PTE_W)
	.fill 255, 8, 0
	.quad pdpt_low + (PTE_P | PTE_W)
	.fill 254, 8, 0
	.quad pdpt_high + (PTE_P | PTE_W)

	.global kernel_pml4
kernel_pml4:
	.quad 0
	.fill 255, 8, 0
	.quad pdpt_low + (PTE_P | PTE_W)
	.fill 254, 8, 0
	.quad pdpt_high + (PTE_P | PTE_W)

pdpt_low:
	.quad pd0 + (PTE_P | PTE_W)
	.quad pd1 + (PTE_P | PTE_W)
	.quad pd2 + (PTE_P | PTE_W)
	.quad pd3 + (PTE_P | PTE_W)
	.fill 508, 8, 0

pdpt_high:
	.fill 510, 8, 0
	.quad pd0 + (PTE_P | PTE_W)
	.quad pd1 + (PTE_P | PTE_W)

	/* 2048 2 MiB pages: physical 0 - 4 GiB. */
pd0:
	.set i, 0
	.rept 2048
	.quad (i << 21) + (PTE_P | PTE_W | PTE_PS)
	.set i, i + 1
	.endr
	pd1 = pd0 + 4096
	pd2 = pd0 + 8192
	pd3 = pd0 + 12288

	.text
	.code64
start64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	movabs $boot_stack_top, %rsp
	xor %ebp, %ebp
	mov %edi, %edi            /* upper halves are undefined after the mode switch */
	mov %esi, %esi
	call arch_start
1:	cli
	hlt
	jmp 1b

	.bss
	.align 16
	.global boot_stack_bottom
boot_stack_bottom:
	.skip 16384
	.global boot_stack_top
boot_stack_top:
