/* Host programs' settings for the block cache's environment (keos/fs/bcache_host.c). */
#ifndef KEOS_FS_BCACHE_HOST_H
#define KEOS_FS_BCACHE_HOST_H
#include <stdint.h>

/* How long a wait for an extent in use may last before BCACHE_ERR_STUCK (default 10 s). */
extern uint64_t bcache_host_wait_limit_ms;
#endif
