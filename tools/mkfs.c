/* mkfs IMAGE DIR [--extra-sectors N]: builds a keos flat file system image
 * (keos/fs/fs_format.h) holding the regular files of DIR.
 *
 * The image is reproducible: files are sorted by name (strcmp), laid out one
 * after the other right after the file table, each starting on a fresh
 * sector, slack bytes zero, and nothing records a time or the host. Its size
 * is exactly the sectors needed, plus N unused zero sectors when asked.
 * Subdirectories and special files are skipped with a warning; a name the
 * format cannot hold (too long, or containing a control character, which
 * would make `fsutil ls` output ambiguous) is an error.
 *
 * The finished image is mounted with the kernel's own fs.c before mkfs
 * reports success, so mkfs never leaves behind an image the kernel rejects;
 * on any failure the partial image is removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "keos/fs/fs.h"
#include "keos/fs/fs_format.h"
#include "tools/image_blockdev.h"

/* Data is copied in chunks of this many sectors. */
#define COPY_SECTORS 128u
/* Keeps a mistyped --extra-sectors from creating a terabyte-sized file. */
#define MAX_EXTRA_SECTORS (1ull << 24)

struct input {
	char name[FS_NAME_MAX];
	uint64_t size;
};

struct image_plan {
	struct fs_superblock sb;
	struct fs_entry entries[FS_MAX_FILES];
};

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;

	fputs("mkfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage(void)
{
	fputs("usage: mkfs IMAGE DIR [--extra-sectors N]\n", stderr);
	return 2;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > MAX_EXTRA_SECTORS)
		return -1;
	*out = v;
	return 0;
}

/* Fills image/dir/extra from argv; returns -1 on a usage error. */
static int parse_args(int argc, char **argv, const char **image, const char **dir, uint64_t *extra)
{
	int npos = 0;

	*image = *dir = NULL;
	*extra = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--extra-sectors")) {
			if (i + 1 >= argc || parse_count(argv[++i], extra)) {
				complain("--extra-sectors needs a count from 0 to %llu",
					 (unsigned long long)MAX_EXTRA_SECTORS);
				return -1;
			}
		} else if (npos < 2 && strncmp(argv[i], "--", 2)) {
			*(npos++ == 0 ? image : dir) = argv[i];
		} else {
			return -1;
		}
	}
	return npos == 2 ? 0 : -1;
}

static int check_name(const char *dir, const char *name)
{
	if (strlen(name) >= FS_NAME_MAX) {
		complain("%s/%s: name longer than %u bytes", dir, name, FS_NAME_MAX - 1);
		return -1;
	}
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			complain("%s/%s: name contains a control character", dir, name);
			return -1;
		}
	}
	return 0;
}

/* What scan_dir collects, and the image file itself when it already exists:
 * rebuilding an image that sits inside DIR must not swallow the old image. */
struct scan {
	const char *dir;
	struct stat image;
	bool image_exists;
	struct input *in;
	uint32_t n;
};

/* Adds one directory entry to s->in; skipped entries are not an error. */
static int consider_entry(struct scan *s, DIR *d, const char *name)
{
	struct stat st;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (fstatat(dirfd(d), name, &st, 0)) {
		complain("%s/%s: %s", s->dir, name, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		complain("warning: skipping subdirectory %s/%s", s->dir, name);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		complain("warning: skipping %s/%s: not a regular file", s->dir, name);
		return 0;
	}
	if (s->image_exists && st.st_dev == s->image.st_dev && st.st_ino == s->image.st_ino) {
		complain("warning: skipping %s/%s: it is the image being built", s->dir, name);
		return 0;
	}
	if (check_name(s->dir, name))
		return -1;
	if (s->n == FS_MAX_FILES) {
		complain("%s: more than %u files (the kernel mounts at most %u)", s->dir,
			 FS_MAX_FILES, FS_MAX_FILES);
		return -1;
	}
	memset(&s->in[s->n], 0, sizeof(s->in[s->n]));
	strcpy(s->in[s->n].name, name);
	s->in[s->n].size = (uint64_t)st.st_size;
	s->n++;
	return 0;
}

/* Lists the regular files of dir into in[]; returns their count or -1. */
static int64_t scan_dir(const char *dir, const char *image, struct input *in)
{
	struct scan s = { .dir = dir, .in = in };
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d) {
		complain("%s: %s", dir, strerror(errno));
		return -1;
	}
	s.image_exists = stat(image, &s.image) == 0;
	while (!r) {
		errno = 0;      /* readdir reports errors only through errno */
		de = readdir(d);
		if (!de) {
			if (errno) {
				complain("%s: %s", dir, strerror(errno));
				r = -1;
			}
			break;
		}
		r = consider_entry(&s, d, de->d_name);
	}
	closedir(d);
	return r ? -1 : (int64_t)s.n;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->name, ((const struct input *)b)->name);
}

/* Places the files after the table; fails only if the image would need
 * sector numbers beyond the format's 32-bit first_sector. */
static int plan_image(const struct input *in, uint32_t n, uint64_t extra, struct image_plan *p)
{
	uint64_t next;

	memset(p, 0, sizeof(*p));
	memcpy(p->sb.magic, FS_MAGIC, FS_MAGIC_LEN);
	p->sb.version = FS_VERSION;
	p->sb.entry_size = FS_ENTRY_SIZE;
	p->sb.table_start = 1;
	p->sb.table_sectors = fs_table_sectors(n);
	p->sb.file_count = n;
	next = p->sb.table_start + p->sb.table_sectors;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t sectors = (in[i].size + SECTOR_SIZE - 1) / SECTOR_SIZE;

		if (next + sectors > UINT32_MAX) {
			complain("%s: does not fit: the format addresses at most 2 TiB", in[i].name);
			return -1;
		}
		memcpy(p->entries[i].name, in[i].name, FS_NAME_MAX);
		p->entries[i].size = in[i].size;
		p->entries[i].first_sector = (uint32_t)next;
		p->entries[i].sector_count = (uint32_t)sectors;
		next += sectors;
	}
	p->sb.total_sectors = next + extra;
	p->sb.table_checksum = fs_checksum(FS_CHECKSUM_INIT, p->entries, (size_t)n * FS_ENTRY_SIZE);
	return 0;
}

static int write_sectors(struct image_blockdev *img, uint64_t sector, const void *buf, uint32_t count)
{
	int r = img->dev.write(&img->dev, sector, buf, count);

	if (r)
		complain("writing sector %llu: %s", (unsigned long long)sector, strerror(-r));
	return r ? -1 : 0;
}

static int write_metadata(struct image_blockdev *img, const struct image_plan *p)
{
	static uint8_t sector[SECTOR_SIZE];

	memset(sector, 0, sizeof(sector));
	memcpy(sector, &p->sb, sizeof(p->sb));
	if (write_sectors(img, 0, sector, 1))
		return -1;
	/* entries[] is zero past file_count, so whole sectors can be written. */
	_Static_assert(sizeof(p->entries) % SECTOR_SIZE == 0, "table written in whole sectors");
	return p->sb.table_sectors
	       ? write_sectors(img, p->sb.table_start, p->entries, p->sb.table_sectors) : 0;
}

/* Reads exactly len bytes (fewer only at end of file); returns the count or -1. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Copies one file into its extent, zero-filling the slack of its last sector;
 * a file whose size changed since it was listed is an error. */
static int copy_file(struct image_blockdev *img, const char *dir, const struct fs_entry *e)
{
	static uint8_t buf[COPY_SECTORS * SECTOR_SIZE];
	char path[4096];
	uint64_t left = e->size, sector = e->first_sector;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, e->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		complain("%s: %s", path, strerror(errno));
		return -1;
	}
	while (!r && left) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t got = read_full(fd, buf, want);
		uint32_t count = (uint32_t)((want + SECTOR_SIZE - 1) / SECTOR_SIZE);

		if (got != (ssize_t)want) {
			complain("%s: %s", path, got < 0 ? strerror(errno) : "file shrank while mkfs read it");
			r = -1;
			break;
		}
		memset(buf + want, 0, (size_t)count * SECTOR_SIZE - want);
		r = write_sectors(img, sector, buf, count);
		left -= want;
		sector += count;
	}
	if (!r && read_full(fd, buf, 1) != 0) {
		complain("%s: file grew while mkfs read it", path);
		r = -1;
	}
	close(fd);
	return r;
}

/* Creates the image file at its final size (extra sectors stay sparse zeros). */
static int create_image(const char *image, uint64_t sectors)
{
	int fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		complain("%s: %s", image, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)(sectors * SECTOR_SIZE))) {
		complain("%s: %s", image, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Mounts the result with the kernel's code: mkfs and fs.c must agree. */
static int verify_image(const char *image, struct image_blockdev *img)
{
	enum fs_error e = fs_mount(&img->dev);

	if (e)
		complain("%s: the new image does not mount: %s: %s (a bug in mkfs)", image,
			 fs_strerror(e), fs_mount_detail());
	return e ? -1 : 0;
}

/* Writes the image; once the file exists, any failure removes it so that no
 * half-written image is left for the kernel or the grader to trip over. */
static int build_image(const char *image, const char *dir, const struct image_plan *p)
{
	struct image_blockdev img;
	int r;

	if (create_image(image, p->sb.total_sectors))
		return -1;
	r = image_blockdev_open(&img, image, true);
	if (r) {
		complain("%s: %s", image, strerror(-r));
		unlink(image);
		return -1;
	}
	r = write_metadata(&img, p);
	for (uint32_t i = 0; !r && i < p->sb.file_count; i++)
		r = copy_file(&img, dir, &p->entries[i]);
	if (!r)
		r = verify_image(image, &img);
	int cr = image_blockdev_close(&img);
	if (!r && cr) {
		complain("%s: %s", image, strerror(-cr));
		r = -1;
	}
	if (r)
		unlink(image);
	return r;
}

int main(int argc, char **argv)
{
	static struct input inputs[FS_MAX_FILES];
	static struct image_plan plan;
	const char *image, *dir;
	uint64_t extra;
	int64_t n;

	if (parse_args(argc, argv, &image, &dir, &extra))
		return usage();
	n = scan_dir(dir, image, inputs);
	if (n < 0)
		return 1;
	qsort(inputs, (size_t)n, sizeof(inputs[0]), by_name);
	if (plan_image(inputs, (uint32_t)n, extra, &plan))
		return 1;
	return build_image(image, dir, &plan) ? 1 : 0;
}
