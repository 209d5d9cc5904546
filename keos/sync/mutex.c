/* Mutexes (see mutex.h): an owner, a wait queue, and a spinlock that guards
 * both for the few instructions it takes to look at them. The guard is
 * released atomically with going to sleep (waitq_wait), so an unlock between
 * "the mutex is taken" and "I sleep" cannot be missed. A woken waiter tries
 * again: a thread that arrives meanwhile may take the mutex first, which is
 * allowed (no fairness is promised). Lock order: guard, then the scheduler's. */
#include "keos/sync/mutex.h"
#include "keos/arch/cpu.h"
#include "keos/lib/printk.h"

void mutex_init(struct mutex *m, const char *name)
{
	spinlock_init(&m->guard, name);
	m->owner = NULL;
	waitq_init(&m->waiters);
	m->name = name;
}

void mutex_lock(struct mutex *m)
{
	if (cpu_intr_depth() > 0)
		panic("mutex '%s' taken with interrupts off (a spinlock held, or an interrupt handler)", m->name);
	struct thread *self = thread_current();
	spin_lock(&m->guard);
	if (m->owner == self)
		panic("mutex '%s': already held by thread '%s'", m->name, self->name);
	while (m->owner)
		waitq_wait(&m->waiters, &m->guard);
	m->owner = self;
	spin_unlock(&m->guard);
}

void mutex_unlock(struct mutex *m)
{
	struct thread *self = thread_current();
	spin_lock(&m->guard);
	if (m->owner != self)
		panic("mutex '%s': released by thread '%s', which does not hold it", m->name, self->name);
	m->owner = NULL;
	waitq_wake_one(&m->waiters);
	spin_unlock(&m->guard);
}

bool mutex_holding(struct mutex *m)
{
	return __atomic_load_n(&m->owner, __ATOMIC_RELAXED) == thread_current();
}
