/* The block cache's environment in host programs (keos/fs/bcache_env.h):
 * threads are pthreads, a waiter yields the processor, and the wait limit
 * is bcache_host_wait_limit_ms (tests shorten it to see BCACHE_ERR_STUCK). */
#include "keos/fs/bcache_env.h"
#include "keos/fs/bcache_host.h"
#include <sched.h>
#include <time.h>

uint64_t bcache_host_wait_limit_ms = 10000;

static _Thread_local char self_marker;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const void *bcache_env_self(void)
{
	return &self_marker;
}

void bcache_env_wait_start(struct bcache_wait *w)
{
	w->t0 = now_ms();
	w->t1 = 0;
}

bool bcache_env_wait(struct bcache_wait *w)
{
	sched_yield();
	return now_ms() - w->t0 <= bcache_host_wait_limit_ms;
}
