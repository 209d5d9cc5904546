/* What the block cache (keos/fs/bcache.c) needs from the code around it:
 * who is calling, and how to wait for an extent another thread is using.
 * keos/fs/bcache_kernel.c provides it in the kernel, keos/fs/bcache_host.c
 * in host programs (unit tests, tools). */
#ifndef KEOS_FS_BCACHE_ENV_H
#define KEOS_FS_BCACHE_ENV_H
#include <stdbool.h>
#include <stdint.h>

/* When a wait began, in the environment's clocks. */
struct bcache_wait {
	uint64_t t0, t1;
};

/* An address that identifies the calling thread (never NULL). */
const void *bcache_env_self(void);
/* Starts the clock of one wait. */
void bcache_env_wait_start(struct bcache_wait *w);
/* Lets other threads run for a moment (sleeping if the caller may); false once the wait has lasted too long. */
bool bcache_env_wait(struct bcache_wait *w);
#endif
