/* A guest that tries to make kev's MMIO controller deliver an access the CPU
 * did not make (tests/kernel/test_kev_hostile_mmio.c). RDI picks the attack:
 *
 *   1  its page table lies in the device's read-only page: the walk's own
 *      accessed-bit write faults (NPF with the guest-page-table bit)
 *   2  its page table lies in the device's unmapped page (the same, on a read)
 *   3  an instruction whose last bytes lie in the device's read-only page:
 *      an instruction fetch fault, whose bytes decode as a store
 *   4  a 4-byte store with two bytes in RAM and two in the device's page
 *   5  a PTE changed without INVLPG: the CPU runs a store to register 0 from
 *      the page it still has in its TLB, kev reads a store to register 8
 *   6  the same, but kev reads a load (from register 8)
 *   7  a software interrupt whose stack lies in the device's page
 *   8  a 4-byte store whose last two bytes lie past the end of the device's
 *      region (which ends in the middle of DEV_RO)
 *   9  as 5, but kev reads a store to the same device address through a
 *      read-only mapping of the window (the CPU would fault on it)
 *  10  as 5, but the PTE of the code page is cleared: kev cannot read the
 *      instruction at all
 *
 * The device (set up by the host) has two pages: DEV, not mapped in the
 * nested table (every access exits), and DEV_RO, mapped read-only (writes
 * exit). The guest remaps the 2 MiB of virtual addresses at WINDOW with a page
 * table of its own (PD entry 3 of the flat boot's tables, at 0x3018). Every
 * attack ends with the VM stopped by kev; a guest that gets past its attack
 * exits with a status that names it (5x for the stale-TLB attacks, which
 * retry a few hundred times in case a VM exit flushed the TLB in between). */
#include "tests/guests/guest.h"

#define DEV       0x40000000
#define DEV_RO    0x40001000
#define WINDOW    0x600000
#define PD_ENTRY  0x3018         /* PD[3]: virtual 0x600000-0x7fffff */
#define PT        0x80000        /* the guest's page table */
#define PAGE_A    0x81000
#define PAGE_B    0x82000
#define IDT       0x83000
#define PTE_PW    3              /* present, writable */
#define RET       0xc3

	.text
	.global guest_start
guest_start:
	cmpq $1, %rdi
	je pt_in_readonly_page
	cmpq $2, %rdi
	je pt_in_unmapped_page
	cmpq $3, %rdi
	je fetch_from_device
	cmpq $4, %rdi
	je split_store
	cmpq $5, %rdi
	je stale_tlb_other_register
	cmpq $6, %rdi
	je stale_tlb_load
	cmpq $7, %rdi
	je stack_in_device
	cmpq $8, %rdi
	je past_region_end
	cmpq $9, %rdi
	je stale_tlb_read_only
	cmpq $10, %rdi
	je stale_tlb_not_present
	guest_exit $99

/* Points PD[3] at \table (a page-table page) and flushes the window. */
.macro window_table table
	movq $(\table + PTE_PW), %rax
	movq %rax, PD_ENTRY
	movq %cr3, %rax
	movq %rax, %cr3
.endm

/* PT[\index] := \page, then flushes that page of the window. */
.macro window_page index, page
	movq $(\page + PTE_PW), %rax
	movq %rax, PT + 8 * \index
	invlpg WINDOW + 0x1000 * \index
.endm

pt_in_readonly_page:
	window_table DEV_RO
	movl $0x1234, WINDOW
	guest_exit $51

pt_in_unmapped_page:
	window_table DEV
	movl $0x1234, WINDOW
	guest_exit $52

/* movl $0xdeadbeef, (%rax): c7 00 | ef be ad de. The host put "be ad de" at
 * the start of DEV_RO; the first three bytes end PAGE_A. */
fetch_from_device:
	window_table PT
	window_page 0, PAGE_A
	window_page 1, DEV_RO
	movl $0xef00c7, PAGE_A + 0xffd       /* c7 00 ef, then the page ends */
	movq $DEV, %rax
	movq $(WINDOW + 0xffd), %rbx
	jmp *%rbx

split_store:
	window_table PT
	window_page 0, PAGE_A
	window_page 1, DEV
	movl $0x11223344, WINDOW + 0xffe
	guest_exit $54

/* Fills the first 64 bytes of PAGE_A and PAGE_B with RET, then puts
 * "movl %ecx, (%rax)" at PAGE_A + 16 and the 8 bytes in RDX at PAGE_B + 16. */
.macro two_code_pages
	movq $PAGE_A, %rdi
	movl $RET, %eax
	movl $64, %ecx
	rep stosb
	movq $PAGE_B, %rdi
	movl $64, %ecx
	rep stosb
	movw $0x0889, PAGE_A + 16            /* 89 08: movl %ecx, (%rax) */
	movq %rdx, PAGE_B + 16
	window_table PT
.endm

/* Runs the store at WINDOW + 16 with the window's TLB entry still on PAGE_A
 * while the PTE already says \pte (PAGE_B by default); up to 500 tries,
 * then exits with \status. */
.macro stale_tlb_store status, pte=(PAGE_B + PTE_PW)
	movl $500, %r12d
1:	window_page 0, PAGE_A
	call WINDOW                           /* a RET: loads the TLB entry */
	movq $\pte, %rax
	movq %rax, PT                         /* no INVLPG */
	movq $DEV, %rax
	movl $0x600d, %ecx
	call WINDOW + 16
	decl %r12d
	jnz 1b
	guest_exit \status
.endm

stale_tlb_other_register:
	movabsq $0xc3deadbeef0840c7, %rdx    /* c7 40 08 ef be ad de: movl $0xdeadbeef, 8(%rax); ret */
	two_code_pages
	stale_tlb_store $55

stale_tlb_load:
	movq $0xc308488b, %rdx               /* 8b 48 08: movl 8(%rax), %ecx; ret */
	two_code_pages
	stale_tlb_store $56

stale_tlb_read_only:
	movq $0xc30b89, %rdx                 /* 89 0b: movl %ecx, (%rbx); ret */
	two_code_pages
	movq $(DEV + 1), %rax                /* present, not writable */
	movq %rax, PT + 8 * 2
	invlpg WINDOW + 0x2000
	movq $(WINDOW + 0x2000), %rbx
	stale_tlb_store $60

stale_tlb_not_present:
	movabsq $0xc3c3c3c3c3c3c3c3, %rdx
	two_code_pages
	stale_tlb_store $61, 0

/* An interrupt gate for vector 0x40 (64-bit, DPL 0, present) to the exit below. */
stack_in_device:
	leaq handler(%rip), %rax
	movw %ax, IDT + 0x40 * 16
	movw $0x08, IDT + 0x40 * 16 + 2
	movw $0x8e00, IDT + 0x40 * 16 + 4
	shrq $16, %rax
	movw %ax, IDT + 0x40 * 16 + 6
	shrq $16, %rax
	movl %eax, IDT + 0x40 * 16 + 8
	lidt idt_desc(%rip)
	movq $(DEV + 0x800), %rsp
	int $0x40
	guest_exit $57
handler:
	guest_exit $58

past_region_end:
	movl $1, DEV_RO + 0x7fe
	guest_exit $59

	.balign 8
idt_desc:
	.word 0x41 * 16 - 1
	.quad IDT
