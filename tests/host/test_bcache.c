/* Host tests of the block cache (keos/fs/bcache.c) over a model disk.
 *
 * The model disk (struct memdev) is an array of sectors that counts every
 * request, can fail any range of sectors for reads or writes with its own
 * error code, can fail its flush, and can call a hook before each request
 * (to block, to re-enter the cache, or to check when writes happen). Every
 * sector the tests write carries a stamp: the number of the operation that
 * wrote it and its own sector number, then a pattern derived from both, so
 * a sector read back or found on the disk tells which write it came from
 * and whether it is torn.
 *
 * Covered: reads of every shape match the disk; writes stay in the cache
 * (the disk sees nothing) until bcache_flush or an eviction, and a flush
 * leaves the disk equal to the model; eviction is least recently used,
 * writes back only the victim's dirty sectors and keeps the cache within its
 * extents; sequential reads read ahead to the end of the extent (counted),
 * random ones do not, read-ahead stops at the device's end and never
 * overwrites dirty sectors; errors of the lower device come back unchanged
 * and leave no wrong data behind (a failed write-back stays dirty); range
 * checks; a long random run against the model in which every disk write is
 * explained by a flush or an eviction; a "crash" (the cache dropped without
 * a flush) after which every disk sector holds its last flushed stamp or a
 * later one written to it, never anything else; four threads sharing
 * extents; a flush from inside the cache's own I/O; an owner that never
 * finishes; and the file system mounted on the cache (fs_sync flushes it). */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "keos/fs/bcache.h"
#include "keos/fs/bcache_host.h"
#include "keos/fs/fs.h"
#include "keos/fs/fs_format.h"
#include "tests/host/keos_host_shim.h"

/* Silent until it fails: ck_assert reports every passing check to the parent. */
#define EXPECT(cond, ...)                              \
	do {                                           \
		if (!(cond))                           \
			ck_abort_msg(__VA_ARGS__);     \
	} while (0)

#define EXT BCACHE_EXTENT_SECTORS
#define MEM_ERR (-42)              /* what the model disk fails with */

struct memdev;
typedef void (*memdev_hook)(struct memdev *m, bool write, uint64_t sector, uint32_t count);

struct memdev {
	struct blockdev dev;
	uint8_t *data;
	uint64_t fail_read_from, fail_read_to;     /* reads touching [from, to) fail */
	uint64_t fail_write_from, fail_write_to;
	int flush_result;
	uint64_t reads, writes, flushes;           /* requests */
	uint64_t read_sectors, write_sectors;
	memdev_hook hook;
	void *hook_arg;
};

static bool touches(uint64_t sector, uint32_t count, uint64_t from, uint64_t to)
{
	return sector < to && from < sector + count;
}

static int mem_read(struct blockdev *d, uint64_t sector, void *buf, uint32_t count)
{
	struct memdev *m = d->priv;

	if (m->hook)
		m->hook(m, false, sector, count);
	if (sector + count > d->nsectors || touches(sector, count, m->fail_read_from, m->fail_read_to))
		return MEM_ERR;
	__atomic_fetch_add(&m->reads, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->read_sectors, count, __ATOMIC_RELAXED);
	memcpy(buf, m->data + sector * SECTOR_SIZE, (size_t)count * SECTOR_SIZE);
	return 0;
}

static int mem_write(struct blockdev *d, uint64_t sector, const void *buf, uint32_t count)
{
	struct memdev *m = d->priv;

	if (m->hook)
		m->hook(m, true, sector, count);
	if (sector + count > d->nsectors || touches(sector, count, m->fail_write_from, m->fail_write_to))
		return MEM_ERR;
	__atomic_fetch_add(&m->writes, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->write_sectors, count, __ATOMIC_RELAXED);
	memcpy(m->data + sector * SECTOR_SIZE, buf, (size_t)count * SECTOR_SIZE);
	return 0;
}

static int mem_flush(struct blockdev *d)
{
	struct memdev *m = d->priv;

	__atomic_fetch_add(&m->flushes, 1, __ATOMIC_RELAXED);
	return m->flush_result;
}

/* The stamp of sector s as written by operation op. */
static void stamp(uint8_t *sec, uint64_t op, uint64_t s)
{
	memcpy(sec, &op, 8);
	memcpy(sec + 8, &s, 8);
	for (uint32_t i = 16; i < SECTOR_SIZE; i++)
		sec[i] = (uint8_t)(op * 31 + s * 7 + i);
}

/* The operation whose stamp sector s holds, or -1 if it holds no whole stamp of s. */
static int64_t stamp_op(const uint8_t *sec, uint64_t s)
{
	uint8_t want[SECTOR_SIZE];
	uint64_t op;

	memcpy(&op, sec, 8);
	stamp(want, op, s);
	return memcmp(sec, want, SECTOR_SIZE) ? -1 : (int64_t)op;
}

static struct memdev *memdev_new(uint64_t nsectors)
{
	struct memdev *m = calloc(1, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	m->data = malloc(nsectors * SECTOR_SIZE);
	ck_assert_ptr_nonnull(m->data);
	for (uint64_t s = 0; s < nsectors; s++)
		stamp(m->data + s * SECTOR_SIZE, 0, s);
	m->dev = (struct blockdev){ .nsectors = nsectors, .read = mem_read, .write = mem_write,
				    .flush = mem_flush, .priv = m };
	return m;
}

static void memdev_free(struct memdev *m)
{
	free(m->data);
	free(m);
}

struct cached {
	struct bcache c;
	void *mem;
	struct memdev *m;
};

static struct cached *cached_new(uint64_t nsectors, uint32_t nextents)
{
	struct cached *k = calloc(1, sizeof(*k));

	ck_assert_ptr_nonnull(k);
	shim_reset();
	k->m = memdev_new(nsectors);
	k->mem = aligned_alloc(4096, (size_t)nextents * BCACHE_EXTENT_BYTES);
	ck_assert_ptr_nonnull(k->mem);
	ck_assert_int_eq(bcache_init(&k->c, &k->m->dev, k->mem, nextents), 0);
	return k;
}

/* Drops the cache without flushing: what a crash does. */
static void cached_free(struct cached *k)
{
	ck_assert_int_eq(shim_locks_held(), 0);
	memdev_free(k->m);
	free(k->mem);
	free(k);
}

static struct bcache_stats stats(struct cached *k)
{
	struct bcache_stats st;

	bcache_get_stats(&k->c, &st);
	return st;
}

static int cread(struct cached *k, uint64_t sector, void *buf, uint32_t count)
{
	return k->c.dev.read(&k->c.dev, sector, buf, count);
}

static int cwrite(struct cached *k, uint64_t sector, const void *buf, uint32_t count)
{
	return k->c.dev.write(&k->c.dev, sector, buf, count);
}

/* Writes count stamped sectors at sector as operation op through the cache. */
static void write_stamped(struct cached *k, uint64_t sector, uint32_t count, uint64_t op)
{
	uint8_t *buf = malloc((size_t)count * SECTOR_SIZE);

	ck_assert_ptr_nonnull(buf);
	for (uint32_t i = 0; i < count; i++)
		stamp(buf + (size_t)i * SECTOR_SIZE, op, sector + i);
	ck_assert_int_eq(cwrite(k, sector, buf, count), 0);
	free(buf);
}

/* Reads count sectors at sector through the cache; each must hold op's stamp. */
static void expect_stamped(struct cached *k, uint64_t sector, uint32_t count, uint64_t op)
{
	uint8_t *buf = malloc((size_t)count * SECTOR_SIZE);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(cread(k, sector, buf, count), 0);
	for (uint32_t i = 0; i < count; i++)
		EXPECT(stamp_op(buf + (size_t)i * SECTOR_SIZE, sector + i) == (int64_t)op,
		       "sector %lu reads as stamp %ld, expected %lu", (unsigned long)(sector + i),
		       (long)stamp_op(buf + (size_t)i * SECTOR_SIZE, sector + i), (unsigned long)op);
	free(buf);
}

/* The stamp the model disk holds in sector s. */
static int64_t disk_op(struct cached *k, uint64_t s)
{
	return stamp_op(k->m->data + s * SECTOR_SIZE, s);
}

START_TEST(reads_match_the_disk)
{
	struct cached *k = cached_new(1000, 4);
	static const struct { uint64_t sector; uint32_t count; } spans[] = {
		{ 0, 1 }, { 127, 2 }, { 5, 300 }, { 999, 1 }, { 872, 128 }, { 300, 128 }, { 0, 1000 },
	};

	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
		expect_stamped(k, spans[i].sector, spans[i].count, 0);
	ck_assert_int_eq(cread(k, 0, NULL, 0), 0);
	ck_assert_uint_eq(k->m->writes, 0);
	cached_free(k);
}
END_TEST

START_TEST(writes_wait_for_flush)
{
	struct cached *k = cached_new(1000, 8);

	write_stamped(k, 10, 5, 1);
	write_stamped(k, 126, 4, 2);          /* crosses an extent boundary */
	write_stamped(k, 999, 1, 3);
	ck_assert_uint_eq(k->m->writes, 0);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 10);
	ck_assert_int_eq(disk_op(k, 10), 0);
	expect_stamped(k, 10, 5, 1);
	expect_stamped(k, 126, 4, 2);
	expect_stamped(k, 20, 4, 0);          /* not next to 10..14: no read-ahead joins them */

	ck_assert_int_eq(bcache_flush(&k->c), 0);
	ck_assert_uint_eq(k->m->flushes, 1);
	ck_assert_uint_eq(k->m->write_sectors, 10);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 0);
	for (uint64_t s = 0; s < 1000; s++) {
		int64_t want = s >= 10 && s < 15 ? 1 : s >= 126 && s < 130 ? 2 : s == 999 ? 3 : 0;
		EXPECT(disk_op(k, s) == want, "disk sector %lu holds stamp %ld, expected %ld",
		       (unsigned long)s, (long)disk_op(k, s), (long)want);
	}
	/* Nothing dirty: a second flush only flushes the disk. */
	uint64_t writes = k->m->writes;
	ck_assert_int_eq(bcache_flush(&k->c), 0);
	ck_assert_uint_eq(k->m->writes, writes);
	ck_assert_uint_eq(k->m->flushes, 2);
	ck_assert_uint_eq(stats(k).flushes, 2);
	cached_free(k);
}
END_TEST

START_TEST(write_back_joins_runs_of_valid_sectors)
{
	struct cached *k = cached_new(1000, 2);

	/* Sectors 0..63 valid (a read), 2 and 40 dirty: one write of 2..40. */
	expect_stamped(k, 0, 64, 0);
	write_stamped(k, 2, 1, 1);
	write_stamped(k, 40, 1, 2);
	/* 100 dirty, but 64..99 are not valid: a second write. */
	write_stamped(k, 100, 1, 3);
	ck_assert_int_eq(bcache_flush(&k->c), 0);
	ck_assert_uint_eq(k->m->writes, 2);
	ck_assert_uint_eq(k->m->write_sectors, 39 + 1);
	ck_assert_int_eq(disk_op(k, 2), 1);
	ck_assert_int_eq(disk_op(k, 40), 2);
	ck_assert_int_eq(disk_op(k, 100), 3);
	cached_free(k);
}
END_TEST

START_TEST(eviction_is_lru_and_writes_back_the_victim)
{
	struct cached *k = cached_new(10 * EXT, 2);

	write_stamped(k, 0 * EXT + 3, 2, 1);     /* extent A, dirty */
	write_stamped(k, 1 * EXT + 7, 1, 2);     /* extent B, dirty */
	expect_stamped(k, 0 * EXT + 3, 2, 1);    /* A used last: B is the LRU one */
	ck_assert_uint_eq(k->m->writes, 0);
	expect_stamped(k, 2 * EXT, 8, 0);        /* C evicts B */
	ck_assert_uint_eq(k->m->writes, 1);
	ck_assert_uint_eq(k->m->write_sectors, 1);
	ck_assert_int_eq(disk_op(k, 1 * EXT + 7), 2);
	ck_assert_int_eq(disk_op(k, 0 * EXT + 3), 0);     /* A still only in the cache */
	struct bcache_stats st = stats(k);
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert_uint_eq(st.dirty_evictions, 1);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 2);
	/* B comes back from the disk. */
	expect_stamped(k, 1 * EXT + 7, 1, 2);
	cached_free(k);
}
END_TEST

START_TEST(size_stays_bounded)
{
	struct cached *k = cached_new(10 * EXT, 3);

	for (uint64_t e = 0; e < 10; e++)
		expect_stamped(k, e * EXT + 64, 4, 0);    /* not sequential: 4 sectors each */
	uint64_t reads = k->m->reads;
	ck_assert_uint_eq(reads, 10);
	/* The last three are cached, the earlier ones are not. */
	expect_stamped(k, 9 * EXT + 64, 4, 0);
	expect_stamped(k, 8 * EXT + 64, 4, 0);
	expect_stamped(k, 7 * EXT + 64, 4, 0);
	ck_assert_uint_eq(k->m->reads, reads);
	expect_stamped(k, 6 * EXT + 64, 4, 0);
	ck_assert_uint_eq(k->m->reads, reads + 1);
	ck_assert_uint_eq(stats(k).evictions, 8);
	cached_free(k);
}
END_TEST

START_TEST(sequential_reads_read_ahead)
{
	struct cached *k = cached_new(4 * EXT, 4);

	expect_stamped(k, 0, 8, 0);              /* sector -1 does not exist: no read-ahead */
	ck_assert_uint_eq(k->m->read_sectors, 8);
	ck_assert_uint_eq(stats(k).readahead_sectors, 0);
	expect_stamped(k, 8, 8, 0);              /* continues: reads to the end of the extent */
	ck_assert_uint_eq(k->m->reads, 2);
	ck_assert_uint_eq(k->m->read_sectors, EXT);
	ck_assert_uint_eq(stats(k).readahead_sectors, EXT - 16);
	for (uint64_t s = 16; s < EXT; s += 8)
		expect_stamped(k, s, 8, 0);
	ck_assert_uint_eq(k->m->reads, 2);
	expect_stamped(k, EXT, 8, 0);            /* the next extent: one whole-extent request */
	ck_assert_uint_eq(k->m->reads, 3);
	ck_assert_uint_eq(k->m->read_sectors, 2 * EXT);
	struct bcache_stats st = stats(k);
	ck_assert_uint_eq(st.readahead_sectors, 2 * EXT - 24);
	ck_assert_uint_eq(st.miss_sectors, 24);
	ck_assert_uint_eq(st.hit_sectors, EXT - 16);
	ck_assert_uint_eq(st.reads, EXT / 8 + 1);
	ck_assert_uint_eq(st.lower_reads, 3);
	ck_assert_uint_eq(st.bytes_copied, (uint64_t)(EXT + 8) * SECTOR_SIZE);
	ck_assert_uint_gt(st.lower_cycles, 0);
	ck_assert_uint_gt(st.copy_cycles, 0);
	/* A random read elsewhere fetches only what it asks for. */
	expect_stamped(k, 3 * EXT + 50, 2, 0);
	ck_assert_uint_eq(k->m->read_sectors, 2 * EXT + 2);
	cached_free(k);
}
END_TEST

START_TEST(read_ahead_stops_at_the_device_end)
{
	struct cached *k = cached_new(EXT + 40, 2);

	expect_stamped(k, EXT, 4, 0);
	expect_stamped(k, EXT + 4, 4, 0);
	ck_assert_uint_eq(k->m->read_sectors, 40);
	ck_assert_uint_eq(stats(k).readahead_sectors, 32);
	ck_assert_int_eq(cread(k, EXT + 40, NULL, 1), BCACHE_ERR_RANGE);
	cached_free(k);
}
END_TEST

START_TEST(read_ahead_keeps_dirty_sectors)
{
	struct cached *k = cached_new(2 * EXT, 2);

	write_stamped(k, 20, 1, 7);
	expect_stamped(k, 0, 8, 0);
	expect_stamped(k, 8, 8, 0);              /* read-ahead around the dirty sector */
	ck_assert_uint_eq(k->m->reads, 3);       /* 0..8, 8..20, 21..EXT */
	ck_assert_uint_eq(k->m->read_sectors, EXT - 1);
	expect_stamped(k, 20, 1, 7);
	expect_stamped(k, 16, 4, 0);
	expect_stamped(k, 21, EXT - 21, 0);
	ck_assert_uint_eq(k->m->reads, 3);
	cached_free(k);
}
END_TEST

START_TEST(read_errors_pass_through)
{
	struct cached *k = cached_new(4 * EXT, 2);
	uint8_t buf[4 * SECTOR_SIZE];

	k->m->fail_read_from = 5;
	k->m->fail_read_to = 6;
	ck_assert_int_eq(cread(k, 4, buf, 4), MEM_ERR);
	/* Nothing wrong was kept: once the disk recovers, the data is right. */
	k->m->fail_read_to = 0;
	expect_stamped(k, 4, 4, 0);
	/* A failed read-ahead fails the read that asked for it. */
	k->m->fail_read_from = EXT + 100;
	k->m->fail_read_to = EXT + 101;
	expect_stamped(k, EXT - 1, 1, 0);
	ck_assert_int_eq(cread(k, EXT, buf, 1), MEM_ERR);
	k->m->fail_read_to = 0;
	expect_stamped(k, EXT, 4, 0);
	cached_free(k);
}
END_TEST

START_TEST(failed_write_back_stays_dirty)
{
	struct cached *k = cached_new(4 * EXT, 2);

	write_stamped(k, 3, 2, 1);
	write_stamped(k, EXT + 3, 2, 2);
	k->m->fail_write_from = 3;
	k->m->fail_write_to = 4;
	ck_assert_int_eq(bcache_flush(&k->c), MEM_ERR);
	/* The other extent was still written, and the disk still flushed. */
	ck_assert_int_eq(disk_op(k, EXT + 3), 2);
	ck_assert_uint_eq(k->m->flushes, 1);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 2);
	expect_stamped(k, 3, 2, 1);
	/* An eviction that needs the failing extent fails the request that needed space. */
	uint8_t buf[SECTOR_SIZE];
	expect_stamped(k, EXT + 3, 1, 2);        /* extent 0 becomes the LRU one */
	ck_assert_int_eq(cread(k, 2 * EXT, buf, 1), MEM_ERR);
	expect_stamped(k, 3, 2, 1);
	k->m->fail_write_to = 0;
	ck_assert_int_eq(bcache_flush(&k->c), 0);
	ck_assert_int_eq(disk_op(k, 3), 1);
	ck_assert_int_eq(disk_op(k, 4), 1);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 0);
	cached_free(k);
}
END_TEST

START_TEST(flush_error_of_the_disk_is_returned)
{
	struct cached *k = cached_new(EXT, 1);

	k->m->flush_result = -9;
	ck_assert_int_eq(bcache_flush(&k->c), -9);
	k->m->dev.flush = NULL;
	ck_assert_int_eq(bcache_flush(&k->c), 0);   /* a disk without a write cache */
	cached_free(k);
}
END_TEST

START_TEST(range_checks)
{
	struct cached *k = cached_new(300, 2);
	uint8_t buf[2 * SECTOR_SIZE];

	ck_assert_int_eq(cread(k, 300, buf, 1), BCACHE_ERR_RANGE);
	ck_assert_int_eq(cread(k, 299, buf, 2), BCACHE_ERR_RANGE);
	ck_assert_int_eq(cread(k, UINT64_MAX, buf, 1), BCACHE_ERR_RANGE);
	ck_assert_int_eq(cwrite(k, 300, buf, 1), BCACHE_ERR_RANGE);
	ck_assert_int_eq(cwrite(k, 1, buf, UINT32_MAX), BCACHE_ERR_RANGE);
	ck_assert_uint_eq(k->m->reads + k->m->writes, 0);
	ck_assert_uint_eq(stats(k).reads + stats(k).writes, 0);
	ck_assert_uint_eq(k->c.dev.nsectors, 300);
	ck_assert_str_eq(bcache_strerror(BCACHE_ERR_RANGE), "sectors outside the device");
	ck_assert_str_eq(bcache_strerror(MEM_ERR), "lower device error");
	cached_free(k);
}
END_TEST

START_TEST(init_checks_its_arguments)
{
	struct bcache c;
	struct memdev *m = memdev_new(10);
	static uint8_t mem[BCACHE_EXTENT_BYTES];

	ck_assert_int_eq(bcache_init(&c, NULL, mem, 1), BCACHE_ERR_ARGS);
	ck_assert_int_eq(bcache_init(&c, &m->dev, NULL, 1), BCACHE_ERR_ARGS);
	ck_assert_int_eq(bcache_init(&c, &m->dev, mem, 0), BCACHE_ERR_ARGS);
	ck_assert_int_eq(bcache_init(&c, &m->dev, mem, BCACHE_MAX_EXTENTS + 1), BCACHE_ERR_ARGS);
	ck_assert_int_eq(bcache_init(&c, &m->dev, mem, 1), 0);
	memdev_free(m);
}
END_TEST

/* The random run: the model is, per sector, the operation whose stamp the
 * sector should read as (model), the stamp the last flush left on the disk
 * (flushed) and the first operation that wrote it since (since, 0 if none). */
#define RUN_SECTORS (20 * EXT + 77)
#define RUN_OPS 4000

struct run {
	struct cached *k;
	uint64_t model[RUN_SECTORS], flushed[RUN_SECTORS], since[RUN_SECTORS];
};

/* Checks that after a crash every disk sector holds its flushed stamp or one written since. */
static void check_crash(struct run *r, uint64_t op)
{
	for (uint64_t s = 0; s < RUN_SECTORS; s++) {
		int64_t on_disk = disk_op(r->k, s);
		EXPECT(on_disk >= 0, "disk sector %lu is torn or foreign after the crash", (unsigned long)s);
		bool ok = (uint64_t)on_disk == r->flushed[s] ||
			  (r->since[s] && (uint64_t)on_disk >= r->since[s] && (uint64_t)on_disk <= op);
		EXPECT(ok, "after the crash disk sector %lu holds stamp %ld; flushed %lu, written since op %lu",
		       (unsigned long)s, (long)on_disk, (unsigned long)r->flushed[s], (unsigned long)r->since[s]);
	}
}

static void random_run(uint32_t nextents, unsigned seed, bool crash)
{
	struct run *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(300 * SECTOR_SIZE);

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(buf);
	r->k = cached_new(RUN_SECTORS, nextents);
	srand(seed);
	for (uint64_t op = 1; op <= RUN_OPS; op++) {
		int kind = rand() % 100;
		uint32_t count = rand() % 4 == 0 ? 1 + rand() % 300 : 1 + rand() % 16;
		uint64_t sector = (uint64_t)rand() % RUN_SECTORS;
		if (rand() % 3 == 0 && op > 1)     /* sequential runs, for read-ahead */
			sector = (sector / EXT) * EXT;
		if (count > RUN_SECTORS - sector)
			count = (uint32_t)(RUN_SECTORS - sector);
		uint64_t disk_writes = r->k->m->writes, dirty_evictions = stats(r->k).dirty_evictions;
		if (kind < 2) {
			ck_assert_int_eq(bcache_flush(&r->k->c), 0);
			memcpy(r->flushed, r->model, sizeof(r->model));
			memset(r->since, 0, sizeof(r->since));
			for (uint64_t s = 0; s < RUN_SECTORS; s++)
				EXPECT(disk_op(r->k, s) == (int64_t)r->model[s], "after flush %lu, disk sector %lu is stale",
				       (unsigned long)op, (unsigned long)s);
		} else if (kind < 45) {
			write_stamped(r->k, sector, count, op);
			for (uint32_t i = 0; i < count; i++) {
				r->model[sector + i] = op;
				if (!r->since[sector + i])
					r->since[sector + i] = op;
			}
		} else {
			ck_assert_int_eq(cread(r->k, sector, buf, count), 0);
			for (uint32_t i = 0; i < count; i++)
				EXPECT(stamp_op(buf + (size_t)i * SECTOR_SIZE, sector + i) == (int64_t)r->model[sector + i],
				       "op %lu: sector %lu reads as %ld, the model says %lu", (unsigned long)op,
				       (unsigned long)(sector + i), (long)stamp_op(buf + (size_t)i * SECTOR_SIZE, sector + i),
				       (unsigned long)r->model[sector + i]);
		}
		/* Outside a flush, the disk is written only to evict. */
		EXPECT(kind < 2 || r->k->m->writes == disk_writes || stats(r->k).dirty_evictions > dirty_evictions,
		       "op %lu wrote to the disk without a flush or an eviction", (unsigned long)op);
	}
	struct bcache_stats st = stats(r->k);
	ck_assert_uint_gt(st.readahead_sectors, 0);
	ck_assert_uint_gt(st.hit_sectors, 0);
	if (nextents < 20)
		ck_assert_uint_gt(st.dirty_evictions, 0);
	if (crash)
		check_crash(r, RUN_OPS);
	cached_free(r->k);
	free(buf);
	free(r);
}

START_TEST(random_ops_match_the_model)
{
	random_run(3, 1000 + (unsigned)_i, false);
}
END_TEST

START_TEST(crash_loses_only_unflushed_data)
{
	random_run(_i % 2 ? 2 : 5, 2000 + (unsigned)_i, true);
}
END_TEST

/* A crash with no eviction: the disk is exactly the last flush. */
START_TEST(crash_without_eviction_keeps_the_flushed_state)
{
	struct cached *k = cached_new(8 * EXT, 8);

	write_stamped(k, 0, 100, 1);
	write_stamped(k, 5 * EXT, 3, 2);
	ck_assert_int_eq(bcache_flush(&k->c), 0);
	write_stamped(k, 50, 100, 3);
	write_stamped(k, 7 * EXT + 1, 1, 4);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 101);
	/* Crash: drop the cache. */
	for (uint64_t s = 0; s < 8 * EXT; s++) {
		int64_t want = s < 100 ? 1 : s >= 5 * EXT && s < 5 * EXT + 3 ? 2 : 0;
		EXPECT(disk_op(k, s) == want, "after the crash disk sector %lu holds %ld, expected %ld",
		       (unsigned long)s, (long)disk_op(k, s), (long)want);
	}
	cached_free(k);
}
END_TEST

/* Threads that share extents: thread t owns the sectors s with s % 4 == t. */
#define SHARE_THREADS 4
#define SHARE_SECTORS (6 * EXT)

struct sharer {
	struct cached *k;
	int id;
	uint64_t last[SHARE_SECTORS];   /* op of this thread's last write per sector */
	const char *error;
	uint64_t bad_sector;
};

/* Slows the disk so that owners and waiters overlap. */
static void slow_disk(struct memdev *m, bool write, uint64_t sector, uint32_t count)
{
	(void)m;
	(void)write;
	(void)sector;
	(void)count;
	sched_yield();
}

static void *share_main(void *arg)
{
	struct sharer *w = arg;
	uint8_t sec[SECTOR_SIZE];
	unsigned seed = 77u + (unsigned)w->id;

	for (uint64_t i = 1; i <= 3000 && !w->error; i++) {
		uint64_t s = (uint64_t)(rand_r(&seed) % (SHARE_SECTORS / SHARE_THREADS)) * SHARE_THREADS + (uint64_t)w->id;
		uint64_t op = i * SHARE_THREADS + (uint64_t)w->id;
		if (rand_r(&seed) % 2) {
			stamp(sec, op, s);
			if (cwrite(w->k, s, sec, 1))
				w->error = "write failed";
			w->last[s] = op;
		} else if (cread(w->k, s, sec, 1)) {
			w->error = "read failed";
		} else if (stamp_op(sec, s) != (int64_t)w->last[s]) {
			w->error = "read back the wrong stamp";
			w->bad_sector = s;
		}
		if (i % 1000 == 0 && bcache_flush(&w->k->c))
			w->error = "flush failed";
	}
	return NULL;
}

START_TEST(threads_share_extents)
{
	struct cached *k = cached_new(SHARE_SECTORS, 2);
	struct sharer *w = calloc(SHARE_THREADS, sizeof(*w));
	pthread_t t[SHARE_THREADS];

	ck_assert_ptr_nonnull(w);
	k->m->hook = slow_disk;
	for (int i = 0; i < SHARE_THREADS; i++) {
		w[i] = (struct sharer){ .k = k, .id = i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, share_main, &w[i]), 0);
	}
	for (int i = 0; i < SHARE_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < SHARE_THREADS; i++)
		ck_assert_msg(!w[i].error, "thread %d: %s (sector %lu)", i, w[i].error, (unsigned long)w[i].bad_sector);
	ck_assert_int_eq(bcache_flush(&k->c), 0);
	for (uint64_t s = 0; s < SHARE_SECTORS; s++)
		EXPECT(disk_op(k, s) == (int64_t)w[s % SHARE_THREADS].last[s], "disk sector %lu is stale after the flush",
		       (unsigned long)s);
	ck_assert_uint_gt(stats(k).evictions, 0);
	free(w);
	cached_free(k);
}
END_TEST

/* A flush reached from inside the cache's own I/O (the exit path after a
 * panic in the driver): the extent in use is skipped, the rest is written. */
static struct cached *reentered;
static int reentered_flush = 1;

static void flush_inside(struct memdev *m, bool write, uint64_t sector, uint32_t count)
{
	(void)write;
	(void)count;
	if (sector == 2 * EXT && reentered) {
		m->hook = NULL;
		reentered_flush = bcache_flush(&reentered->c);
	}
}

START_TEST(flush_inside_own_io_skips_the_busy_extent)
{
	struct cached *k = cached_new(4 * EXT, 4);

	write_stamped(k, 2 * EXT + 5, 1, 1);      /* dirty in the extent the read will own */
	write_stamped(k, 3, 1, 2);                /* dirty elsewhere */
	reentered = k;
	k->m->hook = flush_inside;
	expect_stamped(k, 2 * EXT, 1, 0);
	reentered = NULL;
	ck_assert_int_eq(reentered_flush, BCACHE_ERR_SELF);
	ck_assert_int_eq(disk_op(k, 3), 2);
	ck_assert_int_eq(disk_op(k, 2 * EXT + 5), 0);
	ck_assert_uint_eq(bcache_dirty_sectors(&k->c), 1);
	cached_free(k);
}
END_TEST

/* An owner that never finishes: a waiter gives up with BCACHE_ERR_STUCK. */
static volatile int blocker_state;    /* 1: inside the disk, 2: may leave */

static void block_disk(struct memdev *m, bool write, uint64_t sector, uint32_t count)
{
	(void)m;
	(void)write;
	(void)sector;
	(void)count;
	__atomic_store_n(&blocker_state, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&blocker_state, __ATOMIC_ACQUIRE) != 2)
		sched_yield();
}

static void *blocked_reader(void *arg)
{
	struct cached *k = arg;
	uint8_t sec[SECTOR_SIZE];

	return (void *)(intptr_t)cread(k, 10, sec, 1);
}

START_TEST(stuck_owner_times_out)
{
	struct cached *k = cached_new(2 * EXT, 2);
	uint8_t sec[SECTOR_SIZE];
	pthread_t t;
	void *res;

	k->m->hook = block_disk;
	ck_assert_int_eq(pthread_create(&t, NULL, blocked_reader, k), 0);
	while (__atomic_load_n(&blocker_state, __ATOMIC_ACQUIRE) != 1)
		sched_yield();
	bcache_host_wait_limit_ms = 100;
	ck_assert_int_eq(cread(k, 11, sec, 1), BCACHE_ERR_STUCK);
	write_stamped(k, EXT, 1, 5);   /* the other extent still works */
	bcache_host_wait_limit_ms = 10000;
	__atomic_store_n(&blocker_state, 2, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(t, &res), 0);
	ck_assert_int_eq((int)(intptr_t)res, 0);
	cached_free(k);
}
END_TEST

/* The file system mounted on the cache: writes reach the disk at fs_sync. */
START_TEST(fs_on_the_cache)
{
	struct cached *k = cached_new(64, 2);
	uint8_t *img = k->m->data;
	struct fs_superblock sb = { .version = FS_VERSION, .entry_size = FS_ENTRY_SIZE, .total_sectors = 64,
				    .table_start = 1, .table_sectors = 1, .file_count = 1 };
	struct fs_entry e = { .name = "data", .size = 5000, .first_sector = 2, .sector_count = 10 };

	memset(img, 0, 2 * SECTOR_SIZE);
	memcpy(sb.magic, FS_MAGIC, FS_MAGIC_LEN);
	sb.table_checksum = fs_checksum(FS_CHECKSUM_INIT, &e, sizeof(e));
	memcpy(img, &sb, sizeof(sb));
	memcpy(img + SECTOR_SIZE, &e, sizeof(e));
	ck_assert_int_eq(fs_mount(&k->c.dev), FS_OK);
	struct file *f = fs_open("data");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(file_write(f, 700, "cached bytes", 12), 12);
	char back[12];
	ck_assert_int_eq(file_read(f, 700, back, 12), 12);
	ck_assert(!memcmp(back, "cached bytes", 12));
	ck_assert(memcmp(img + 2 * SECTOR_SIZE + 700, "cached bytes", 12));
	ck_assert_int_eq(fs_sync(), FS_OK);
	ck_assert(!memcmp(img + 2 * SECTOR_SIZE + 700, "cached bytes", 12));
	ck_assert_uint_eq(k->m->flushes, 1);
	cached_free(k);
}
END_TEST

static Suite *bcache_suite(void)
{
	Suite *s = suite_create("bcache");
	TCase *io = tcase_create("io");
	TCase *model = tcase_create("model");

	tcase_add_test(io, reads_match_the_disk);
	tcase_add_test(io, writes_wait_for_flush);
	tcase_add_test(io, write_back_joins_runs_of_valid_sectors);
	tcase_add_test(io, eviction_is_lru_and_writes_back_the_victim);
	tcase_add_test(io, size_stays_bounded);
	tcase_add_test(io, sequential_reads_read_ahead);
	tcase_add_test(io, read_ahead_stops_at_the_device_end);
	tcase_add_test(io, read_ahead_keeps_dirty_sectors);
	tcase_add_test(io, read_errors_pass_through);
	tcase_add_test(io, failed_write_back_stays_dirty);
	tcase_add_test(io, flush_error_of_the_disk_is_returned);
	tcase_add_test(io, range_checks);
	tcase_add_test(io, init_checks_its_arguments);
	tcase_add_test(io, crash_without_eviction_keeps_the_flushed_state);
	tcase_add_test(io, flush_inside_own_io_skips_the_busy_extent);
	tcase_add_test(io, stuck_owner_times_out);
	tcase_add_test(io, fs_on_the_cache);
	tcase_add_loop_test(model, random_ops_match_the_model, 0, 4);
	tcase_add_loop_test(model, crash_loses_only_unflushed_data, 0, 4);
	tcase_add_test(model, threads_share_extents);
	tcase_set_timeout(model, 60);
	suite_add_tcase(s, io);
	suite_add_tcase(s, model);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bcache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
