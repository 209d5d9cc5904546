/* Host tests of keos/fs/fs.c over an in-memory block device.
 *
 * Each test builds its image with build_image(), which lays files out the way
 * mkfs does but fills every byte with a value derived from (file, offset) and
 * every slack byte with SLACK, so a test can tell exactly which bytes a read
 * returned or a write changed. The device can be told to fail one sector
 * and counts flushes. Corruption tests damage one field, reseal the table
 * checksum (so the specific check, not the checksum, must catch it), and
 * expect both the error code and the fs_mount_detail() wording. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "keos/fs/fs.h"
#include "keos/fs/fs_format.h"

#define SLACK 0xEE
#define NO_FAIL UINT64_MAX

struct memdev {
	struct blockdev dev;
	uint64_t fail_sector;       /* requests touching it fail */
	uint32_t max_count;         /* largest request seen */
	int flushes;
	int flush_result;
	_Alignas(8) uint8_t data[];  /* the sectors, sized by build_image */
};

struct tfile {
	const char *name;
	uint64_t size;
};

static bool touches_failing(const struct memdev *m, uint64_t sector, uint32_t count)
{
	return m->fail_sector >= sector && m->fail_sector < sector + count;
}

static int mem_read(struct blockdev *d, uint64_t sector, void *buf, uint32_t count)
{
	struct memdev *m = d->priv;

	if (sector + count > d->nsectors || touches_failing(m, sector, count))
		return -1;
	if (count > m->max_count)
		m->max_count = count;
	memcpy(buf, m->data + sector * SECTOR_SIZE, (size_t)count * SECTOR_SIZE);
	return 0;
}

static int mem_write(struct blockdev *d, uint64_t sector, const void *buf, uint32_t count)
{
	struct memdev *m = d->priv;

	if (sector + count > d->nsectors || touches_failing(m, sector, count))
		return -1;
	memcpy(m->data + sector * SECTOR_SIZE, buf, (size_t)count * SECTOR_SIZE);
	return 0;
}

static int mem_flush(struct blockdev *d)
{
	struct memdev *m = d->priv;

	m->flushes++;
	return m->flush_result;
}

static uint8_t pattern(uint32_t file, uint64_t off)
{
	return (uint8_t)(file * 37 + off * 7 + off / 251);
}

static struct fs_superblock *sb_of(struct memdev *m)
{
	return (struct fs_superblock *)m->data;
}

static struct fs_entry *entry_of(struct memdev *m, uint32_t i)
{
	return (struct fs_entry *)(m->data + sb_of(m)->table_start * SECTOR_SIZE) + i;
}

static uint8_t *file_bytes(struct memdev *m, uint32_t i)
{
	return m->data + (uint64_t)entry_of(m, i)->first_sector * SECTOR_SIZE;
}

static void reseal(struct memdev *m)
{
	sb_of(m)->table_checksum = fs_checksum(FS_CHECKSUM_INIT, entry_of(m, 0),
					       (size_t)sb_of(m)->file_count * FS_ENTRY_SIZE);
}

static uint32_t sectors_for(uint64_t size)
{
	return (uint32_t)((size + SECTOR_SIZE - 1) / SECTOR_SIZE);
}

/* A fresh device holding files laid out as mkfs would, device sized exactly. */
static struct memdev *build_image(const struct tfile *files, uint32_t n)
{
	uint64_t next = 1 + fs_table_sectors(n), total = next;

	for (uint32_t i = 0; i < n; i++)
		total += sectors_for(files[i].size);

	struct memdev *m = calloc(1, sizeof(*m) + total * SECTOR_SIZE);
	ck_assert_ptr_nonnull(m);
	struct fs_superblock *sb = sb_of(m);

	m->dev = (struct blockdev){ .nsectors = total, .read = mem_read, .write = mem_write,
				    .flush = mem_flush, .priv = m };
	m->fail_sector = NO_FAIL;
	memcpy(sb->magic, FS_MAGIC, FS_MAGIC_LEN);
	sb->version = FS_VERSION;
	sb->entry_size = FS_ENTRY_SIZE;
	sb->total_sectors = total;
	sb->table_start = 1;
	sb->table_sectors = fs_table_sectors(n);
	sb->file_count = n;
	for (uint32_t i = 0; i < n; i++) {
		struct fs_entry *e = entry_of(m, i);

		strcpy(e->name, files[i].name);
		e->size = files[i].size;
		e->first_sector = (uint32_t)next;
		e->sector_count = sectors_for(files[i].size);
		memset(file_bytes(m, i), SLACK, (size_t)e->sector_count * SECTOR_SIZE);
		for (uint64_t o = 0; o < files[i].size; o++)
			file_bytes(m, i)[o] = pattern(i, o);
		next += e->sector_count;
	}
	reseal(m);
	return m;
}

/* Three files: one sector and a bit, an exact sector, a 3-sector one with slack. */
static const struct tfile three[] = {
	{ "alpha", 700 }, { "beta", 512 }, { "gamma", 1300 },
};

static struct memdev *mount_three(void)
{
	struct memdev *m = build_image(three, 3);

	ck_assert_int_eq(fs_mount(&m->dev), FS_OK);
	return m;
}

static void assert_pattern(const uint8_t *buf, uint32_t file, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		ck_assert_msg(buf[i] == pattern(file, off + i), "byte %llu of file %u at offset %llu",
			      (unsigned long long)i, file, (unsigned long long)off);
}

START_TEST(mount_ok)
{
	struct memdev *m = mount_three();

	ck_assert_str_eq(fs_mount_detail(), "");
	for (uint32_t i = 0; i < 3; i++) {
		struct file *f = fs_open(three[i].name);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(file_size(f), three[i].size);
	}
	free(m);
}
END_TEST

START_TEST(mount_empty_fs)
{
	struct memdev *m = build_image(NULL, 0);

	ck_assert_int_eq(fs_mount(&m->dev), FS_OK);
	ck_assert_ptr_null(fs_open("alpha"));
	free(m);
}
END_TEST

START_TEST(open_missing)
{
	struct memdev *m = mount_three();

	ck_assert_ptr_null(fs_open("delta"));
	ck_assert_ptr_null(fs_open("alph"));
	ck_assert_ptr_null(fs_open(""));
	ck_assert_ptr_null(fs_open(NULL));
	free(m);
}
END_TEST

START_TEST(read_whole)
{
	struct memdev *m = mount_three();
	uint8_t buf[2000];

	ck_assert_int_eq(file_read(fs_open("gamma"), 0, buf, 1300), 1300);
	assert_pattern(buf, 2, 0, 1300);
	ck_assert_int_eq(file_read(fs_open("beta"), 0, buf, sizeof(buf)), 512);
	assert_pattern(buf, 1, 0, 512);
	free(m);
}
END_TEST

/* Every (offset, length) pair around sector boundaries, clipped at the end. */
START_TEST(read_crossing_sectors)
{
	static const uint64_t offs[] = { 0, 1, 100, 511, 512, 513, 1023, 1024, 1025, 1299 };
	static const uint64_t lens[] = { 1, 2, 411, 511, 512, 513, 1024, 1300 };
	struct memdev *m = mount_three();
	struct file *f = fs_open("gamma");
	uint8_t buf[1400];

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			uint64_t want = lens[j] < 1300 - offs[i] ? lens[j] : 1300 - offs[i];

			memset(buf, 0, sizeof(buf));
			ck_assert_int_eq(file_read(f, offs[i], buf, lens[j]), (int64_t)want);
			assert_pattern(buf, 2, offs[i], want);
		}
	}
	free(m);
}
END_TEST

START_TEST(read_short_at_end)
{
	struct memdev *m = mount_three();
	uint8_t buf[100];

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(file_read(fs_open("alpha"), 690, buf, sizeof(buf)), 10);
	assert_pattern(buf, 0, 690, 10);
	ck_assert_uint_eq(buf[10], 0);      /* nothing of the slack leaked out */
	free(m);
}
END_TEST

START_TEST(offset_at_and_past_end)
{
	struct memdev *m = mount_three();
	struct file *f = fs_open("alpha");
	uint8_t buf[8] = { 0 };

	ck_assert_int_eq(file_read(f, 700, buf, sizeof(buf)), 0);
	ck_assert_int_eq(file_write(f, 700, buf, sizeof(buf)), 0);
	ck_assert_int_eq(file_read(f, 701, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	ck_assert_int_eq(file_write(f, 701, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	ck_assert_int_eq(file_read(f, UINT64_MAX, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	ck_assert_int_eq(file_read(f, 0, buf, 0), 0);
	ck_assert_int_eq(file_read(NULL, 0, buf, 1), FS_ERR_NOT_FOUND);
	free(m);
}
END_TEST

START_TEST(empty_file)
{
	static const struct tfile files[] = { { "a", 5 }, { "empty", 0 }, { "z", 600 } };
	struct memdev *m = build_image(files, 3);
	uint8_t buf[4];

	ck_assert_int_eq(fs_mount(&m->dev), FS_OK);
	ck_assert_uint_eq(file_size(fs_open("empty")), 0);
	ck_assert_int_eq(file_read(fs_open("empty"), 0, buf, sizeof(buf)), 0);
	ck_assert_int_eq(file_write(fs_open("empty"), 0, buf, sizeof(buf)), 0);
	ck_assert_int_eq(file_read(fs_open("empty"), 1, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	free(m);
}
END_TEST

START_TEST(write_read_back)
{
	struct memdev *m = mount_three();
	struct file *f = fs_open("gamma");
	uint8_t in[900], out[1300];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 5);
	ck_assert_int_eq(file_write(f, 300, in, sizeof(in)), 900);
	ck_assert_int_eq(file_read(f, 0, out, sizeof(out)), 1300);
	assert_pattern(out, 2, 0, 300);
	ck_assert_mem_eq(out + 300, in, sizeof(in));
	assert_pattern(out + 1200, 2, 1200, 100);
	/* The bytes really are on the device, where the extent says. */
	ck_assert_mem_eq(file_bytes(m, 2) + 300, in, sizeof(in));
	free(m);
}
END_TEST

/* alpha's extent is sectors [2,4) and beta's [4,5): filling alpha must
 * change neither beta nor alpha's slack bytes 700..1023. */
START_TEST(write_keeps_neighbours)
{
	struct memdev *m = mount_three();
	uint8_t in[2000], out[512];

	memset(in, 0xAA, sizeof(in));
	ck_assert_int_eq(file_write(fs_open("alpha"), 1, in, sizeof(in)), 699);
	ck_assert_uint_eq(file_bytes(m, 0)[0], pattern(0, 0));
	for (size_t i = 1; i < 700; i++)
		ck_assert_uint_eq(file_bytes(m, 0)[i], 0xAA);
	for (size_t i = 700; i < 1024; i++)
		ck_assert_uint_eq(file_bytes(m, 0)[i], SLACK);
	ck_assert_int_eq(file_read(fs_open("beta"), 0, out, sizeof(out)), 512);
	assert_pattern(out, 1, 0, 512);
	free(m);
}
END_TEST

START_TEST(write_short_at_end)
{
	struct memdev *m = mount_three();
	uint8_t in[64];

	memset(in, 0x55, sizeof(in));
	ck_assert_int_eq(file_write(fs_open("beta"), 500, in, sizeof(in)), 12);
	for (size_t i = 500; i < 512; i++)
		ck_assert_uint_eq(file_bytes(m, 1)[i], 0x55);
	assert_pattern(file_bytes(m, 2), 2, 0, 16);   /* gamma's first bytes untouched */
	free(m);
}
END_TEST

/* 20 files need a 3-sector table: entries past the first sector are found,
 * and a duplicate across table sectors is still caught. */
START_TEST(multi_sector_table)
{
	static char names[20][8];
	struct tfile files[20];
	uint8_t buf[64];

	for (uint32_t i = 0; i < 20; i++) {
		names[i][0] = 'f';
		names[i][1] = (char)('a' + i);
		files[i] = (struct tfile){ names[i], 10 + i };
	}
	struct memdev *m = build_image(files, 20);
	ck_assert_uint_eq(sb_of(m)->table_sectors, 3);
	ck_assert_int_eq(fs_mount(&m->dev), FS_OK);
	ck_assert_int_eq(file_read(fs_open("ft"), 0, buf, sizeof(buf)), 29);
	assert_pattern(buf, 19, 0, 29);
	strcpy(entry_of(m, 19)->name, "fa");
	reseal(m);
	ck_assert_int_eq(fs_mount(&m->dev), FS_ERR_CORRUPT);
	ck_assert_str_eq(fs_mount_detail(), "duplicate file name");
	free(m);
}
END_TEST

/* A file longer than one direct request is split, and still read right. */
START_TEST(large_file_split_requests)
{
	static const struct tfile files[] = { { "big", 300 * 512 + 77 } };
	struct memdev *m = build_image(files, 1);
	static uint8_t buf[300 * 512 + 77];

	ck_assert_int_eq(fs_mount(&m->dev), FS_OK);
	ck_assert_int_eq(file_read(fs_open("big"), 3, buf, sizeof(buf)), (int64_t)sizeof(buf) - 3);
	assert_pattern(buf, 0, 3, sizeof(buf) - 3);
	ck_assert_int_eq(file_read(fs_open("big"), 0, buf, sizeof(buf)), (int64_t)sizeof(buf));
	assert_pattern(buf, 0, 0, sizeof(buf));
	ck_assert_uint_le(m->max_count, 128);
	free(m);
}
END_TEST

START_TEST(io_error_propagates)
{
	struct memdev *m = mount_three();
	uint8_t buf[1300];

	m->fail_sector = entry_of(m, 2)->first_sector + 1;
	ck_assert_int_eq(file_read(fs_open("gamma"), 0, buf, sizeof(buf)), FS_ERR_IO);
	ck_assert_int_eq(file_read(fs_open("gamma"), 600, buf, 10), FS_ERR_IO);
	ck_assert_int_eq(file_write(fs_open("gamma"), 0, buf, sizeof(buf)), FS_ERR_IO);
	ck_assert_int_eq(file_write(fs_open("gamma"), 600, buf, 10), FS_ERR_IO);
	/* Other sectors still work. */
	ck_assert_int_eq(file_read(fs_open("gamma"), 0, buf, 512), 512);
	free(m);
}
END_TEST

START_TEST(io_error_during_mount)
{
	struct memdev *m = build_image(three, 3);

	m->fail_sector = 0;
	ck_assert_int_eq(fs_mount(&m->dev), FS_ERR_IO);
	m->fail_sector = 1;
	ck_assert_int_eq(fs_mount(&m->dev), FS_ERR_IO);
	ck_assert_ptr_null(fs_open("alpha"));
	free(m);
}
END_TEST

START_TEST(sync_flushes)
{
	struct memdev *m = mount_three();

	ck_assert_int_eq(fs_sync(), FS_OK);
	ck_assert_int_eq(m->flushes, 1);
	m->flush_result = -5;
	ck_assert_int_eq(fs_sync(), FS_ERR_IO);
	ck_assert_int_eq(m->flushes, 2);
	m->dev.flush = NULL;        /* a device without a write cache */
	ck_assert_int_eq(fs_sync(), FS_OK);
	free(m);
}
END_TEST

/* A failed mount unmounts: nothing is served from a half-checked table. */
START_TEST(failed_mount_unmounts)
{
	struct memdev *m = mount_three();
	struct memdev *bad = build_image(three, 3);
	uint8_t buf[4];

	bad->data[0] = 'X';
	ck_assert_int_eq(fs_mount(&bad->dev), FS_ERR_BAD_MAGIC);
	ck_assert_ptr_null(fs_open("alpha"));
	ck_assert_int_eq(file_read(NULL, 0, buf, 1), FS_ERR_NOT_MOUNTED);
	ck_assert_int_eq(fs_sync(), FS_ERR_NOT_MOUNTED);
	ck_assert_int_eq(fs_mount(NULL), FS_ERR_CORRUPT);
	free(bad);
	free(m);
}
END_TEST

START_TEST(strerror_all)
{
	for (int e = FS_OK; e >= FS_ERR_TOO_MANY_FILES; e--) {
		ck_assert_ptr_nonnull(fs_strerror(e));
		ck_assert_str_ne(fs_strerror(e), "unknown file system error");
		for (int o = FS_OK; o > e; o--)
			ck_assert_str_ne(fs_strerror(e), fs_strerror(o));
	}
	ck_assert_str_eq(fs_strerror((enum fs_error)-99), "unknown file system error");
}
END_TEST

/* --- corrupted images: one damage per loop index ------------------------------ */

struct corruption {
	const char *what;
	void (*damage)(struct memdev *m);
	enum fs_error error;
	const char *detail;     /* a substring of fs_mount_detail() */
};

static void bad_magic(struct memdev *m) { sb_of(m)->magic[2] = 'X'; }
static void bad_version(struct memdev *m) { sb_of(m)->version = 2; }
static void bad_entry_size(struct memdev *m) { sb_of(m)->entry_size = 32; }
static void table_outside(struct memdev *m) { sb_of(m)->table_start = sb_of(m)->total_sectors; }
static void table_huge_start(struct memdev *m) { sb_of(m)->table_start = UINT64_MAX; }
static void table_on_superblock(struct memdev *m) { sb_of(m)->table_start = 0; }
static void table_length(struct memdev *m) { sb_of(m)->table_sectors = 2; }
static void truncated(struct memdev *m) { m->dev.nsectors--; }
static void empty_device(struct memdev *m) { m->dev.nsectors = 0; }
static void zero_total(struct memdev *m) { sb_of(m)->total_sectors = 0; }
static void too_many(struct memdev *m) { sb_of(m)->file_count = FS_MAX_FILES + 1; }

static void extent_outside(struct memdev *m)
{
	entry_of(m, 2)->sector_count++;
	reseal(m);
}

static void extent_wraps(struct memdev *m)
{
	entry_of(m, 2)->first_sector = UINT32_MAX;
	reseal(m);
}

static void extents_overlap(struct memdev *m)
{
	entry_of(m, 1)->first_sector--;     /* beta now starts in alpha's last sector */
	reseal(m);
}

static void extent_on_table(struct memdev *m)
{
	entry_of(m, 0)->first_sector = 1;
	reseal(m);
}

static void name_without_nul(struct memdev *m)
{
	memset(entry_of(m, 1)->name, 'n', FS_NAME_MAX);
	reseal(m);
}

static void empty_name(struct memdev *m)
{
	entry_of(m, 1)->name[0] = '\0';
	reseal(m);
}

static void duplicate_name(struct memdev *m)
{
	strcpy(entry_of(m, 2)->name, "alpha");
	reseal(m);
}

static void size_over_extent(struct memdev *m)
{
	entry_of(m, 0)->size = 1025;
	reseal(m);
}

static void checksum_stale(struct memdev *m) { entry_of(m, 0)->size = 701; }

static const struct corruption corruptions[] = {
	{ "bad magic", bad_magic, FS_ERR_BAD_MAGIC, "magic" },
	{ "bad version", bad_version, FS_ERR_BAD_VERSION, "version" },
	{ "bad entry size", bad_entry_size, FS_ERR_BAD_VERSION, "entry size" },
	{ "table outside device", table_outside, FS_ERR_CORRUPT, "table outside" },
	{ "table start overflows", table_huge_start, FS_ERR_CORRUPT, "table outside" },
	{ "table on superblock", table_on_superblock, FS_ERR_CORRUPT, "overlaps the superblock" },
	{ "table length", table_length, FS_ERR_CORRUPT, "table length" },
	{ "truncated device", truncated, FS_ERR_CORRUPT, "truncated" },
	{ "empty device", empty_device, FS_ERR_CORRUPT, "smaller than one sector" },
	{ "zero total sectors", zero_total, FS_ERR_CORRUPT, "zero sectors" },
	{ "too many files", too_many, FS_ERR_TOO_MANY_FILES, "more files" },
	{ "extent outside device", extent_outside, FS_ERR_CORRUPT, "extent outside" },
	{ "extent wraps", extent_wraps, FS_ERR_CORRUPT, "extent outside" },
	{ "overlapping extents", extents_overlap, FS_ERR_CORRUPT, "extents overlap" },
	{ "extent on table", extent_on_table, FS_ERR_CORRUPT, "overlaps the superblock or file table" },
	{ "name without NUL", name_without_nul, FS_ERR_CORRUPT, "NUL" },
	{ "empty name", empty_name, FS_ERR_CORRUPT, "empty file name" },
	{ "duplicate name", duplicate_name, FS_ERR_CORRUPT, "duplicate" },
	{ "size > extent", size_over_extent, FS_ERR_CORRUPT, "larger than its extent" },
	{ "stale checksum", checksum_stale, FS_ERR_CORRUPT, "checksum" },
};
#define NCORRUPTIONS ((int)(sizeof(corruptions) / sizeof(corruptions[0])))

START_TEST(corrupted_image)
{
	const struct corruption *c = &corruptions[_i];
	struct memdev *m = build_image(three, 3);

	c->damage(m);
	ck_assert_msg(fs_mount(&m->dev) == c->error, "%s: got %s", c->what,
		      fs_strerror(fs_mount(&m->dev)));
	ck_assert_msg(strstr(fs_mount_detail(), c->detail), "%s: detail \"%s\"", c->what,
		      fs_mount_detail());
	ck_assert_ptr_null(fs_open("alpha"));
	free(m);
}
END_TEST

/* Random damage to the superblock and table must fail cleanly or mount an
 * image whose every file can be read in full (ASan/UBSan watch the reads). */
START_TEST(garbage_images)
{
	uint32_t seed = 12345;

	for (int round = 0; round < 3000; round++) {
		struct memdev *g = build_image(three, 3);
		/* Some rounds spare magic and version to reach the deeper checks,
		 * some damage only the table and reseal it to get past the checksum. */
		size_t lo = round % 4 == 1 ? SECTOR_SIZE : round % 2 ? 16 : 0;
		uint8_t buf[8 * SECTOR_SIZE];  /* the whole device: no file can be larger */

		for (int k = 0; k <= round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			g->data[lo + (seed >> 8) % (2 * SECTOR_SIZE - lo)] = (uint8_t)(seed >> 20);
		}
		if (round % 4 == 1)
			reseal(g);
		enum fs_error e = fs_mount(&g->dev);
		ck_assert_int_le(e, FS_OK);
		ck_assert_int_ge(e, FS_ERR_TOO_MANY_FILES);
		for (uint32_t i = 0; e == FS_OK && i < sb_of(g)->file_count; i++) {
			struct file *f = fs_open(entry_of(g, i)->name);
			ck_assert_ptr_nonnull(f);
			ck_assert_uint_le(file_size(f), sizeof(buf));
			ck_assert_int_eq(file_read(f, 0, buf, sizeof(buf)), (int64_t)file_size(f));
		}
		free(g);
	}
}
END_TEST

/* Two readers and a writer of different files at once: no shared per-call state. */
struct worker {
	const char *name;
	uint32_t index;
	bool write;
	bool ok;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct file *f = fs_open(w->name);
	uint8_t buf[1300];

	w->ok = true;
	for (int round = 0; round < 300 && w->ok; round++) {
		uint64_t off = (uint64_t)round % 37, len = file_size(f) - off;

		if (w->write) {
			memset(buf, round & 0xff, sizeof(buf));
			w->ok = file_write(f, off, buf, len) == (int64_t)len;
			continue;
		}
		w->ok = file_read(f, off, buf, len) == (int64_t)len;
		for (uint64_t i = 0; i < len && w->ok; i++)
			w->ok = buf[i] == pattern(w->index, off + i);
	}
	return NULL;
}

START_TEST(concurrent_callers)
{
	struct memdev *m = mount_three();
	struct worker w[3] = { { "alpha", 0, false, false }, { "beta", 1, true, false },
			       { "gamma", 2, false, false } };
	pthread_t t[3];

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(w[i].ok, "worker %s", w[i].name);
	}
	free(m);
}
END_TEST

static Suite *fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *io = tcase_create("io");
	TCase *bad = tcase_create("corrupt");

	tcase_add_test(io, mount_ok);
	tcase_add_test(io, mount_empty_fs);
	tcase_add_test(io, open_missing);
	tcase_add_test(io, read_whole);
	tcase_add_test(io, read_crossing_sectors);
	tcase_add_test(io, read_short_at_end);
	tcase_add_test(io, offset_at_and_past_end);
	tcase_add_test(io, empty_file);
	tcase_add_test(io, write_read_back);
	tcase_add_test(io, write_keeps_neighbours);
	tcase_add_test(io, write_short_at_end);
	tcase_add_test(io, multi_sector_table);
	tcase_add_test(io, large_file_split_requests);
	tcase_add_test(io, io_error_propagates);
	tcase_add_test(io, io_error_during_mount);
	tcase_add_test(io, sync_flushes);
	tcase_add_test(io, failed_mount_unmounts);
	tcase_add_test(io, strerror_all);
	tcase_add_test(io, concurrent_callers);
	tcase_add_loop_test(bad, corrupted_image, 0, NCORRUPTIONS);
	tcase_add_test(bad, garbage_images);
	tcase_set_timeout(bad, 60);
	suite_add_tcase(s, io);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
