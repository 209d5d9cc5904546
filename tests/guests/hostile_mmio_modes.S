/* Legitimate device accesses from 64-bit, 32-bit and 16-bit code
 * (tests/kernel/test_kev_hostile_mmio.c checks what the device received).
 *
 * The guest loads its own GDT, then from 64-bit mode stores to the device,
 * far-returns into a 32-bit code segment (compatibility mode) for a moffs32
 * store and load, and into a 16-bit code segment (base 0x10000, so IP fits
 * in 16 bits) for stores and a load through DS with base DEV, a moffs16 and
 * a 32-bit address (67). Reads must return the device's answer
 * 0x1122334455667788 cut to their size; each check that fails exits with
 * its own status, and a wrong instruction length would run garbage. The
 * accesses, in order:
 *
 *   64-bit  write 4 at DEV+0x30 = 0x64646464     c7 43 30 imm32
 *   32-bit  write 4 at DEV+0x10 = 0xcafe         a3 moffs32
 *           read  4 at DEV+0x14                   a1 moffs32
 *   16-bit  write 4 at DEV+0x40 = 0x16161616     67 66 a3 moffs32 (DS base 0)
 *           write 2 at DEV+0x10 = 0xbeef         89 07: [bx], DS base DEV
 *           write 4 at DEV+0x20 = 0x32323232     66 a3 moffs16
 *           read  2 at DEV+0x24                   a1 moffs16
 *           write 2 at DEV+0x50 = 0x5050         89 07 at IP 0xfffe: IP wraps to 0 */
#include "tests/guests/guest.h"

#define DEV 0x40000000
#define CODE16_BASE 0x10000

	.text
	.global guest_start
	.code64
guest_start:
	lgdt gdt_desc(%rip)
	movq $DEV, %rbx
	movl $0x64646464, 0x30(%rbx)
	pushq $0x18
	pushq $code32
	lretq

	.code32
code32:
	movl $0xcafe, %eax
	movl %eax, DEV + 0x10
	movl DEV + 0x14, %eax
	cmpl $0x55667788, %eax
	expect_eq $32
	ljmp $0x08, $back_from_32

	.code64
back_from_32:
	pushq $0x20
	pushq $(code16 - CODE16_BASE)
	lretq

	.code16
code16:
	movl $0x16161616, %eax
	addr32 movl %eax, DEV + 0x40
	movw $0x28, %cx
	movw %cx, %ds
	movw $0x10, %bx
	movw $0xbeef, %ax
	movw %ax, (%bx)
	movl $0x32323232, %eax
	movl %eax, 0x20
	movw 0x24, %ax
	cmpw $0x7788, %ax
	expect_eq $16
	movw $0x10, %cx
	movw %cx, %ds
	ljmpl $0x08, $back_from_16

	.code64
/* A 16-bit code segment at 0x20000 with "movw %ax, (%bx)" at its last two
 * bytes and "ljmpl $0x08, $back_from_wrap" at IP 0. */
back_from_16:
	movw $0x0789, 0x2fffe
	movw $0xea66, 0x20000
	movl $back_from_wrap, 0x20002
	movw $0x08, 0x20006
	movw $0x28, %cx
	movw %cx, %ds
	movw $0x50, %bx
	movw $0x5050, %ax
	pushq $0x30
	pushq $0xfffe
	lretq

back_from_wrap:
	movw $0x10, %cx
	movw %cx, %ds
	guest_exit $0

	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff    /* 0x10: flat data */
	.quad 0x00cf9a000000ffff    /* 0x18: 32-bit code, flat */
	.quad 0x00009a010000ffff    /* 0x20: 16-bit code, base 0x10000, limit 0xffff */
	.quad 0x400092000000ffff    /* 0x28: 16-bit data, base 0x40000000, limit 0xffff */
	.quad 0x00009a020000ffff    /* 0x30: 16-bit code, base 0x20000, limit 0xffff */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
