/* Spinlocks. Taking a lock disables interrupts on this CPU first (intr_push),
 * so a timer interrupt cannot preempt the holder and spin forever on its own
 * CPU. A CPU that tries to take a lock it already holds panics with the
 * lock's name instead of hanging. */
#include "keos/sync/spinlock.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/printk.h"

void spinlock_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->name = name;
	l->cpu = -1;
}

bool spin_holding(struct spinlock *l)
{
	intr_push();
	bool r = l->locked && l->cpu == cpu_current()->id;
	intr_pop();
	return r;
}

void spin_lock(struct spinlock *l)
{
	intr_push();
	if (l->locked && l->cpu == cpu_current()->id)
		panic("spinlock '%s': already held by this CPU", l->name);
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			pause();
	l->cpu = cpu_current()->id;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->locked || l->cpu != cpu_current()->id)
		panic("spinlock '%s': released by a CPU that does not hold it", l->name);
	l->cpu = -1;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	intr_pop();
}
