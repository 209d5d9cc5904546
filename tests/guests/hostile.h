/* Shared by the hostile guests (tests/guests/hostile_*.S).
 *
 * A hostile guest checks what the CPU answers it, so it needs what a small
 * kernel has: hostile_setup gives it
 *   - an IDT (at HG_IDT) whose handlers for vectors 0-31 record the exception
 *     (vector, error code, RIP) at fixed addresses and resume where the test
 *     armed them to (hg_arm), or exit with status 200 + vector if nothing was
 *     armed: the host test then says which exception nobody expected;
 *   - its own GDT: kernel code and data (0x08, 0x10, as the flat boot's),
 *     user data and 64-bit code (HG_UDATA, HG_UCODE, DPL 3), a 32-bit code
 *     segment (HG_CODE32) and a 16-bit one based at the image (HG_CODE16),
 *     and a TSS (HG_TSS) whose RSP0 (HG_RSP0) takes exceptions from ring 3.
 * The host test clears kev's exception intercepts, so exceptions reach this
 * IDT. The guest's fixed data lives below the image, in RAM the flat boot
 * leaves free (0x8000-0xffff). */
#ifndef TESTS_GUESTS_HOSTILE_H
#define TESTS_GUESTS_HOSTILE_H
#include "tests/guests/guest.h"

#define HG_IDT       0x8000      /* 256 gates, 4 KiB */
#define HG_TSS       0x9000      /* the 64-bit TSS (104 bytes) */
#define HG_VARS      0xa000      /* the recorded exception */
#define HG_COUNT     (HG_VARS + 0x00)   /* exceptions taken since hg_arm */
#define HG_VECTOR    (HG_VARS + 0x08)
#define HG_ERROR     (HG_VARS + 0x10)
#define HG_RIP       (HG_VARS + 0x18)
#define HG_RESUME    (HG_VARS + 0x20)   /* where the next exception resumes; 0: unexpected */
#define HG_USER_STACK 0x90000
#define HG_RSP0      0xe0000

#define HG_KCODE     0x08
#define HG_KDATA     0x10
#define HG_UDATA     (0x18 | 3)
#define HG_UCODE     (0x20 | 3)
#define HG_CODE32    0x28
#define HG_CODE16    0x30
#define HG_TSS_SEL   0x38
#define HG_IMAGE     0x10000     /* where the flat boot loads the guest: HG_CODE16's base */

/* The flat boot's page tables (kev/vm.h). */
#define KEV_FLAT_PML4 0x1000
#define KEV_FLAT_PDPT 0x2000
#define KEV_FLAT_PD   0x3000

/* Loads the GDT, the TSS and the IDT; the flat boot's segments stay valid. */
.macro hostile_setup
	lgdt hg_gdt_desc(%rip)
	pushq $HG_KCODE
	leaq .Lreloaded\@(%rip), %rax
	pushq %rax
	lretq
.Lreloaded\@:
	movw $HG_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq $HG_RSP0, HG_TSS + 4
	movw $104, HG_TSS + 102      /* no I/O permission bitmap */
	movw $HG_TSS_SEL, %ax
	ltr %ax
	call hg_build_idt
	lidt hg_idt_desc(%rip)
	movq $0, HG_RESUME
.endm

/* Points gate vector at handler (a DPL 0 interrupt gate). */
.macro hg_set_gate vector, handler
	leaq \handler(%rip), %rax
	movq $HG_IDT + 16 * \vector, %rdi
	call hg_write_gate
.endm

/* The next exception resumes at label resume; the record is cleared. */
.macro hg_arm resume
	movq $\resume, HG_RESUME
	movq $0, HG_COUNT
	movq $-1, HG_VECTOR
.endm

/* Exits with status unless exactly one exception, vector with error code
 * err, was taken at the instruction at label at. */
.macro hg_expect vector, err, at, status
	cmpq $1, HG_COUNT
	expect_eq \status
	cmpq $\vector, HG_VECTOR
	expect_eq \status
	cmpq $\err, HG_ERROR
	expect_eq \status
	cmpq $\at, HG_RIP
	expect_eq \status
.endm

/* Lets ring 3 at the first 2 MiB (the U bit in the flat boot's tables) and
 * enters user mode at label entry with I/O allowed (IOPL 3). */
.macro hg_enter_user entry
	orq $4, KEV_FLAT_PML4
	orq $4, KEV_FLAT_PDPT
	orq $4, KEV_FLAT_PD
	movq %cr3, %rax
	movq %rax, %cr3
	pushq $HG_UDATA
	pushq $HG_USER_STACK
	pushq $0x3002
	pushq $HG_UCODE
	pushq $\entry
	iretq
.endm
/* The routines and tables; include once per guest, after the code. */
.macro hostile_lib
	.balign 16
hg_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	.if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq $0                     /* no error code: push one, for one frame layout */
	.endif
	pushq $\v
	jmp hg_fault
	.endr

/* Records the exception and resumes at HG_RESUME (once). */
hg_fault:
	pushq %rax
	movq 8(%rsp), %rax
	movq %rax, HG_VECTOR
	movq 16(%rsp), %rax
	movq %rax, HG_ERROR
	movq 24(%rsp), %rax
	movq %rax, HG_RIP
	incq HG_COUNT
	movq HG_RESUME, %rax
	testq %rax, %rax
	jz 1f
	movq %rax, 24(%rsp)
	movq $0, HG_RESUME
	popq %rax
	addq $16, %rsp
	iretq
1:	movq 8(%rsp), %rax           /* nobody expected it */
	addl $200, %eax
	outl %eax, $GUEST_EXIT_PORT
2:	cli
	hlt
	jmp 2b

/* Writes the gate at RDI: an interrupt gate to RAX in the kernel code segment. */
hg_write_gate:
	movw %ax, (%rdi)
	movw $HG_KCODE, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shrq $16, %rax
	movw %ax, 6(%rdi)
	shrq $16, %rax
	movl %eax, 8(%rdi)
	movl $0, 12(%rdi)
	ret

hg_build_idt:
	leaq hg_stubs(%rip), %rax
	movq $HG_IDT, %rdi
	movl $32, %ecx
1:	pushq %rax
	call hg_write_gate
	popq %rax
	addq $16, %rax
	addq $16, %rdi
	loop 1b
	ret

	.balign 8
hg_gdt:
	.quad 0
	.quad 0x00af9a000000ffff     /* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff     /* 0x10 kernel data */
	.quad 0x00cff2000000ffff     /* 0x18 user data, DPL 3 */
	.quad 0x00affa000000ffff     /* 0x20 user code, 64-bit, DPL 3 */
	.quad 0x00cf9a000000ffff     /* 0x28 code, 32-bit */
	.quad 0x00009a010000ffff     /* 0x30 code, 16-bit, base HG_IMAGE, limit 64 KiB */
	.quad 0x0000890090000067     /* 0x38 TSS at HG_TSS, 104 bytes (two slots) */
	.quad 0
hg_gdt_end:
hg_gdt_desc:
	.word hg_gdt_end - hg_gdt - 1
	.quad hg_gdt
hg_idt_desc:
	.word 256 * 16 - 1
	.quad HG_IDT
.endm
#endif
