/* keos's high-resolution timers (keos/thread/hrtimer.h): they fire on the
 * arming CPU, never early, between scheduler ticks, and cancel for good.
 * Lateness is printed as a measurement; the assertions are generous. */
#include "keos/test/ktest.h"
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/printk.h"
#include "keos/sync/spinlock.h"

#define SHOTS 40

struct shots {
	struct spinlock lock;
	struct waitq done;
	struct hrtimer timer;
	int fired;
	int armed_cpu;
	uint64_t armed_cpu_ticks;           /* the arming CPU's tick count when armed */
	uint64_t late_tsc[SHOTS];
	bool early, wrong_cpu;
	int between_ticks;                  /* fired before the arming CPU's next tick */
};

static void arm_next(struct shots *s);

static void shot_fired(void *arg)
{
	struct shots *s = arg;
	uint64_t now = rdtsc();
	struct cpu *c = cpu_current();
	spin_lock(&s->lock);
	if (now < s->timer.deadline)
		s->early = true;
	if (c->id != s->armed_cpu)
		s->wrong_cpu = true;
	if (c->ticks == s->armed_cpu_ticks)
		s->between_ticks++;
	s->late_tsc[s->fired++] = now - s->timer.deadline;
	if (s->fired < SHOTS)
		arm_next(s);                    /* re-armed from its own callback */
	else
		waitq_wake_all(&s->done);
	spin_unlock(&s->lock);
}

/* 200 us .. 3 ms ahead: shorter than a scheduler tick (10 ms). */
static void arm_next(struct shots *s)
{
	uint64_t us = 200 + (uint64_t)(s->fired * 397) % 2800;
	struct cpu *c = cpu_current();
	s->armed_cpu = c->id;
	s->armed_cpu_ticks = c->ticks;
	hrtimer_start(&s->timer, rdtsc() + hrtimer_us_to_tsc(us), shot_fired, s);
}

KTEST(kev_hrtimer_fires_between_ticks_on_its_cpu)
{
	static struct shots s;
	s = (struct shots){ .lock = SPINLOCK_INIT("shots") };
	waitq_init(&s.done);
	spin_lock(&s.lock);
	arm_next(&s);
	while (s.fired < SHOTS)
		waitq_wait(&s.done, &s.lock);
	spin_unlock(&s.lock);
	/* Sort the lateness for the median (insertion sort, 40 values). */
	for (int i = 1; i < SHOTS; i++)
		for (int j = i; j > 0 && s.late_tsc[j - 1] > s.late_tsc[j]; j--) {
			uint64_t x = s.late_tsc[j];
			s.late_tsc[j] = s.late_tsc[j - 1];
			s.late_tsc[j - 1] = x;
		}
	printk("hrtimer: %d one-shot timers 0.2-3 ms ahead: late by min %lu us, median %lu us, "
	       "max %lu us; %d of %d fired before the next scheduler tick\n", SHOTS,
	       hrtimer_tsc_to_us(s.late_tsc[0]), hrtimer_tsc_to_us(s.late_tsc[SHOTS / 2]),
	       hrtimer_tsc_to_us(s.late_tsc[SHOTS - 1]), s.between_ticks, SHOTS);
	KASSERT(!s.early);
	KASSERT(!s.wrong_cpu);
	/* Tick-only timers would fire at a tick every time. A tick can fall
	 * inside a window (up to 3 ms of 10), so some do; most must not. */
	KASSERT(s.between_ticks >= SHOTS / 2);
	KASSERT(hrtimer_tsc_to_us(s.late_tsc[SHOTS - 1]) < 200000);
}

struct flag {
	struct spinlock lock;
	struct waitq q;
	int hits;
};

static void flag_hit(void *arg)
{
	struct flag *f = arg;
	spin_lock(&f->lock);
	f->hits++;
	waitq_wake_all(&f->q);
	spin_unlock(&f->lock);
}

KTEST(kev_hrtimer_cancel_disarms)
{
	static struct flag cancelled, later;
	cancelled = (struct flag){ .lock = SPINLOCK_INIT("cancelled") };
	later = (struct flag){ .lock = SPINLOCK_INIT("later") };
	waitq_init(&cancelled.q);
	waitq_init(&later.q);
	struct hrtimer a = HRTIMER_INIT, b = HRTIMER_INIT;
	uint64_t now = rdtsc();
	hrtimer_start(&a, now + hrtimer_us_to_tsc(20000), flag_hit, &cancelled);
	hrtimer_start(&b, now + hrtimer_us_to_tsc(40000), flag_hit, &later);
	KASSERT(hrtimer_armed(&a));
	KASSERT(hrtimer_cancel(&a));
	KASSERT(!hrtimer_armed(&a));
	KASSERT(!hrtimer_cancel(&a));              /* a second cancel finds nothing */
	spin_lock(&later.lock);
	while (later.hits == 0)
		waitq_wait(&later.q, &later.lock);
	spin_unlock(&later.lock);
	KASSERT(!hrtimer_cancel(&b));              /* it already fired */
	KASSERT_EQ(later.hits, 1);
	KASSERT_EQ(cancelled.hits, 0);             /* its deadline passed 20 ms ago */
	/* Re-arming an armed timer moves it: it fires once, at the new deadline. */
	hrtimer_start(&a, rdtsc() + hrtimer_us_to_tsc(60000), flag_hit, &cancelled);
	hrtimer_start(&a, rdtsc() + hrtimer_us_to_tsc(1000), flag_hit, &cancelled);
	spin_lock(&cancelled.lock);
	while (cancelled.hits == 0)
		waitq_wait(&cancelled.q, &cancelled.lock);
	spin_unlock(&cancelled.lock);
	KASSERT(!hrtimer_armed(&a));
	KASSERT_EQ(cancelled.hits, 1);
}

/* Armed on the other CPU, the callback runs there. */
static volatile int remote_ran_on;

static void remote_hit(void *arg)
{
	remote_ran_on = cpu_current()->id;
	flag_hit(arg);
}

KTEST(kev_hrtimer_on_another_cpu)
{
	KASSERT(ncpus >= 2);
	static struct flag f;
	f = (struct flag){ .lock = SPINLOCK_INIT("remote") };
	waitq_init(&f.q);
	remote_ran_on = -1;
	struct hrtimer t = HRTIMER_INIT;
	intr_push();
	int target = (cpu_current()->id + 1) % ncpus;
	hrtimer_start_on(target, &t, rdtsc() + hrtimer_us_to_tsc(2000), remote_hit, &f);
	intr_pop();
	spin_lock(&f.lock);
	while (f.hits == 0)
		waitq_wait(&f.q, &f.lock);
	spin_unlock(&f.lock);
	KASSERT(!hrtimer_armed(&t));
	KASSERT_EQ(remote_ran_on, target);
}
