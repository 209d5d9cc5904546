/* The scheduler tick on the x2APIC TSC-deadline timer (under kev).
 *
 * Each CPU keeps the deadline its next tick is armed for. The interrupt
 * handler arms the next one a period after the previous deadline, not after
 * "now", so the ticks keep their rate whatever the handler's delay; a
 * deadline already past (the vCPU did not run for more than a period) is
 * replaced by now + period: missed ticks are dropped, as a periodic timer
 * drops them. Then the scheduler's tick runs, which may switch threads (so
 * it comes last). trap_dispatch has already sent the EOI.
 *
 * An interrupt can only be taken with RFLAGS.IF set; the handler checks the
 * interrupted context's flag and panics with the diagnosis if a hypervisor
 * injected one while it was clear. */
#include "keos/dev/x2apic_timer.h"
#include "keos/arch/cpu.h"
#include "keos/arch/guest.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"

#define MSR_X2APIC_TPR          0x808
#define MSR_X2APIC_EOI          0x80b
#define MSR_X2APIC_SVR          0x80f
#define MSR_X2APIC_LVT_TIMER    0x832
#define MSR_X2APIC_LVT_LINT0    0x835
#define MSR_X2APIC_LVT_LINT1    0x836
#define MSR_TSC_DEADLINE        0x6e0
#define APIC_BASE_EXTD          (1ull << 10)
#define APIC_BASE_EN            (1ull << 11)
#define SVR_ENABLE              (1u << 8)
#define LVT_MASKED              (1u << 16)
#define LVT_TIMER_TSC_DEADLINE  (2u << 17)

/* Each CPU's next deadline; only that CPU touches its slot. */
static uint64_t next_deadline[MAX_CPUS];
static x2apic_timer_observer observer;

uint64_t x2apic_timer_period(void)
{
	return guest_tsc_per_tick();
}

static void arm(uint64_t deadline)
{
	next_deadline[cpu_current()->id] = deadline;
	wrmsr(MSR_TSC_DEADLINE, deadline);
}

static void timer_interrupt(struct trapframe *tf)
{
	uint64_t now = rdtsc();
	if (!(tf->rflags & RFLAGS_IF))
		panic("x2apic timer: interrupt taken at rip 0x%lx while interrupts were disabled "
		      "(the hypervisor injected it with RFLAGS.IF clear)", tf->rip);
	uint64_t armed = next_deadline[cpu_current()->id];
	x2apic_timer_observer fn = __atomic_load_n(&observer, __ATOMIC_ACQUIRE);
	if (fn)
		fn(armed, now);
	uint64_t next = armed + x2apic_timer_period();
	arm(next > now ? next : now + x2apic_timer_period());
	sched_timer_tick();
}

void x2apic_timer_cpu_start(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(MSR_X2APIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
	wrmsr(MSR_X2APIC_TPR, 0);
	wrmsr(MSR_X2APIC_LVT_LINT0, LVT_MASKED);
	wrmsr(MSR_X2APIC_LVT_LINT1, LVT_MASKED);
	irq_register(VECTOR_TIMER, timer_interrupt);
	wrmsr(MSR_X2APIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | VECTOR_TIMER);
	arm(rdtsc() + x2apic_timer_period());
}

void x2apic_timer_eoi(void)
{
	wrmsr(MSR_X2APIC_EOI, 0);
}

void x2apic_timer_observe(x2apic_timer_observer fn)
{
	__atomic_store_n(&observer, fn, __ATOMIC_RELEASE);
}
