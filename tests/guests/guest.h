/* Shared by kev's test guests (tests/guests/*.S).
 *
 * Each guest is a flat 64-bit binary linked at 0x10000 (KEV_FLAT_LOAD_GPA)
 * and started by vm_load_flat64(): long mode, CPL 0, interrupts off, an
 * identity map of the first 4 GiB, RSP at the top of guest RAM. The host may
 * set RDI/RSI before the run to pass parameters. A guest ends by writing its
 * status to the exit port; by convention 0 means every check passed and a
 * small number names the check that failed. */
#ifndef TESTS_GUESTS_GUEST_H
#define TESTS_GUESTS_GUEST_H
#include "kev/hypercall.h"

#define GUEST_EXIT_PORT     0xf4
#define GUEST_EXIT_PORT_KEV 0x604
#define GUEST_COM1          0x3f8

/* Ends the VM with status (an immediate or a register); never returns. */
.macro guest_exit status
	movl \status, %eax
	outl %eax, $GUEST_EXIT_PORT
.Lhalt\@:
	cli
	hlt
	jmp .Lhalt\@
.endm

/* Exits with status unless the flags say "equal" (after a cmp). The macros
 * use only .L labels, so a guest's own numeric labels (1:, 1f) stay its own. */
.macro expect_eq status
	je .Lequal\@
	guest_exit \status
.Lequal\@:
.endm

/* A hypercall: nr in RAX, arguments in RDI, RSI, RDX, R10; result in RAX. */
.macro hypercall nr
	movq \nr, %rax
	vmmcall
.endm

/* Prints the NUL-terminated string at label on COM1, polling the line status. */
.macro serial_puts label
	leaq \label(%rip), %rsi
	call guest_serial_puts
.endm

/* The routine serial_puts calls; include once per guest, after the code. */
.macro guest_serial_lib
guest_serial_puts:
	movw $GUEST_COM1 + 5, %dx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	movb (%rsi), %al
	testb %al, %al
	jz 2f
	movw $GUEST_COM1, %dx
	outb %al, %dx
	incq %rsi
	jmp guest_serial_puts
2:	ret
.endm
#endif
