/* Kernel tests of threads, the scheduler, sleeping, wait queues and SMP. */
#include "keos/test/ktest.h"
#include "tests/kernel/smp_check.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"
#include <string.h>

static void return_arg(void *arg)
{
	thread_exit((int)(uintptr_t)arg);
}

KTEST(thread_join_returns_exit_status)
{
	struct thread *t[16];
	for (int i = 0; i < 16; i++) {
		t[i] = thread_create("status", return_arg, (void *)(uintptr_t)(i * 3));
		KASSERT(t[i] != NULL);
	}
	for (int i = 0; i < 16; i++)
		KASSERT_EQ(thread_join(t[i]), i * 3);
}

static void fall_off_end(void *arg)
{
	*(int *)arg = 42;
}

KTEST(thread_returning_from_fn_exits_with_zero)
{
	int v = 0;
	struct thread *t = thread_create("ret", fall_off_end, &v);
	KASSERT_EQ(thread_join(t), 0);
	KASSERT_EQ(v, 42);
}

/* Two threads pinned to one CPU that never yield: both progress only if the
 * timer preempts them. */
struct spinner {
	volatile uint64_t count;
	volatile bool *stop;
};

static void spin_until_stopped(void *arg)
{
	struct spinner *s = arg;
	while (!*s->stop)
		s->count++;
}

KTEST(thread_timer_preempts_busy_threads)
{
	volatile bool stop = false;
	struct spinner a = { 0, &stop }, b = { 0, &stop };
	struct thread *ta = thread_create_on("spin-a", 0, spin_until_stopped, &a);
	struct thread *tb = thread_create_on("spin-b", 0, spin_until_stopped, &b);
	/* Sleeping here puts both spinners alone on CPU 0 (the only CPU, if -smp 1). */
	uint64_t start = timer_ticks();
	while (timer_ticks() - start < 20 && (a.count == 0 || b.count == 0))
		thread_sleep(2);
	stop = true;
	thread_join(ta);
	thread_join(tb);
	KASSERT(a.count > 0);
	KASSERT(b.count > 0);
}

KTEST(thread_sleep_waits_at_least_the_ticks)
{
	uint64_t start = timer_ticks();
	thread_sleep(5);
	KASSERT(timer_ticks() - start >= 5);
}

static void sleeper(void *arg)
{
	thread_sleep((uint64_t)(uintptr_t)arg);
	thread_exit((int)timer_ticks());
}

KTEST(thread_sleepers_wake_in_order)
{
	struct thread *late = thread_create("late", sleeper, (void *)12);
	struct thread *early = thread_create("early", sleeper, (void *)3);
	int t_late = thread_join(late), t_early = thread_join(early);
	KASSERT(t_early < t_late);
}

struct waiter_state {
	struct spinlock lock;
	struct waitq q;
	int ready;
	int woken;
};

static void waiter(void *arg)
{
	struct waiter_state *s = arg;
	spin_lock(&s->lock);
	while (!s->ready)
		waitq_wait(&s->q, &s->lock);
	s->woken++;
	spin_unlock(&s->lock);
}

KTEST(waitq_wakes_all_waiters)
{
	struct waiter_state s = { .ready = 0, .woken = 0 };
	spinlock_init(&s.lock, "test");
	waitq_init(&s.q);
	struct thread *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = thread_create("waiter", waiter, &s);
	thread_sleep(3);
	spin_lock(&s.lock);
	KASSERT_EQ(s.woken, 0);
	s.ready = 1;
	spin_unlock(&s.lock);
	waitq_wake_all(&s.q);
	for (int i = 0; i < 4; i++)
		thread_join(t[i]);
	KASSERT_EQ(s.woken, 4);
}

static void report_cpu(void *arg)
{
	*(int *)arg = cpu_current()->id;
}

KTEST(smp_every_cpu_runs_threads)
{
	KASSERT(ncpus >= 2);
	for (int cpu = 0; cpu < ncpus; cpu++) {
		int ran_on = -1;
		struct thread *t = thread_create_on("pinned", cpu, report_cpu, &ran_on);
		thread_join(t);
		KASSERT_EQ(ran_on, cpu);
	}
}

KTEST(smp_threads_run_in_parallel)
{
	ktest_expect_parallel(0, 1);
}

struct counter {
	struct spinlock lock;
	uint64_t value;
	bool saw_interrupts_on;
};

static void add_many(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < 200000; i++) {
		spin_lock(&c->lock);
		if (interrupts_enabled())
			c->saw_interrupts_on = true;
		uint64_t v = c->value;
		__asm__ volatile("" ::: "memory");
		c->value = v + 1;
		spin_unlock(&c->lock);
	}
}

KTEST(spinlock_serializes_two_cpus_with_interrupts_off)
{
	struct counter c = { .value = 0 };
	spinlock_init(&c.lock, "counter");
	struct thread *a = thread_create_on("add0", 0, add_many, &c);
	struct thread *b = thread_create_on("add1", 1, add_many, &c);
	thread_join(a);
	thread_join(b);
	KASSERT_EQ(c.value, 400000);
	KASSERT(!c.saw_interrupts_on);
	KASSERT(interrupts_enabled());
}

static void relock(void *arg)
{
	struct spinlock *l = arg;
	spin_lock(l);
	spin_lock(l);
}

KTEST(spinlock_self_deadlock_panics)
{
	struct spinlock l;
	spinlock_init(&l, "twice");
	char msg[200];
	KASSERT(ktest_expect_panic(relock, &l, msg, sizeof(msg)));
	KASSERT(strstr(msg, "already held"));
}

static void hold_and_sleep(void *arg)
{
	struct spinlock *l = arg;
	spin_lock(l);
	thread_sleep(1);
}

KTEST(sleeping_with_a_spinlock_panics)
{
	struct spinlock l;
	spinlock_init(&l, "held");
	char msg[200];
	KASSERT(ktest_expect_panic(hold_and_sleep, &l, msg, sizeof(msg)));
	KASSERT(strstr(msg, "holding a spinlock"));
}
