/* A struct blockdev over an image file, for the host tools (hosted only).
 * The device covers the whole 512-byte sectors of the file; a trailing
 * partial sector is not part of it, so a truncated image shows up as a
 * device smaller than its superblock says and fs_mount reports it. */
#ifndef TOOLS_IMAGE_BLOCKDEV_H
#define TOOLS_IMAGE_BLOCKDEV_H
#include <stdbool.h>
#include <stdint.h>
#include "keos/fs/blockdev.h"

struct image_blockdev {
	struct blockdev dev;    /* pass &img.dev to fs_mount */
	int fd;
	bool writable;
	uint64_t tail_bytes;    /* bytes after the last whole sector (0 for a well-formed image) */
};

/* Opens the regular file path as a block device; returns 0, or a negative errno (use strerror(-r)). */
int image_blockdev_open(struct image_blockdev *img, const char *path, bool writable);
/* Flushes (when writable) and closes; returns 0 or a negative errno. */
int image_blockdev_close(struct image_blockdev *img);
#endif
