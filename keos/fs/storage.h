/* The kernel's storage at boot: the virtio-blk disk, the block cache in front
 * of it (keos/fs/bcache.h) and the flat file system on that (keos/fs/fs.h),
 * found once and flushed before the machine stops. */
#ifndef KEOS_FS_STORAGE_H
#define KEOS_FS_STORAGE_H
#include "keos/fs/bcache.h"
#include "keos/fs/blockdev.h"
#include "keos/fs/fs.h"

/* Finds the virtio-blk disk and mounts its file system, printing one line either way; later calls return the first result. */
enum fs_error storage_init(void);
/* The disk storage_init found (mounted or not), or NULL; its reads and writes bypass the cache. */
struct blockdev *storage_blockdev(void);
/* The block cache the file system is mounted through, or NULL (no disk, or no memory for it). */
struct bcache *storage_cache(void);
/* Flushes written data to the disk; call right before the machine stops (safe from qemu_exit and panics; a nested call returns at once). */
void storage_shutdown(void);
#endif
