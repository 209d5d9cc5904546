/* PIT channel 2 in one-shot mode, gated by port 0x61: its output bit (5)
 * rises when the count reaches zero. Its input clock is 1.193182 MHz. */
#include "keos/dev/pit.h"
#include "keos/arch/x86.h"

#define PIT_HZ 1193182u

void pit_delay_us(uint32_t us)
{
	if (us > 50000)
		us = 50000;
	uint32_t count = (uint32_t)((uint64_t)PIT_HZ * us / 1000000u);
	if (count < 1)
		count = 1;
	uint8_t gate = inb(0x61);
	outb(0x61, (gate & ~0x02) | 0x01);       /* gate on, speaker off */
	outb(0x43, 0xb0);                          /* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, (count >> 8) & 0xff);
	while (!(inb(0x61) & 0x20))
		pause();
	outb(0x61, gate);
}
