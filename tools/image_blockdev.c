/* struct blockdev over an image file with pread/pwrite (see image_blockdev.h).
 * Requests outside the device fail with -EINVAL rather than reading past
 * the end of the file, so the file system sees them as I/O errors; a short
 * read or write (the file shrank under us) is an -EIO, never a silent zero fill. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tools/image_blockdev.h"

static int check_range(const struct blockdev *d, uint64_t sector, uint32_t count)
{
	return sector <= d->nsectors && count <= d->nsectors - sector ? 0 : -EINVAL;
}

/* pread/pwrite until done: both may transfer less than asked. */
static int transfer_all(int fd, uint8_t *buf, size_t len, off_t off, bool write)
{
	while (len) {
		ssize_t r = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		buf += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

static int img_read(struct blockdev *d, uint64_t sector, void *buf, uint32_t count)
{
	struct image_blockdev *img = d->priv;
	int r = check_range(d, sector, count);

	return r ? r : transfer_all(img->fd, buf, (size_t)count * SECTOR_SIZE,
				    (off_t)(sector * SECTOR_SIZE), false);
}

static int img_write(struct blockdev *d, uint64_t sector, const void *buf, uint32_t count)
{
	struct image_blockdev *img = d->priv;
	int r = check_range(d, sector, count);

	/* transfer_all only reads buf when writing. */
	return r ? r : transfer_all(img->fd, (uint8_t *)(uintptr_t)buf, (size_t)count * SECTOR_SIZE,
				    (off_t)(sector * SECTOR_SIZE), true);
}

static int img_flush(struct blockdev *d)
{
	struct image_blockdev *img = d->priv;

	return fsync(img->fd) ? -errno : 0;
}

int image_blockdev_open(struct image_blockdev *img, const char *path, bool writable)
{
	struct stat st;
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	img->fd = fd;
	img->writable = writable;
	img->tail_bytes = (uint64_t)st.st_size % SECTOR_SIZE;
	img->dev.nsectors = (uint64_t)st.st_size / SECTOR_SIZE;
	img->dev.read = img_read;
	img->dev.write = img_write;
	img->dev.flush = img_flush;
	img->dev.priv = img;
	return 0;
}

int image_blockdev_close(struct image_blockdev *img)
{
	int r = 0;

	if (img->fd < 0)
		return 0;
	if (img->writable)
		r = img_flush(&img->dev);
	if (close(img->fd) && !r)
		r = -errno;
	img->fd = -1;
	return r;
}
