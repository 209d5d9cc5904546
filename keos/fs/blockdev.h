/* A block device: what the file system reads and writes, in 512-byte sectors.
 * The virtio-blk driver provides one in the kernel; host tools and tests
 * provide one over an image file or a memory buffer. */
#ifndef KEOS_FS_BLOCKDEV_H
#define KEOS_FS_BLOCKDEV_H
#include <stdint.h>

#define SECTOR_SIZE 512u

struct blockdev {
	uint64_t nsectors;
	/* Each returns 0 on success, negative on an I/O error. Must be thread-safe. */
	int (*read)(struct blockdev *d, uint64_t sector, void *buf, uint32_t count);
	int (*write)(struct blockdev *d, uint64_t sector, const void *buf, uint32_t count);
	int (*flush)(struct blockdev *d);
	void *priv;
};
#endif
