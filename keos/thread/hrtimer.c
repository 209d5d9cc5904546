/* High-resolution timers and the scheduler tick on one one-shot interrupt.
 *
 * Each CPU has a sorted list of armed timers (hrtimer_list.c) under its own
 * spinlock, and the TSC value of its next scheduler tick. The local APIC
 * timer interrupt (VECTOR_TIMER):
 *   1. runs every expired timer, each with the list lock released (a
 *      callback may re-arm its timer) and recorded as `running`, so that
 *      hrtimer_cancel on another CPU can wait for it to return;
 *   2. if the tick is due, advances it by one period (a tick missed by more
 *      than a period is dropped, as a periodic timer would drop it);
 *   3. programs the one-shot counter for the earlier of the next tick and
 *      the earliest timer;
 *   4. then, if the tick was due, calls the scheduler's tick, which may
 *      switch threads (last, so that steps 1-3 finish first).
 * Arming a timer that becomes the earliest on the calling CPU reprograms the
 * counter at once. Arming on another CPU only links it: that CPU picks it
 * up when it next programs its counter, within one tick.
 *
 * TSC deltas convert to APIC counts with the two rates measured at boot
 * (lapic_timer_calibrate); a count is at least 1 (never "stop the timer"). */
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"
#include "keos/arch/cpu.h"
#include "keos/arch/guest.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "keos/lib/printk.h"
#include "keos/sync/spinlock.h"

struct hrtimer_cpu {
	struct spinlock lock;               /* list, next_tick */
	struct hrtimer_list list;
	uint64_t next_tick;                 /* TSC value of the next scheduler tick */
	struct hrtimer *volatile running;   /* the timer whose callback runs now */
};

static struct hrtimer_cpu hrt_cpus[MAX_CPUS] = {
	[0 ... MAX_CPUS - 1] = { .lock = SPINLOCK_INIT("hrtimer") },
};

uint64_t hrtimer_us_to_tsc(uint64_t us)
{
	return us * tsc_khz() / 1000;
}

uint64_t hrtimer_tsc_to_us(uint64_t tsc)
{
	uint64_t khz = tsc_khz();
	return khz ? tsc * 1000 / khz : 0;
}

static uint64_t tick_period(void)
{
	return (uint64_t)tsc_khz() * 1000 / TIMER_HZ;
}

/* Programs this CPU's counter for its next event; s->lock held. */
static void program(struct hrtimer_cpu *s)
{
	uint64_t target = hrtimer_list_next_deadline(&s->list);
	if (s->next_tick < target)
		target = s->next_tick;
	uint64_t now = rdtsc();
	uint64_t delta = target > now ? target - now : 0;
	uint64_t max_delta = (uint64_t)tsc_khz() * 1000;      /* one second: no overflow below */
	if (delta > max_delta)
		delta = max_delta;
	uint64_t count = delta * lapic_timer_hz() / ((uint64_t)tsc_khz() * 1000);
	lapic_timer_oneshot(count == 0 ? 1 : (uint32_t)count);
}

static void timer_interrupt(struct trapframe *tf)
{
	(void)tf;
	struct hrtimer_cpu *s = &hrt_cpus[cpu_current()->id];
	spin_lock(&s->lock);
	struct hrtimer *t;
	while ((t = hrtimer_list_pop_expired(&s->list, rdtsc()))) {
		s->running = t;
		spin_unlock(&s->lock);
		t->fn(t->arg);
		spin_lock(&s->lock);
		s->running = NULL;
	}
	uint64_t now = rdtsc();
	bool tick = now >= s->next_tick;
	if (tick) {
		s->next_tick += tick_period();
		if (s->next_tick <= now)
			s->next_tick = now + tick_period();
	}
	program(s);
	spin_unlock(&s->lock);
	if (tick)
		sched_timer_tick();
}

void hrtimer_cpu_start(void)
{
	if (keos_is_guest())
		panic("hrtimer_cpu_start: no local APIC timer under kev");
	struct cpu *c = cpu_current();
	struct hrtimer_cpu *s = &hrt_cpus[c->id];
	if (c->id == 0)
		irq_register(VECTOR_TIMER, timer_interrupt);
	spin_lock(&s->lock);
	s->next_tick = rdtsc() + tick_period();
	program(s);
	spin_unlock(&s->lock);
}

/* Removes t from whatever list it is on; true if it was armed. */
static bool disarm(struct hrtimer *t)
{
	for (;;) {
		struct hrtimer_list *l = __atomic_load_n(&t->list, __ATOMIC_ACQUIRE);
		if (!l)
			return false;
		struct hrtimer_cpu *s = &hrt_cpus[t->cpu];
		spin_lock(&s->lock);
		bool removed = hrtimer_list_remove(&s->list, t);
		spin_unlock(&s->lock);
		if (removed)
			return true;
		/* It fired or moved between the load and the lock: look again. */
	}
}

void hrtimer_start_on(int cpu, struct hrtimer *t, uint64_t tsc_deadline, void (*fn)(void *arg), void *arg)
{
	if (keos_is_guest())
		panic("hrtimer_start: keos has no high-resolution timer under kev");
	if (cpu < 0 || cpu >= ncpus)
		panic("hrtimer_start_on: no cpu %d", cpu);
	disarm(t);
	struct hrtimer_cpu *s = &hrt_cpus[cpu];
	spin_lock(&s->lock);
	t->deadline = tsc_deadline;
	t->fn = fn;
	t->arg = arg;
	t->cpu = cpu;
	hrtimer_list_insert(&s->list, t);
	if (s->list.head == t && cpu == cpu_current()->id)
		program(s);
	spin_unlock(&s->lock);
}

void hrtimer_start(struct hrtimer *t, uint64_t tsc_deadline, void (*fn)(void *arg), void *arg)
{
	intr_push();    /* stay on this CPU between reading its id and arming */
	hrtimer_start_on(cpu_current()->id, t, tsc_deadline, fn, arg);
	intr_pop();
}

bool hrtimer_cancel(struct hrtimer *t)
{
	bool was_armed = disarm(t);
	struct hrtimer_cpu *s = &hrt_cpus[t->cpu];
	if (s->running == t && t->cpu == cpu_current()->id)
		panic("hrtimer_cancel from the timer's own callback");
	while (s->running == t)
		pause();
	return was_armed;
}

bool hrtimer_armed(const struct hrtimer *t)
{
	return __atomic_load_n(&t->list, __ATOMIC_ACQUIRE) != NULL;
}
