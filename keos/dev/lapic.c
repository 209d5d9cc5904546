/* Local APIC, through its MMIO page at 0xfee00000 (in the direct map).
 * The timer's frequency is unknown (QEMU and real parts differ), so the
 * bootstrap CPU counts timer ticks (and TSC cycles) across a 10 ms PIT wait
 * once; every CPU then runs its timer in one-shot mode, programmed by
 * keos/thread/hrtimer.c from those two rates.
 *
 * The interrupt command register is two writes (destination, then command):
 * senders keep interrupts off across the pair, so an interrupt handler that
 * sends an IPI (a timer callback kicking a vCPU) cannot slip its own
 * destination in between. */
#include "keos/dev/lapic.h"
#include "keos/dev/pit.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/mm/vm.h"
#include "keos/lib/printk.h"

#define LAPIC_PA      0xfee00000u
#define REG_ID        0x020
#define REG_EOI       0x0b0
#define REG_SVR       0x0f0
#define REG_ICR_LO    0x300
#define REG_ICR_HI    0x310
#define REG_LVT_TIMER 0x320
#define REG_TIMER_INIT 0x380
#define REG_TIMER_CUR 0x390
#define REG_TIMER_DIV 0x3e0
#define ICR_PENDING   (1u << 12)
#define LVT_MASKED    (1u << 16)

static uint32_t timer_ticks_per_sec;
static uint32_t tsc_khz_measured;

uint32_t tsc_khz(void)
{
	return tsc_khz_measured;
}

static volatile uint32_t *reg(uint32_t off)
{
	return (volatile uint32_t *)((char *)phys_to_virt(LAPIC_PA) + off);
}

void lapic_init(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
	*reg(REG_SVR) = 0x100 | VECTOR_SPURIOUS;
	*reg(REG_LVT_TIMER) = LVT_MASKED;
}

uint32_t lapic_id(void)
{
	return *reg(REG_ID) >> 24;
}

void lapic_eoi(void)
{
	*reg(REG_EOI) = 0;
}

void lapic_timer_calibrate(void)
{
	*reg(REG_TIMER_DIV) = 0x3;            /* divide by 16 */
	*reg(REG_LVT_TIMER) = LVT_MASKED;
	*reg(REG_TIMER_INIT) = 0xffffffffu;
	uint64_t tsc0 = rdtsc();
	pit_delay_us(10000);
	uint32_t elapsed = 0xffffffffu - *reg(REG_TIMER_CUR);
	tsc_khz_measured = (uint32_t)((rdtsc() - tsc0) / 10);
	*reg(REG_TIMER_INIT) = 0;
	timer_ticks_per_sec = elapsed * 100u;
	if (timer_ticks_per_sec == 0)
		panic("local APIC timer does not count");
}

uint64_t lapic_timer_hz(void)
{
	return timer_ticks_per_sec;
}

void lapic_timer_oneshot(uint32_t count)
{
	*reg(REG_TIMER_DIV) = 0x3;
	*reg(REG_LVT_TIMER) = VECTOR_TIMER;      /* one-shot */
	*reg(REG_TIMER_INIT) = count ? count : 1;
}

static void icr_send(uint32_t hi, uint32_t lo)
{
	bool on = intr_save();
	*reg(REG_ICR_HI) = hi;
	*reg(REG_ICR_LO) = lo;
	while (*reg(REG_ICR_LO) & ICR_PENDING)
		pause();
	intr_restore(on);
}

void lapic_start_ap(uint32_t apic_id, uint8_t vector_page)
{
	icr_send(apic_id << 24, 0x00004500);            /* INIT, assert */
	pit_delay_us(10000);
	for (int i = 0; i < 2; i++) {
		icr_send(apic_id << 24, 0x00004600 | vector_page);  /* STARTUP */
		pit_delay_us(200);
	}
}

void lapic_ipi_others(uint8_t vector)
{
	icr_send(0, 0x000c4000 | vector);   /* all excluding self, fixed, assert */
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	icr_send(apic_id << 24, 0x00004000 | vector);   /* physical destination, fixed, assert */
}

void lapic_send_nmi(uint32_t apic_id)
{
	icr_send(apic_id << 24, 0x00004400);            /* physical destination, NMI, assert */
}
