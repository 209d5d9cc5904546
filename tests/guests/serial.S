/* Console output through COM1, as a keos guest prints. */
#include "tests/guests/guest.h"
	.text
	.global guest_start
guest_start:
	movw $GUEST_COM1 + 3, %dx     /* DLAB on: the next data write is the divisor */
	movb $0x80, %al
	outb %al, %dx
	movw $GUEST_COM1, %dx
	movb $0x01, %al
	outb %al, %dx
	movw $GUEST_COM1 + 3, %dx     /* 8N1, DLAB off */
	movb $0x03, %al
	outb %al, %dx
	serial_puts hello
	serial_puts second
	serial_puts partial           /* no newline: kev flushes it when the VM ends */
	guest_exit $0
	guest_serial_lib
hello:	.asciz "hello from the guest\r\n"
second:	.asciz "second line\n"
partial: .asciz "no newline"
