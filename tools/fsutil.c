/* fsutil: inspects a keos flat file system image from the host.
 *
 *   fsutil ls IMAGE          one line per file: name TAB size TAB first-sector
 *   fsutil cat IMAGE NAME    the file's bytes, raw, on stdout
 *   fsutil check IMAGE       mount validation only
 *
 * Every command first mounts the image with the kernel's own fs.c, so an
 * image fsutil accepts is one the kernel accepts, and a bad or truncated
 * image is rejected by the same bounded checks (no loop depends on
 * unvalidated on-disk values, so garbage cannot make fsutil hang).
 * Exit status: 0 success, 1 a bad image or an I/O error (one line on stderr
 * naming the image and the reason), 2 a usage error. The image is opened
 * read-only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "keos/fs/fs.h"
#include "keos/fs/fs_format.h"
#include "tools/image_blockdev.h"

/* cat copies through a buffer of this many bytes. */
#define CAT_CHUNK (64u * 1024u)

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;

	fputs("fsutil: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage(void)
{
	fputs("usage: fsutil ls IMAGE\n"
	      "       fsutil cat IMAGE NAME\n"
	      "       fsutil check IMAGE\n", stderr);
	return 2;
}

/* Opens and mounts image; on failure says why (once) and returns -1. */
static int open_image(const char *image, struct image_blockdev *img)
{
	int r = image_blockdev_open(img, image, false);
	enum fs_error e;

	if (r) {
		complain("%s: cannot open: %s", image, strerror(-r));
		return -1;
	}
	e = fs_mount(&img->dev);
	if (e == FS_OK)
		return 0;
	complain("%s: %s: %s%s", image, fs_strerror(e), fs_mount_detail(),
		 e == FS_ERR_CORRUPT && img->tail_bytes
		 ? " (the image size is not a multiple of 512 bytes)" : "");
	image_blockdev_close(img);
	return -1;
}

/* Lists the table of a mounted image; fs_mount has checked every field. */
static int cmd_ls(const char *image, struct image_blockdev *img)
{
	uint8_t sector[SECTOR_SIZE];
	struct fs_superblock sb;
	struct blockdev *d = &img->dev;

	if (d->read(d, 0, sector, 1))
		goto io_error;
	memcpy(&sb, sector, sizeof(sb));
	for (uint32_t i = 0; i < sb.file_count; i++) {
		uint32_t slot = i % FS_ENTRIES_PER_SECTOR;
		struct fs_entry e;

		if (slot == 0 && d->read(d, sb.table_start + i / FS_ENTRIES_PER_SECTOR, sector, 1))
			goto io_error;
		memcpy(&e, sector + slot * FS_ENTRY_SIZE, sizeof(e));
		printf("%s\t%llu\t%llu\n", e.name, (unsigned long long)e.size,
		       (unsigned long long)e.first_sector);
	}
	return 0;
io_error:
	complain("%s: %s: cannot read the file table", image, fs_strerror(FS_ERR_IO));
	return -1;
}

static int cmd_cat(const char *image, const char *name)
{
	static uint8_t buf[CAT_CHUNK];
	struct file *f = fs_open(name);
	uint64_t off = 0;

	if (!f) {
		complain("%s: %s: %s", image, name, fs_strerror(FS_ERR_NOT_FOUND));
		return -1;
	}
	while (off < file_size(f)) {
		int64_t n = file_read(f, off, buf, sizeof(buf));

		if (n <= 0) {
			complain("%s: %s: %s", image, name,
				 fs_strerror(n ? (enum fs_error)n : FS_ERR_IO));
			return -1;
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
		off += (uint64_t)n;
	}
	if (fflush(stdout) || ferror(stdout)) {
		complain("writing to stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct image_blockdev img;
	const char *cmd = argc > 1 ? argv[1] : "";
	int r;

	if (!((!strcmp(cmd, "ls") && argc == 3) || (!strcmp(cmd, "check") && argc == 3) ||
	      (!strcmp(cmd, "cat") && argc == 4)))
		return usage();
	if (open_image(argv[2], &img))
		return 1;
	if (!strcmp(cmd, "ls"))
		r = cmd_ls(argv[2], &img);
	else if (!strcmp(cmd, "cat"))
		r = cmd_cat(argv[2], argv[3]);
	else
		r = printf("%s: ok\n", argv[2]) < 0 ? -1 : 0;
	image_blockdev_close(&img);
	return r ? 1 : 0;
}
