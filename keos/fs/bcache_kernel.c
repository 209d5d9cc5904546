/* The block cache's environment in the kernel (keos/fs/bcache_env.h).
 *
 * A waiter that holds no spinlock and has interrupts on yields to other
 * threads; one that holds a spinlock (the svirtb device and the lazy pager
 * read files under theirs) or runs with interrupts off (the exit path)
 * spins with pause. The limit is longer than the virtio-blk driver's
 * deadline for one request, so an owner that waits for a slow but working
 * device is never taken for a stuck one. Time comes from the timer tick
 * where it advances and from the TSC where it does not (interrupts off),
 * with a generous cycle count since the TSC rate is not known here. */
#include "keos/fs/bcache_env.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"

#define WAIT_LIMIT_TICKS (40u * TIMER_HZ)
#define WAIT_LIMIT_TSC (120ull * 1000 * 1000 * 1000)

const void *bcache_env_self(void)
{
	struct thread *t = thread_current();

	/* Before the scheduler runs there is one flow of control per CPU. */
	return t ? (const void *)t : (const void *)cpu_current();
}

void bcache_env_wait_start(struct bcache_wait *w)
{
	w->t0 = timer_ticks();
	w->t1 = rdtsc();
}

bool bcache_env_wait(struct bcache_wait *w)
{
	if (interrupts_enabled() && cpu_intr_depth() == 0)
		thread_yield();
	else
		pause();
	return timer_ticks() - w->t0 <= WAIT_LIMIT_TICKS && rdtsc() - w->t1 <= WAIT_LIMIT_TSC;
}
