/* Sleeping locks (mutexes) for work that is long or may block.
 *
 * A spinlock turns interrupts off while held, so nothing else runs on that
 * CPU: fine for a few instructions, wrong for a device's drain that copies
 * megabytes or waits for the disk. A mutex keeps interrupts on: a thread that
 * finds it taken sleeps on a wait queue until the holder releases it, the
 * holder itself may be preempted or block (on the disk, for instance), and
 * every other thread keeps running. A mutex is never taken from an interrupt
 * handler or with a spinlock held (both panic, naming the lock). */
#ifndef KEOS_SYNC_MUTEX_H
#define KEOS_SYNC_MUTEX_H
#include <stdbool.h>
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"

struct mutex {
	struct spinlock guard;    /* protects owner and waiters */
	struct thread *owner;     /* NULL when free */
	struct waitq waiters;     /* threads sleeping in mutex_lock */
	const char *name;
};

/* Prepares a free mutex named for panic messages. */
void mutex_init(struct mutex *m, const char *name);
/* Takes m, sleeping while another thread holds it; panics if the caller holds it already or holds a spinlock. */
void mutex_lock(struct mutex *m);
/* Releases m and wakes one waiter; panics if the caller does not hold it. */
void mutex_unlock(struct mutex *m);
/* True if the calling thread holds m. */
bool mutex_holding(struct mutex *m);
#endif
