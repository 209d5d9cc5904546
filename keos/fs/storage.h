/* The kernel's storage at boot: the virtio-blk disk and the flat file system
 * on it (keos/fs/fs.h), found once and flushed before the machine stops. */
#ifndef KEOS_FS_STORAGE_H
#define KEOS_FS_STORAGE_H
#include "keos/fs/blockdev.h"
#include "keos/fs/fs.h"

/* Finds the virtio-blk disk and mounts its file system, printing one line either way; later calls return the first result. */
enum fs_error storage_init(void);
/* The disk storage_init found (mounted or not), or NULL. */
struct blockdev *storage_blockdev(void);
/* Flushes written data to the disk; call right before the machine stops (safe from qemu_exit and panics; a nested call returns at once). */
void storage_shutdown(void);
#endif
