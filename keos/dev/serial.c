/* COM1 UART. QEMU's -nographic routes it to the terminal. Output is polled:
 * the transmit-holding-register-empty bit is checked before each byte, so a
 * panic can print with interrupts off and locks broken. */
#include "keos/dev/serial.h"
#include "keos/arch/x86.h"

#define COM1 0x3f8
#define LSR_THR_EMPTY 0x20

void serial_init(void)
{
	outb(COM1 + 1, 0x00);   /* no interrupts */
	outb(COM1 + 3, 0x80);   /* DLAB to set the divisor */
	outb(COM1 + 0, 0x01);   /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* 8N1 */
	outb(COM1 + 2, 0xc7);   /* FIFOs on */
	outb(COM1 + 4, 0x03);
}

static void put_raw(char c)
{
	for (int spins = 0; spins < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); spins++)
		pause();
	outb(COM1, (uint8_t)c);
}

void serial_putc(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}
