/* The flat file system core (format in keos/fs/fs_format.h).
 *
 * fs_mount reads the superblock and the whole file table once, checks every
 * invariant of the format, and keeps the table in a static array: after a
 * successful mount each struct file describes an extent that lies inside the
 * device and overlaps nothing else, so file_read and file_write only have to
 * clamp to the file's size and can never touch another file's sectors.
 * A failed mount leaves nothing mounted (the array is filled in place).
 *
 * Reads and writes go to the mounted device: whole sectors directly from or
 * into the caller's buffer, the partial sectors at either end through a
 * 512-byte buffer on the stack (read-modify-write for writes). In the kernel
 * that device is the block cache (keos/fs/bcache.c), so written data is on
 * the disk after fs_sync, which flushes the device, and not before.
 *
 * Concurrency: the mount state is written only by fs_mount, which must not
 * run concurrently with anything else here; every other call keeps its state
 * on its stack (the counters of fs_get_stats are atomic), and the block
 * device serializes the requests. Two concurrent
 * partial writes to the same sector may lose one of them (each rewrites the
 * whole sector), so callers that write one file from several threads must
 * serialize those writes themselves.
 *
 * Compiles freestanding (kernel) and hosted (tools, tests): it uses only
 * memcpy, memcmp, strcmp and strnlen from <string.h>. */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include "keos/fs/fs.h"
#include "keos/fs/fs_format.h"

/* Caps one direct request so that a large read cannot hold the device (and
 * its lock) for an unbounded time. */
#define FS_MAX_IO_SECTORS 128u

struct file {
	char name[FS_NAME_MAX];
	uint64_t size;
	uint64_t first_sector;
	uint64_t sector_count;
};

static struct file files[FS_MAX_FILES];
static uint32_t nfiles;
static struct blockdev *mounted_dev;    /* NULL when nothing is mounted */
static const char *mount_detail = "nothing mounted";

static enum fs_error mount_fail(enum fs_error e, const char *why)
{
	mount_detail = why;
	return e;
}

const char *fs_mount_detail(void)
{
	return mount_detail;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static enum fs_error read_superblock(struct blockdev *d, struct fs_superblock *sb)
{
	_Alignas(512) uint8_t sector[SECTOR_SIZE];

	if (!d || d->nsectors < 1)
		return mount_fail(FS_ERR_CORRUPT, "the device is smaller than one sector");
	if (d->read(d, 0, sector, 1))
		return mount_fail(FS_ERR_IO, "cannot read the superblock");
	memcpy(sb, sector, sizeof(*sb));
	return FS_OK;
}

static enum fs_error check_superblock(const struct blockdev *d, const struct fs_superblock *sb)
{
	if (memcmp(sb->magic, FS_MAGIC, FS_MAGIC_LEN))
		return mount_fail(FS_ERR_BAD_MAGIC, "no KEOSFS magic in sector 0");
	if (sb->version != FS_VERSION)
		return mount_fail(FS_ERR_BAD_VERSION, "the image was made for another format version");
	if (sb->entry_size != FS_ENTRY_SIZE)
		return mount_fail(FS_ERR_BAD_VERSION, "unexpected file table entry size");
	if (sb->file_count > FS_MAX_FILES)
		return mount_fail(FS_ERR_TOO_MANY_FILES, "more files than the kernel supports");
	if (sb->total_sectors < 1)
		return mount_fail(FS_ERR_CORRUPT, "the file system has zero sectors");
	if (sb->total_sectors > d->nsectors)
		return mount_fail(FS_ERR_CORRUPT,
				  "the device is smaller than the file system (truncated image?)");
	if (sb->table_sectors != fs_table_sectors(sb->file_count))
		return mount_fail(FS_ERR_CORRUPT, "file table length does not match the file count");
	if (sb->table_start < 1)
		return mount_fail(FS_ERR_CORRUPT, "file table overlaps the superblock");
	if (sb->table_start > sb->total_sectors ||
	    sb->table_sectors > sb->total_sectors - sb->table_start)
		return mount_fail(FS_ERR_CORRUPT, "file table outside the file system");
	return FS_OK;
}

/* Checks what can be checked of one entry alone and copies it into *f. */
static enum fs_error load_entry(const struct fs_superblock *sb, const struct fs_entry *e,
				struct file *f)
{
	size_t len = strnlen(e->name, FS_NAME_MAX);

	if (len == FS_NAME_MAX)
		return mount_fail(FS_ERR_CORRUPT, "file name not NUL-terminated");
	if (len == 0)
		return mount_fail(FS_ERR_CORRUPT, "empty file name");
	if (e->size > (uint64_t)e->sector_count * SECTOR_SIZE)
		return mount_fail(FS_ERR_CORRUPT, "file size larger than its extent");
	if ((uint64_t)e->first_sector + e->sector_count > sb->total_sectors)
		return mount_fail(FS_ERR_CORRUPT, "file extent outside the file system");
	memcpy(f->name, e->name, FS_NAME_MAX);
	f->size = e->size;
	f->first_sector = e->first_sector;
	f->sector_count = e->sector_count;
	return FS_OK;
}

static enum fs_error load_table(struct blockdev *d, const struct fs_superblock *sb)
{
	_Alignas(512) uint8_t sector[SECTOR_SIZE];
	uint32_t sum = FS_CHECKSUM_INIT;

	for (uint32_t i = 0; i < sb->file_count; i++) {
		uint32_t slot = i % FS_ENTRIES_PER_SECTOR;
		struct fs_entry e;
		enum fs_error err;

		if (slot == 0 && d->read(d, sb->table_start + i / FS_ENTRIES_PER_SECTOR, sector, 1))
			return mount_fail(FS_ERR_IO, "cannot read the file table");
		memcpy(&e, sector + slot * FS_ENTRY_SIZE, sizeof(e));
		sum = fs_checksum(sum, &e, sizeof(e));
		err = load_entry(sb, &e, &files[i]);
		if (err)
			return err;
	}
	if (sum != sb->table_checksum)
		return mount_fail(FS_ERR_CORRUPT, "file table checksum mismatch");
	return FS_OK;
}

/* The checks between entries: extents disjoint from the metadata and from
 * each other, names unique. Quadratic, but there are at most 64 files. */
static enum fs_error check_layout(const struct fs_superblock *sb, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct file *f = &files[i];

		if (ranges_overlap(f->first_sector, f->sector_count, 0, 1) ||
		    ranges_overlap(f->first_sector, f->sector_count, sb->table_start, sb->table_sectors))
			return mount_fail(FS_ERR_CORRUPT, "file extent overlaps the superblock or file table");
		for (uint32_t j = 0; j < i; j++) {
			if (ranges_overlap(f->first_sector, f->sector_count,
					   files[j].first_sector, files[j].sector_count))
				return mount_fail(FS_ERR_CORRUPT, "file extents overlap");
			if (!strcmp(f->name, files[j].name))
				return mount_fail(FS_ERR_CORRUPT, "duplicate file name");
		}
	}
	return FS_OK;
}

enum fs_error fs_mount(struct blockdev *dev)
{
	struct fs_superblock sb;
	enum fs_error e;

	mounted_dev = NULL;
	nfiles = 0;
	e = read_superblock(dev, &sb);
	if (!e)
		e = check_superblock(dev, &sb);
	if (!e)
		e = load_table(dev, &sb);
	if (!e)
		e = check_layout(&sb, sb.file_count);
	if (e)
		return e;
	nfiles = sb.file_count;
	mounted_dev = dev;
	mount_detail = "";
	return FS_OK;
}

struct file *fs_open(const char *name)
{
	if (!mounted_dev || !name)
		return NULL;
	for (uint32_t i = 0; i < nfiles; i++)
		if (!strcmp(files[i].name, name))
			return &files[i];
	return NULL;
}

uint64_t file_size(const struct file *f)
{
	return f ? f->size : 0;
}

uint64_t file_first_sector(const struct file *f)
{
	return f ? f->first_sector : 0;
}

/* How many bytes of [off, off+len) lie inside f, or a negative fs_error. */
static int64_t clamp_span(const struct file *f, uint64_t off, uint64_t len)
{
	if (!mounted_dev)
		return FS_ERR_NOT_MOUNTED;
	if (!f)
		return FS_ERR_NOT_FOUND;
	if (off > f->size)
		return FS_ERR_BAD_OFFSET;
	return (int64_t)(len < f->size - off ? len : f->size - off);
}

/* Moves n bytes between the file at off and buf; the span is inside the file.
 * An I/O error fails the whole call, even if some sectors were transferred. */
static int64_t transfer(const struct file *f, uint64_t off, uint8_t *buf, uint64_t n, bool write)
{
	struct blockdev *d = mounted_dev;
	uint64_t done = 0;

	while (done < n) {
		uint64_t pos = off + done, left = n - done;
		uint64_t sector = f->first_sector + pos / SECTOR_SIZE;
		uint32_t in = pos % SECTOR_SIZE;

		if (in == 0 && left >= SECTOR_SIZE) {
			uint64_t count = left / SECTOR_SIZE;
			if (count > FS_MAX_IO_SECTORS)
				count = FS_MAX_IO_SECTORS;
			if (write ? d->write(d, sector, buf + done, (uint32_t)count)
				  : d->read(d, sector, buf + done, (uint32_t)count))
				return FS_ERR_IO;
			done += count * SECTOR_SIZE;
		} else {
			/* Aligned so the buffer never straddles a page: a DMA
			 * driver may need it physically contiguous. */
			_Alignas(512) uint8_t bounce[SECTOR_SIZE];
			uint64_t chunk = SECTOR_SIZE - in < left ? SECTOR_SIZE - in : left;

			if (d->read(d, sector, bounce, 1))
				return FS_ERR_IO;
			if (write) {
				memcpy(bounce + in, buf + done, chunk);
				if (d->write(d, sector, bounce, 1))
					return FS_ERR_IO;
			} else {
				memcpy(buf + done, bounce + in, chunk);
			}
			done += chunk;
		}
	}
	return (int64_t)done;
}

static struct fs_stats stats;

static void count(uint64_t *calls, uint64_t *bytes, uint64_t *cycles, int64_t moved, uint64_t t0)
{
	__atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
	if (moved > 0)
		__atomic_fetch_add(bytes, (uint64_t)moved, __ATOMIC_RELAXED);
	__atomic_fetch_add(cycles, __builtin_ia32_rdtsc() - t0, __ATOMIC_RELAXED);
}

int64_t file_read(struct file *f, uint64_t off, void *buf, uint64_t len)
{
	uint64_t t0 = __builtin_ia32_rdtsc();
	int64_t n = clamp_span(f, off, len);

	if (n > 0)
		n = transfer(f, off, buf, (uint64_t)n, false);
	count(&stats.read_calls, &stats.bytes_read, &stats.read_cycles, n, t0);
	return n;
}

int64_t file_write(struct file *f, uint64_t off, const void *buf, uint64_t len)
{
	uint64_t t0 = __builtin_ia32_rdtsc();
	int64_t n = clamp_span(f, off, len);

	/* transfer() only reads from buf when write is true. */
	if (n > 0)
		n = transfer(f, off, (uint8_t *)(uintptr_t)buf, (uint64_t)n, true);
	count(&stats.write_calls, &stats.bytes_written, &stats.write_cycles, n, t0);
	return n;
}

void fs_get_stats(struct fs_stats *out)
{
	out->read_calls = __atomic_load_n(&stats.read_calls, __ATOMIC_RELAXED);
	out->write_calls = __atomic_load_n(&stats.write_calls, __ATOMIC_RELAXED);
	out->bytes_read = __atomic_load_n(&stats.bytes_read, __ATOMIC_RELAXED);
	out->bytes_written = __atomic_load_n(&stats.bytes_written, __ATOMIC_RELAXED);
	out->read_cycles = __atomic_load_n(&stats.read_cycles, __ATOMIC_RELAXED);
	out->write_cycles = __atomic_load_n(&stats.write_cycles, __ATOMIC_RELAXED);
}

enum fs_error fs_sync(void)
{
	struct blockdev *d = mounted_dev;

	if (!d)
		return FS_ERR_NOT_MOUNTED;
	if (d->flush && d->flush(d))
		return FS_ERR_IO;
	return FS_OK;
}

const char *fs_strerror(enum fs_error e)
{
	switch (e) {
	case FS_OK: return "success";
	case FS_ERR_IO: return "I/O error";
	case FS_ERR_BAD_MAGIC: return "not a keos file system (bad magic)";
	case FS_ERR_BAD_VERSION: return "unsupported file system version";
	case FS_ERR_CORRUPT: return "corrupt file system";
	case FS_ERR_NOT_FOUND: return "no such file";
	case FS_ERR_BAD_OFFSET: return "offset beyond the end of the file";
	case FS_ERR_NOT_MOUNTED: return "no file system mounted";
	case FS_ERR_TOO_MANY_FILES: return "too many files";
	}
	return "unknown file system error";
}
