/* The flat file system: a superblock, a table of fixed-size files, data in
 * contiguous sector extents. No directories; sizes are set when the image is
 * built (tools/mkfs). The on-disk format is in keos/fs/fs_format.h. */
#ifndef KEOS_FS_FS_H
#define KEOS_FS_FS_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "keos/fs/blockdev.h"

struct file;

enum fs_error {
	FS_OK = 0,
	FS_ERR_IO = -1,          /* the block device failed */
	FS_ERR_BAD_MAGIC = -2,   /* not a keos file system */
	FS_ERR_BAD_VERSION = -3,
	FS_ERR_CORRUPT = -4,     /* table or extents inconsistent with the device */
	FS_ERR_NOT_FOUND = -5,
	FS_ERR_BAD_OFFSET = -6,  /* offset beyond the end of the file */
	FS_ERR_NOT_MOUNTED = -7,
	FS_ERR_TOO_MANY_FILES = -8,
};

/* Reads and validates the superblock and file table of dev. */
enum fs_error fs_mount(struct blockdev *dev);
/* Opens a file by name; NULL if it does not exist or nothing is mounted. */
struct file *fs_open(const char *name);
/* Reads up to len bytes at off; returns bytes read (short at end of file) or a negative fs_error. */
int64_t file_read(struct file *f, uint64_t off, void *buf, uint64_t len);
/* Writes up to len bytes at off; returns bytes written (short at end of file) or a negative fs_error. */
int64_t file_write(struct file *f, uint64_t off, const void *buf, uint64_t len);
/* The file's fixed size in bytes. */
uint64_t file_size(const struct file *f);
/* The device sector where the file's contiguous extent starts (0 for NULL); for tests that look at the raw disk. */
uint64_t file_first_sector(const struct file *f);
/* Flushes the device (in the kernel: the block cache, then the disk); call before the machine stops. */
enum fs_error fs_sync(void);
/* A short English description of an error code. */
const char *fs_strerror(enum fs_error e);

/* What file_read and file_write have done since boot, for benchmarks. The
 * cycles are TSC cycles spent inside the calls (all threads summed). */
struct fs_stats {
	uint64_t read_calls, write_calls;
	uint64_t bytes_read, bytes_written;
	uint64_t read_cycles, write_cycles;
};

/* Copies the counters into *out (each one is read atomically, not all at once). */
void fs_get_stats(struct fs_stats *out);
#endif
