/* Threads and the round-robin scheduler.
 *
 * Locking: one scheduler lock protects the run queue, the sleep list, every
 * wait queue and every thread's state. It is held across thread_switch and
 * released by the thread that runs next (in schedule() after the switch, or
 * in thread_start for a new thread), so no other CPU can pick up a thread
 * whose registers are still being saved. Switching while holding any other
 * spinlock is a bug and panics.
 *
 * Lifetime: an exiting thread is DYING while still on its stack; the next
 * thread on that CPU marks it ZOMBIE and either wakes its joiner, which
 * frees it, or frees it at once if it was detached.
 *
 * The tick: the local APIC timer on the host (keos/thread/hrtimer.c), the
 * x2APIC TSC-deadline timer under kev when the VM has one
 * (keos/dev/x2apic_timer.c); without either (kev without an x2APIC) threads
 * switch only when they block or yield, and idle CPUs spin instead of
 * halting, since nothing would end the hlt. */
#include "keos/thread/thread.h"
#include "keos/arch/cpu.h"
#include "keos/arch/guest.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/thread/hrtimer.h"
#include "keos/dev/x2apic_timer.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/sync/spinlock.h"
#include "keos/lib/printk.h"
#include <stddef.h>
#include <string.h>

static struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct thread *runq_head, *runq_tail;
static struct thread *sleepers;          /* sorted by wake_tick */
static volatile uint64_t ticks;
static int next_tid = 1;
static struct thread boot_threads[MAX_CPUS];

static void guest_clock_update(void);

void thread_switch(struct thread *from, struct thread *to);

struct thread *thread_current(void)
{
	return THIS_CPU_READ(current);
}

uint64_t timer_ticks(void)
{
	if (keos_is_guest())
		return rdtsc() / guest_tsc_per_tick();
	return ticks;
}

static void runq_push(struct thread *t)
{
	t->state = THREAD_READY;
	t->next = NULL;
	if (runq_tail)
		runq_tail->next = t;
	else
		runq_head = t;
	runq_tail = t;
}

/* The first ready thread allowed on cpu, removed from the queue. */
static struct thread *runq_pop_for(int cpu)
{
	struct thread *prev = NULL;
	for (struct thread *t = runq_head; t; prev = t, t = t->next) {
		if (t->pinned_cpu >= 0 && t->pinned_cpu != cpu)
			continue;
		if (prev)
			prev->next = t->next;
		else
			runq_head = t->next;
		if (runq_tail == t)
			runq_tail = prev;
		t->next = NULL;
		return t;
	}
	return NULL;
}

static void thread_free(struct thread *t)
{
	page_free_run(t->stack, THREAD_STACK_PAGES);
	kfree(t);
}

/* Runs in the thread that was switched to, with the scheduler lock held. */
static void finish_switch(struct cpu *c)
{
	struct thread *prev = c->prev_thread;
	c->prev_thread = NULL;
	if (!prev || prev->state != THREAD_DYING)
		return;
	prev->state = THREAD_ZOMBIE;
	if (prev->detached)
		thread_free(prev);
	else if (prev->joiner)
		runq_push(prev->joiner);
}

/* Blocking with a spinlock held would deadlock the CPU; say so before any
 * scheduler state changes, so the failure leaves the queues consistent. */
static void check_may_block(int locks_allowed)
{
	/* A depth above 0 means interrupts are off: no migration between the reads. */
	if (cpu_intr_depth() > locks_allowed)
		panic("thread '%s' would sleep while holding a spinlock", thread_current()->name);
}

/* Switches to the next thread; the caller holds sched_lock (and nothing else)
 * and has set the current thread's state. */
static void schedule(void)
{
	struct cpu *c = cpu_current();
	struct thread *prev = c->current;
	if (c->intr_depth != 1)
		panic("thread '%s' would sleep while holding a spinlock", prev->name);
	struct thread *next = runq_pop_for(c->id);
	if (!next) {
		if (prev->state == THREAD_READY) {
			prev->state = THREAD_RUNNING;
			return;
		}
		next = c->idle;
	}
	if (prev->state == THREAD_READY && prev != c->idle)
		runq_push(prev);
	next->state = THREAD_RUNNING;
	next->last_cpu = c->id;
	c->current = next;
	c->prev_thread = prev;
	bool were_on = c->intr_were_on;
	thread_switch(prev, next);
	c = cpu_current();
	c->intr_were_on = were_on;
	finish_switch(c);
}

static void thread_start(void)
{
	struct cpu *c = cpu_current();
	finish_switch(c);
	c->intr_were_on = true;
	/* Before the unlock: from there on a tick may move this thread to another CPU. */
	struct thread *t = c->current;
	spin_unlock(&sched_lock);
	t->fn(t->arg);
	thread_exit(0);
}

/* A thread ready to run fn(arg) on its first switch, not yet queued. */
static struct thread *thread_alloc(const char *name, int cpu, void (*fn)(void *), void *arg,
                                   thread_fail_fn on_fail, void *fail_ctx)
{
	struct thread *t = kzalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->stack = page_alloc_run(THREAD_STACK_PAGES);
	if (!t->stack) {
		kfree(t);
		return NULL;
	}
	size_t n = strnlen(name, sizeof(t->name) - 1);
	memcpy(t->name, name, n);
	t->fn = fn;
	t->arg = arg;
	t->pinned_cpu = cpu;
	t->on_fail = on_fail;
	t->fail_ctx = fail_ctx;
	uint64_t *sp = (uint64_t *)((char *)t->stack + THREAD_STACK_PAGES * PAGE_SIZE);
	*--sp = 0;                           /* thread_start's return address: none */
	*--sp = (uint64_t)thread_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0;                       /* rbp rbx r12-r15 */
	t->saved_rsp = (uint64_t)sp;
	t->state = THREAD_READY;
	spin_lock(&sched_lock);
	t->tid = next_tid++;
	spin_unlock(&sched_lock);
	return t;
}

struct thread *thread_create_full(const char *name, int cpu, void (*fn)(void *), void *arg,
                                  thread_fail_fn on_fail, void *fail_ctx)
{
	if (cpu >= ncpus)
		panic("thread '%s' pinned to cpu %d of %d", name, cpu, ncpus);
	struct thread *t = thread_alloc(name, cpu, fn, arg, on_fail, fail_ctx);
	if (!t)
		return NULL;
	spin_lock(&sched_lock);
	runq_push(t);
	spin_unlock(&sched_lock);
	return t;
}

struct thread *thread_create_on(const char *name, int cpu, void (*fn)(void *), void *arg)
{
	struct thread *self = thread_current();
	return thread_create_full(name, cpu, fn, arg, self->on_fail, self->fail_ctx);
}
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg)
{
	return thread_create_on(name, -1, fn, arg);
}

void thread_exit(int status)
{
	struct thread *t = thread_current();
	if (!t->stack)
		panic("thread_exit from a CPU's boot thread");
	spin_lock(&sched_lock);
	t->exit_status = status;
	t->state = THREAD_DYING;
	schedule();
	panic("a dead thread ran again");
}

int thread_join(struct thread *t)
{
	check_may_block(0);
	struct thread *self = thread_current();
	if (t == self)
		panic("thread '%s' joins itself", t->name);
	spin_lock(&sched_lock);
	if (t->detached || t->joiner)
		panic("thread '%s' joined twice or after detach", t->name);
	while (t->state != THREAD_ZOMBIE) {
		t->joiner = self;
		self->state = THREAD_BLOCKED;
		schedule();
	}
	int status = t->exit_status;
	spin_unlock(&sched_lock);
	thread_free(t);
	return status;
}

void thread_detach(struct thread *t)
{
	spin_lock(&sched_lock);
	if (t->state == THREAD_ZOMBIE)
		thread_free(t);
	else
		t->detached = true;
	spin_unlock(&sched_lock);
}

void thread_yield(void)
{
	check_may_block(0);
	if (keos_is_guest())
		guest_clock_update();
	spin_lock(&sched_lock);
	thread_current()->state = THREAD_READY;
	schedule();
	spin_unlock(&sched_lock);
}

void thread_sleep(uint64_t n)
{
	check_may_block(0);
	struct thread *self = thread_current();
	spin_lock(&sched_lock);
	/* timer_ticks(), not ticks: under kev the variable lags the TSC clock. */
	self->wake_tick = timer_ticks() + n;
	struct thread **pp = &sleepers;
	while (*pp && (*pp)->wake_tick <= self->wake_tick)
		pp = &(*pp)->next;
	self->next = *pp;
	*pp = self;
	self->state = THREAD_BLOCKED;
	schedule();
	spin_unlock(&sched_lock);
}

void thread_fail_current(const char *file, int line, const char *msg)
{
	/* Interrupts off first: the per-CPU state read below must be this CPU's
	 * (a tick could move a thread that reports with interrupts on). */
	cli();
	struct cpu *c = cpu_current();
	struct thread *t = c ? c->current : NULL;
	if (!t || !t->on_fail)
		return;
	/* The failing code may hold locks, the scheduler's among them (a panic
	 * inside schedule()): drop that one, and reset the nesting count so
	 * thread_exit can switch away. Other locks stay held: their owners
	 * will report the deadlock by name. */
	if (sched_lock.locked && sched_lock.cpu == c->id) {
		sched_lock.cpu = -1;
		__atomic_store_n(&sched_lock.locked, 0, __ATOMIC_RELEASE);
	}
	c->intr_depth = 0;
	t->on_fail(file, line, msg);
	panic("on_fail handler of thread '%s' returned", t->name);
}

void waitq_init(struct waitq *q)
{
	q->head = q->tail = NULL;
}

void waitq_wait(struct waitq *q, struct spinlock *lk)
{
	check_may_block(lk ? 1 : 0);
	struct thread *self = thread_current();
	spin_lock(&sched_lock);
	if (lk)
		spin_unlock(lk);
	self->next = NULL;
	if (q->tail)
		q->tail->next = self;
	else
		q->head = self;
	q->tail = self;
	self->state = THREAD_BLOCKED;
	schedule();
	spin_unlock(&sched_lock);
	if (lk)
		spin_lock(lk);
}

static struct thread *waitq_pop(struct waitq *q)
{
	struct thread *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

int waitq_wake_all(struct waitq *q)
{
	int n = 0;
	spin_lock(&sched_lock);
	for (struct thread *t; (t = waitq_pop(q)); n++)
		runq_push(t);
	spin_unlock(&sched_lock);
	return n;
}

bool waitq_wake_one(struct waitq *q)
{
	spin_lock(&sched_lock);
	struct thread *t = waitq_pop(q);
	if (t)
		runq_push(t);
	spin_unlock(&sched_lock);
	return t != NULL;
}

static void wake_sleepers(void)
{
	while (sleepers && sleepers->wake_tick <= ticks) {
		struct thread *t = sleepers;
		sleepers = t->next;
		runq_push(t);
	}
}


/* Under kev the tick count follows the TSC (whether or not an x2APIC timer
 * ticks) and sleepers are woken whenever a CPU passes through the scheduler:
 * at each tick with the x2APIC, when threads block or yield without it. */
static void guest_clock_update(void)
{
	uint64_t now = rdtsc() / guest_tsc_per_tick();
	if (now == ticks)
		return;
	spin_lock(&sched_lock);
	if (now > ticks) {
		ticks = now;
		wake_sleepers();
	}
	spin_unlock(&sched_lock);
}

void sched_timer_tick(void)
{
	struct cpu *c = cpu_current();
	c->ticks++;
	/* Under kev the tick count follows the TSC: thread_yield updates it. */
	if (c->id == 0 && !keos_is_guest()) {
		spin_lock(&sched_lock);
		ticks++;
		wake_sleepers();
		spin_unlock(&sched_lock);
	}
	if (c->current)
		thread_yield();
}

/* True if a timer interrupt ends a hlt on this CPU: always on the host, and
 * under kev only with the x2APIC timer. */
static bool ticks_wake_hlt(void)
{
	return !keos_is_guest() || guest_has_x2apic_timer();
}

/* True if a ready thread may run on cpu. */
static bool work_for(int cpu)
{
	spin_lock(&sched_lock);
	bool any = false;
	for (struct thread *t = runq_head; t && !any; t = t->next)
		any = t->pinned_cpu < 0 || t->pinned_cpu == cpu;
	spin_unlock(&sched_lock);
	return any;
}

/* Runs whatever is ready, then halts until the next interrupt. The check
 * comes after the yield: the switch back to this thread may itself have
 * queued one (finish_switch wakes the joiner of a thread that just died),
 * and only a tick would end the hlt. Interrupts stay off from the check to
 * the hlt (sti's shadow covers it), so a wake-up by an interrupt cannot fall
 * in between. */
static void idle_loop(void *arg)
{
	(void)arg;
	for (;;) {
		thread_yield();
		if (!ticks_wake_hlt()) {
			pause();      /* nothing would end a hlt: kev without an x2APIC */
			continue;
		}
		cli();
		if (work_for(cpu_current()->id))
			sti();
		else
			__asm__ volatile("sti; hlt" ::: "memory");
	}
}

/* Starts this CPU's timer interrupt: the local APIC's on the host, the
 * x2APIC TSC-deadline timer under kev when there is one, none otherwise. */
static void start_tick(void)
{
	if (!keos_is_guest())
		hrtimer_cpu_start();
	else if (guest_has_x2apic_timer())
		x2apic_timer_cpu_start();
}

static struct thread *adopt_boot_thread(struct cpu *c, const char *name)
{
	struct thread *t = &boot_threads[c->id];
	memcpy(t->name, name, strnlen(name, sizeof(t->name) - 1));
	t->pinned_cpu = c->id;
	t->state = THREAD_RUNNING;
	t->last_cpu = c->id;
	c->current = t;
	return t;
}

void sched_init(void)
{
	struct cpu *c = cpu_current();
	adopt_boot_thread(c, "main");
	c->idle = thread_alloc("idle0", 0, idle_loop, NULL, NULL, NULL);
	if (!c->idle)
		panic("no memory for the idle thread");
	start_tick();
	sti();
}

void sched_start_ap(void)
{
	struct cpu *c = cpu_current();
	c->idle = adopt_boot_thread(c, "idle");
	start_tick();
	idle_loop(NULL);
	__builtin_unreachable();
}
