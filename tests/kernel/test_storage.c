/* Kernel tests of the virtio-blk driver and the file system on it.
 *
 * They need the disk image built from tests/fixtures/storage (make
 * check-storage attaches it), so the runner runs them only when selected
 * ("test=storage_*"). The fixtures are generated text whose every byte the
 * tests can recompute (lines.txt, bench.bin), so reads are checked byte for
 * byte without a copy of the file in the kernel.
 *
 * The writes here are the contract with tools/check_storage_image.sh, which
 * recomputes them on the host after QEMU exits and checks that the image
 * changed exactly so: change one side, change the other. Each writing test
 * ends with fs_sync(), so its bytes are on the disk whatever runs next. */
#include "keos/test/ktest.h"
#include "keos/arch/cpu.h"
#include "keos/dev/virtio_blk.h"
#include "keos/fs/fs.h"
#include "keos/fs/storage.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/thread/thread.h"
#include "tests/kernel/storage_fixtures.h"
#include <string.h>

/* lines.txt: LINES_COUNT lines of LINE_LEN bytes, line i printed with LINE_FMT. */
#define LINE_FMT "line %04u of the keos storage fixtures.\n"
#define LINE_LEN 40u
#define LINES_COUNT 100u
#define HELLO_TEXT "Hello from the keos file system!\n"

/* What check_storage_image.sh expects in scratch.txt. */
#define PATTERN_OFFSET 700u
#define PATTERN_TEXT "<<keos storage test wrote this at offset 700>>"
#define CROSS_OFFSET 1500u
#define CROSS_LEN 1300u      /* byte i is 'A' + i % 26 */
#define TAIL_TEXT "0123456789"

/* The concurrent writers: scratch2.txt and scratch3.txt, pass p byte i is
 * HEX[(i + p + 7 * id) % 16]; the image keeps the last pass. */
#define CONCURRENT_PASSES 6u
#define HEX "0123456789abcdef"

#define BENCH_CHUNK (64u * 1024u)
#define BENCH_SECTORS 8192u   /* STORAGE_BENCH_SECTORS in mk/storage.mk */

static char line_byte(uint64_t off)
{
	char line[LINE_LEN + 1];

	ksnprintf(line, sizeof(line), LINE_FMT, (unsigned)(off / LINE_LEN));
	return line[off % LINE_LEN];
}

/* Checks buf against lines.txt at off; returns the first bad offset or -1. */
static int64_t check_lines(uint64_t off, const uint8_t *buf, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (buf[i] != (uint8_t)line_byte(off + i))
			return (int64_t)(off + i);
	return -1;
}

KTEST(storage_mounts_the_disk)
{
	storage_need();
	struct blockdev *d = storage_blockdev();
	struct virtio_blk_stats st;

	KASSERT(d != NULL);
	KASSERT(d->nsectors > 8192);
	virtio_blk_get_stats(&st);
	KASSERT(st.queue_size >= 3);
	KASSERT(st.slots >= 1);
	KASSERT(st.max_request_sectors >= 8);
	/* Twice is the same as once. */
	KASSERT_EQ(storage_init(), FS_OK);
}

KTEST(storage_read_whole_fixture)
{
	storage_need();
	char hello[64];
	struct file *f = storage_open("hello.txt");

	KASSERT_EQ(file_size(f), sizeof(HELLO_TEXT) - 1);
	KASSERT_EQ(file_read(f, 0, hello, sizeof(hello)), sizeof(HELLO_TEXT) - 1);
	KASSERT(!memcmp(hello, HELLO_TEXT, sizeof(HELLO_TEXT) - 1));

	f = storage_open("lines.txt");
	KASSERT_EQ(file_size(f), LINES_COUNT * LINE_LEN);
	uint8_t *buf = storage_alloc(LINES_COUNT * LINE_LEN);
	int64_t n = file_read(f, 0, buf, LINES_COUNT * LINE_LEN);
	int64_t bad = check_lines(0, buf, LINES_COUNT * LINE_LEN);
	kfree(buf);
	KASSERT_EQ(n, LINES_COUNT * LINE_LEN);
	KASSERT_EQ(bad, -1);
}

KTEST(storage_read_crosses_sectors)
{
	storage_need();
	struct file *f = storage_open("lines.txt");
	static const struct { uint32_t off, len; } spans[] = {
		{ 500, 30 },      /* across the first sector boundary */
		{ 511, 2 },
		{ 1000, 1100 },   /* three boundaries, partial sectors at both ends */
		{ 1024, 1024 },   /* exactly two whole sectors */
		{ 3583, 417 },    /* the last partial sector, to the end */
	};
	uint8_t buf[1200];

	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		KASSERT_EQ(file_read(f, spans[i].off, buf, spans[i].len), spans[i].len);
		KASSERT_EQ(check_lines(spans[i].off, buf, spans[i].len), -1);
	}
	/* The whole file in odd-sized steps: every alignment of start and end. */
	for (uint64_t off = 0; off < LINES_COUNT * LINE_LEN; off += 37) {
		int64_t n = file_read(f, off, buf, 37);
		KASSERT(n > 0 && n <= 37);
		KASSERT_EQ(check_lines(off, buf, (uint64_t)n), -1);
	}
}

KTEST(storage_short_read_at_eof)
{
	storage_need();
	struct file *f = storage_open("lines.txt");
	uint64_t size = file_size(f);
	uint8_t buf[100];

	memset(buf, 0xee, sizeof(buf));
	KASSERT_EQ(file_read(f, size - 10, buf, sizeof(buf)), 10);
	KASSERT_EQ(check_lines(size - 10, buf, 10), -1);
	KASSERT_EQ(buf[10], 0xee);      /* nothing past the end was copied */
	KASSERT_EQ(file_read(f, size, buf, sizeof(buf)), 0);
	KASSERT_EQ(file_read(f, 0, buf, 0), 0);
}

KTEST(storage_bad_offset_is_an_error)
{
	storage_need();
	struct file *f = storage_open("lines.txt");
	uint64_t size = file_size(f);
	uint8_t buf[16];

	KASSERT_EQ(file_read(f, size + 1, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	KASSERT_EQ(file_read(f, UINT64_MAX, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	KASSERT_EQ(file_write(f, size + 1, buf, sizeof(buf)), FS_ERR_BAD_OFFSET);
	KASSERT_EQ(file_read(NULL, 0, buf, sizeof(buf)), FS_ERR_NOT_FOUND);
}

KTEST(storage_open_missing_is_null)
{
	storage_need();
	KASSERT(fs_open("no-such-file") == NULL);
	KASSERT(fs_open("") == NULL);
	KASSERT(fs_open(NULL) == NULL);
	KASSERT(fs_open("lines.txt.") == NULL);
}

/* Writes data at off in name and checks that the file now reads as before
 * with exactly those bytes replaced; returns what file_write returned. */
static int64_t write_and_check(const char *name, uint64_t off, const void *data, uint64_t len)
{
	struct file *f = storage_open(name);
	uint64_t size = file_size(f);
	uint8_t *before = storage_alloc(size), *after = storage_alloc(size);
	int64_t r0 = file_read(f, 0, before, size);
	int64_t w = file_write(f, off, data, len);
	int64_t r1 = file_read(f, 0, after, size);
	uint64_t n = w > 0 ? (uint64_t)w : 0;
	bool same = w >= 0 && off + n <= size;

	if (same) {
		memcpy(before + off, data, n);
		same = !memcmp(before, after, size);
	}
	kfree(before);
	kfree(after);
	KASSERT_EQ(r0, size);
	KASSERT_EQ(r1, size);
	KASSERT(same);
	KASSERT_EQ(fs_sync(), FS_OK);
	return w;
}

KTEST(storage_write_pattern)
{
	storage_need();
	KASSERT_EQ(write_and_check("scratch.txt", PATTERN_OFFSET, PATTERN_TEXT,
				   sizeof(PATTERN_TEXT) - 1), sizeof(PATTERN_TEXT) - 1);
}

KTEST(storage_write_crosses_sectors)
{
	storage_need();
	uint8_t data[CROSS_LEN];

	for (uint32_t i = 0; i < CROSS_LEN; i++)
		data[i] = (uint8_t)('A' + i % 26);
	KASSERT_EQ(write_and_check("scratch.txt", CROSS_OFFSET, data, CROSS_LEN), CROSS_LEN);
}

KTEST(storage_short_write_at_eof)
{
	storage_need();
	struct file *f = storage_open("scratch.txt");
	char data[100];

	memset(data, '#', sizeof(data));
	memcpy(data, TAIL_TEXT, sizeof(TAIL_TEXT) - 1);
	/* Only the 10 bytes inside the file are written; the rest of data is ignored. */
	KASSERT_EQ(write_and_check("scratch.txt", file_size(f) - 10, data, sizeof(data)), 10);
	KASSERT_EQ(file_write(f, file_size(f), data, sizeof(data)), 0);
}

struct worker {
	const char *name;     /* the file this worker writes */
	uint32_t id;
	const char *error;    /* NULL when every check passed */
	uint64_t bad_off;
};

/* One worker: each pass rewrites its own file in unaligned pieces, reads it
 * back, and reads all of lines.txt, while the other worker does the same on
 * the other CPU. A failure is recorded, not asserted: the test thread
 * reports it after the join. */
static void worker_main(void *arg)
{
	struct worker *w = arg;
	struct file *f = fs_open(w->name), *lines = fs_open("lines.txt");
	uint64_t size = file_size(f);
	uint8_t *buf = kmalloc(size), *check = kmalloc(LINES_COUNT * LINE_LEN);

	if (!f || !lines || !buf || !check) {
		w->error = "no file or no memory";
		goto out;
	}
	for (uint32_t p = 0; p < CONCURRENT_PASSES && !w->error; p++) {
		for (uint64_t i = 0; i < size; i++)
			buf[i] = (uint8_t)HEX[(i + p + 7 * w->id) % 16];
		for (uint64_t off = 0, step = 300 + 211 * w->id; off < size; off += step) {
			uint64_t n = size - off < step ? size - off : step;
			if (file_write(f, off, buf + off, n) != (int64_t)n) {
				w->error = "file_write failed";
				w->bad_off = off;
				break;
			}
		}
		memset(buf, 0, size);
		if (!w->error && file_read(f, 0, buf, size) != (int64_t)size)
			w->error = "file_read of the written file failed";
		for (uint64_t i = 0; i < size && !w->error; i++) {
			if (buf[i] != (uint8_t)HEX[(i + p + 7 * w->id) % 16]) {
				w->error = "the written file reads back wrong";
				w->bad_off = i;
			}
		}
		if (!w->error && file_read(lines, 0, check, LINES_COUNT * LINE_LEN) !=
				 (int64_t)(LINES_COUNT * LINE_LEN))
			w->error = "file_read of lines.txt failed";
		if (!w->error) {
			int64_t bad = check_lines(0, check, LINES_COUNT * LINE_LEN);
			if (bad >= 0) {
				w->error = "lines.txt reads back wrong";
				w->bad_off = (uint64_t)bad;
			}
		}
	}
out:
	kfree(buf);
	kfree(check);
}

KTEST(storage_concurrent_two_cpus)
{
	storage_need();
	struct worker w[2] = { { .name = "scratch2.txt", .id = 0 }, { .name = "scratch3.txt", .id = 1 } };
	struct thread *t[2];

	for (int i = 0; i < 2; i++) {
		t[i] = thread_create_on("storage-worker", ncpus > 1 ? i : -1, worker_main, &w[i]);
		KASSERT(t[i] != NULL);
	}
	for (int i = 0; i < 2; i++)
		thread_join(t[i]);
	for (int i = 0; i < 2; i++)
		if (w[i].error)
			ktest_fail(__FILE__, __LINE__, "%s: %s (offset %lu)", w[i].name, w[i].error,
				   (unsigned long)w[i].bad_off);
	KASSERT_EQ(fs_sync(), FS_OK);
}

KTEST(storage_driver_checks_requests)
{
	storage_need();
	struct blockdev *d = storage_blockdev();
	uint8_t *buf = page_alloc();
	char id[VIRTIO_BLK_ID_BYTES];

	KASSERT(buf != NULL);
	/* Bounds are checked before anything reaches the device. */
	int past_end = d->read(d, d->nsectors, buf, 1);
	int straddle = d->read(d, d->nsectors - 1, buf, 2);
	int huge = d->read(d, UINT64_MAX, buf, 1);
	int last = d->read(d, d->nsectors - 1, buf, 1);
	int none = d->read(d, 0, buf, 0);
	/* A request type the device does not know comes back UNSUPP, and says so. */
	int unsupp = virtio_blk_request(0x7e, 0, NULL, 0);
	int get_id = virtio_blk_request(VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id));
	int odd = virtio_blk_request(VIRTIO_BLK_T_IN, 0, buf, 100);
	int flush = virtio_blk_flush();
	/* The device still works after the refused requests. */
	int again = d->read(d, 0, buf, 1);
	bool magic = !memcmp(buf, "KEOSFS", 6);
	page_free(buf);

	KASSERT_EQ(past_end, VBLK_ERR_RANGE);
	KASSERT_EQ(straddle, VBLK_ERR_RANGE);
	KASSERT_EQ(huge, VBLK_ERR_RANGE);
	KASSERT_EQ(last, 0);
	KASSERT_EQ(none, 0);
	KASSERT_EQ(unsupp, VBLK_ERR_UNSUPP);
	KASSERT_EQ(get_id, 0);
	KASSERT_EQ(odd, VBLK_ERR_RANGE);
	KASSERT_EQ(flush, 0);
	KASSERT_EQ(again, 0);
	KASSERT(magic);
}

/* What qemu_exit runs on the way out: it must send the flush and return.
 * After fs_sync the cache holds nothing dirty, so each call is one request. */
KTEST(storage_shutdown_flushes)
{
	storage_need();
	struct virtio_blk_stats before, after;

	KASSERT_EQ(fs_sync(), FS_OK);
	virtio_blk_get_stats(&before);
	storage_shutdown();
	storage_shutdown();
	virtio_blk_get_stats(&after);
	KASSERT_EQ(after.requests - before.requests, before.flush_supported ? 2 : 0);
}

/* bench.bin's first sector on the disk, found by its header (the fs has no
 * call that tells); d->nsectors if it is not there. */
static uint64_t bench_first_sector(struct blockdev *d)
{
	_Alignas(512) uint8_t sector[SECTOR_SIZE];

	for (uint64_t s = 1; s < d->nsectors; s++) {
		if (d->read(d, s, sector, 1))
			break;
		if (!memcmp(sector, "bench sector 00000000", BENCH_HEADER_LEN))
			return s;
	}
	return d->nsectors;
}

KTEST(storage_driver_keeps_requests_in_flight)
{
	storage_need();
	struct blockdev *d = storage_blockdev();
	uint64_t first = bench_first_sector(d);
	struct virtio_blk_stats st;
	/* Not page-aligned and larger than one request: split per page and
	 * over several requests, submitted before the first is waited for. */
	uint32_t count = 1024;
	uint8_t *raw = storage_alloc(count * SECTOR_SIZE + 64);
	uint8_t *buf = raw + 24;

	KASSERT(first < d->nsectors);
	int r = d->read(d, first, buf, count);
	bool ok = r == 0 && storage_bench_ok(0, buf, (uint64_t)count * SECTOR_SIZE);
	kfree(raw);
	virtio_blk_get_stats(&st);
	KASSERT_EQ(r, 0);
	KASSERT(ok);
	KASSERT(st.slots < 2 || st.max_in_flight >= 2);
}

#define SHARERS 4u
#define SHARE_SECTORS 768u    /* 6 requests each: more than the slots can hold */

struct sharer {
	uint64_t first;       /* bench.bin's first sector */
	uint32_t id;
	bool ok;
};

static void sharer_main(void *arg)
{
	struct sharer *s = arg;
	struct blockdev *d = storage_blockdev();
	uint8_t *buf = kmalloc(SHARE_SECTORS * SECTOR_SIZE);

	s->ok = buf != NULL;
	for (uint32_t round = 0; round < 4 && s->ok; round++) {
		uint64_t off = (uint64_t)(s->id * 4 + round) * 1000 % (BENCH_SECTORS - SHARE_SECTORS);
		s->ok = d->read(d, s->first + off, buf, SHARE_SECTORS) == 0 &&
			storage_bench_ok(off * SECTOR_SIZE, buf, SHARE_SECTORS * SECTOR_SIZE);
	}
	kfree(buf);
}

/* More callers than slots: callers wait for free slots (or for their own
 * requests) and every read still lands in the right buffer. */
KTEST(storage_driver_shares_slots)
{
	storage_need();
	struct blockdev *d = storage_blockdev();
	struct sharer s[SHARERS];
	struct thread *t[SHARERS];
	uint64_t first = bench_first_sector(d);

	KASSERT(first < d->nsectors);
	for (uint32_t i = 0; i < SHARERS; i++) {
		s[i] = (struct sharer){ .first = first, .id = i };
		t[i] = thread_create_on("storage-sharer", ncpus > 1 ? (int)(i % 2) : -1, sharer_main, &s[i]);
		KASSERT(t[i] != NULL);
	}
	for (uint32_t i = 0; i < SHARERS; i++)
		thread_join(t[i]);
	for (uint32_t i = 0; i < SHARERS; i++)
		KASSERT(s[i].ok);
}

/* Prints bytes over ticks as "T ms: X.Y MB/s" (MB = 10^6 bytes). */
static void print_rate(const char *what, uint64_t bytes, uint64_t ticks)
{
	uint64_t ms = ticks * 1000 / TIMER_HZ;

	if (ms == 0) {
		printk("storage: %s %lu MiB in < %u ms (too fast to time)\n", what,
		       (unsigned long)(bytes >> 20), 1000u / TIMER_HZ);
		return;
	}
	uint64_t tenths = bytes * 10 / 1000 / ms;    /* (bytes / 10^6) / (ms / 10^3) * 10 */
	printk("storage: %s %lu MiB in %lu ms: %lu.%lu MB/s\n", what, (unsigned long)(bytes >> 20),
	       (unsigned long)ms, (unsigned long)(tenths / 10), (unsigned long)(tenths % 10));
}

/* Sequential reads of bench.bin through the file system (and so the block
 * cache, which is smaller than the file: every pass misses), in 64 KiB
 * calls, then the same bytes straight from the driver with 1 MiB calls
 * (several requests in flight, no copy). Passes repeat for a second (at
 * most 64 of them): the timer ticks every 10 ms. */
KTEST(storage_bench_sequential_read)
{
	storage_need();
	struct file *f = storage_open("bench.bin");
	uint64_t size = file_size(f), bytes = 0, t0, ticks;
	uint8_t *buf = storage_alloc(BENCH_CHUNK);
	bool ok = true;

	KASSERT(size >= (2u << 20));
	t0 = timer_ticks();
	do {
		for (uint64_t off = 0; off < size && ok; off += BENCH_CHUNK) {
			int64_t n = file_read(f, off, buf, BENCH_CHUNK);
			ok = n > 0 && storage_bench_ok(off, buf, (uint64_t)n);
			bytes += n > 0 ? (uint64_t)n : 0;
		}
		ticks = timer_ticks() - t0;
	} while (ok && ticks < TIMER_HZ && bytes < 64 * size);
	kfree(buf);
	KASSERT(ok);
	print_rate("read", bytes, ticks);

	struct blockdev *d = storage_blockdev();
	uint32_t chunk_sectors = (1u << 20) / SECTOR_SIZE;
	uint8_t *big = storage_alloc(1u << 20);
	uint64_t first, sectors = size / SECTOR_SIZE;
	struct virtio_blk_stats st;

	first = bench_first_sector(d);
	ok = first < d->nsectors;
	bytes = 0;
	t0 = timer_ticks();
	do {
		for (uint64_t s = 0; s + chunk_sectors <= sectors && ok; s += chunk_sectors) {
			ok = d->read(d, first + s, big, chunk_sectors) == 0 &&
			     storage_bench_ok(s * SECTOR_SIZE, big, 1u << 20);
			bytes += 1u << 20;
		}
		ticks = timer_ticks() - t0;
	} while (ok && ticks < TIMER_HZ && bytes < 64 * size);
	kfree(big);
	KASSERT(ok);
	virtio_blk_get_stats(&st);
	print_rate("raw virtio-blk read", bytes, ticks);
	printk("storage: %u slots of %u sectors, at most %u requests were in flight, flush %s\n", st.slots,
	       st.max_request_sectors, st.max_in_flight, st.flush_supported ? "supported" : "not offered");
}

/* Run only with a corrupted image attached (tools/check_storage_image.sh
 * corrupt): the disk works, the mount fails with a reason, nothing hangs. */
KTEST(storagebad_mount_fails_cleanly)
{
	enum fs_error e = storage_init();
	struct blockdev *d = storage_blockdev();
	uint8_t *buf = page_alloc();
	uint8_t probe[16];

	KASSERT(buf != NULL);
	int r = d ? d->read(d, 0, buf, 1) : -1;
	page_free(buf);
	KASSERT(d != NULL);
	KASSERT(e != FS_OK && e != FS_ERR_NOT_MOUNTED);
	/* The disk itself still works: sector 0 reads, or is out of range on an empty disk. */
	KASSERT_EQ(r, d->nsectors ? 0 : VBLK_ERR_RANGE);
	KASSERT(fs_open("hello.txt") == NULL);
	KASSERT_EQ(file_read(NULL, 0, probe, sizeof(probe)), FS_ERR_NOT_MOUNTED);
	KASSERT_EQ(fs_sync(), FS_ERR_NOT_MOUNTED);
}
