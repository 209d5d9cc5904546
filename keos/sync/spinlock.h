/* Spinlocks that disable interrupts on the holding CPU.
 *
 * Interrupts stay off from acquire to release, so an interrupt handler on the
 * same CPU can never spin on a lock its own CPU holds. Nesting is allowed: the
 * interrupt flag is restored by the outermost release. */
#ifndef KEOS_SYNC_SPINLOCK_H
#define KEOS_SYNC_SPINLOCK_H
#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
	const char *name;
	int cpu;               /* holder's CPU id, -1 when free */
};

#define SPINLOCK_INIT(n) { .locked = 0, .name = (n), .cpu = -1 }

/* Prepares a free lock named for panic messages. */
void spinlock_init(struct spinlock *l, const char *name);
/* Disables interrupts and spins until the lock is taken; panics on self-deadlock. */
void spin_lock(struct spinlock *l);
/* Releases the lock and restores interrupts if this was the outermost lock. */
void spin_unlock(struct spinlock *l);
/* True if the current CPU holds the lock. */
bool spin_holding(struct spinlock *l);
#endif
