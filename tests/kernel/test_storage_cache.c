/* Kernel tests of the block cache under the file system (keos/fs/bcache.c,
 * mounted by storage_init), on the test image of make check-storage.
 *
 * Like tests/kernel/test_storage.c, the files these tests write are checked
 * byte for byte on the host after QEMU exits (tools/check_storage_image.sh):
 * durable.bin, evict.bin, cache1.bin and cache2.bin end as written here.
 * What the cache does is checked from inside too: a write reaches the raw
 * disk (storage_blockdev, which bypasses the cache) only at fs_sync or when
 * the cache evicts it, sequential reads need about one device request per
 * 64 KiB extent, and readers and writers on two CPUs see their own data
 * while the readers' streaming evicts the writers' dirty extents.
 *
 * The storagecrash_ tests run apart, each in its own boot on one copy of the
 * image (tools/check_storage_image.sh crash): the first writes, flushes,
 * writes more and stops QEMU without a flush; the second boots on what is
 * left and finds exactly the flushed bytes. */
#include "keos/test/ktest.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/dev/qemu_exit.h"
#include "keos/dev/virtio_blk.h"
#include "keos/fs/bcache.h"
#include "keos/fs/fs.h"
#include "keos/fs/storage.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/thread/thread.h"
#include "tests/kernel/storage_fixtures.h"
#include <string.h>

/* The generated files (mk/storage.mk): FILL bytes, except bench.bin. */
#define FILL '.'
#define DURABLE_BYTES (8u * 1024u)
#define DURABLE_TEXT "durable after fs_sync\n"      /* repeated over durable.bin */
#define EVICT_BYTES (64u * 1024u)
#define EVICT_BYTE 'E'                               /* all of evict.bin */
#define SHARED_BYTES (192u * 1024u)                  /* cache1.bin, cache2.bin */
#define WRITER_PASSES 4u                             /* the last leaves HEX[(i + 3 + 5 * id) % 16] */
#define HEX "0123456789abcdef"

/* crash.bin: CRASH_FLUSHED 'A' bytes from 0 are flushed; the 'C' and 'B'
 * writes after them are not, so the crash loses them. */
#define CRASH_FLUSHED 8192u
#define CRASH_C_OFF 4000u
#define CRASH_C_LEN 1000u
#define CRASH_B_OFF 70000u
#define CRASH_B_LEN 4096u
/* The isa-debug-exit port qemu_exit writes after storage_shutdown; writing
 * it directly stops QEMU with nothing flushed. */
#define CRASH_EXIT_PORT 0xf4

static struct bcache *cache_or_fail(void)
{
	struct bcache *c = storage_cache();

	if (!c)
		ktest_fail(__FILE__, __LINE__, "the file system is not mounted through the block cache");
	return c;
}

static uint64_t device_requests(void)
{
	struct virtio_blk_stats st;

	virtio_blk_get_stats(&st);
	return st.requests;
}

/* Reads n bytes of f at off straight from the disk, past the cache. */
static void read_raw(struct file *f, uint64_t off, uint8_t *buf, uint64_t n)
{
	struct blockdev *d = storage_blockdev();
	uint64_t first = file_first_sector(f) + off / SECTOR_SIZE;
	uint32_t count = (uint32_t)((off % SECTOR_SIZE + n + SECTOR_SIZE - 1) / SECTOR_SIZE);
	uint8_t *raw = storage_alloc((size_t)count * SECTOR_SIZE);
	int r = d->read(d, first, raw, count);

	memcpy(buf, raw + off % SECTOR_SIZE, n);
	kfree(raw);
	if (r)
		ktest_fail(__FILE__, __LINE__, "raw read of %u sectors at %lu: %s", count, (unsigned long)first,
			   virtio_blk_strerror(r));
}

/* The offset of the first byte of buf (n bytes) that is not c, or -1. */
static int64_t first_not(const uint8_t *buf, uint64_t n, uint8_t c)
{
	for (uint64_t i = 0; i < n; i++)
		if (buf[i] != c)
			return (int64_t)i;
	return -1;
}

/* Reads all of bench.bin in requests of size bytes, checking every sector. */
static bool stream_bench(uint32_t size)
{
	struct file *f = fs_open("bench.bin");
	uint8_t *buf = kmalloc(size);
	bool ok = f && buf;

	for (uint64_t off = 0; ok && off < file_size(f); off += size) {
		int64_t n = file_read(f, off, buf, size);
		ok = n > 0 && storage_bench_ok(off, buf, (uint64_t)n);
	}
	kfree(buf);
	return ok;
}

KTEST(storage_cache_write_back_waits_for_sync)
{
	storage_need();
	struct bcache *c = cache_or_fail();
	struct file *f = storage_open("durable.bin");
	uint8_t *data = storage_alloc(DURABLE_BYTES), *raw = storage_alloc(DURABLE_BYTES);

	KASSERT_EQ(fs_sync(), FS_OK);
	for (uint32_t i = 0; i < DURABLE_BYTES; i++)
		data[i] = (uint8_t)DURABLE_TEXT[i % (sizeof(DURABLE_TEXT) - 1)];
	uint64_t requests = device_requests();
	int64_t w = file_write(f, 0, data, DURABLE_BYTES);
	uint64_t write_requests = device_requests() - requests;
	uint64_t dirty = bcache_dirty_sectors(c);
	read_raw(f, 0, raw, DURABLE_BYTES);
	int64_t stale = first_not(raw, DURABLE_BYTES, FILL);
	enum fs_error synced = fs_sync();
	read_raw(f, 0, raw, DURABLE_BYTES);
	bool durable = !memcmp(raw, data, DURABLE_BYTES);
	kfree(data);
	kfree(raw);

	KASSERT_EQ(w, DURABLE_BYTES);
	KASSERT_EQ(write_requests, 0);           /* the write stayed in the cache */
	KASSERT_EQ(dirty, DURABLE_BYTES / SECTOR_SIZE);
	KASSERT_EQ(stale, -1);                   /* the disk still has the old bytes */
	KASSERT_EQ(synced, FS_OK);
	KASSERT(durable);                        /* fs_sync put them on the disk */
	KASSERT_EQ(bcache_dirty_sectors(c), 0);
}

/* 256 reads of 4 KiB in a row cost about one device request per extent. */
KTEST(storage_cache_reads_ahead)
{
	storage_need();
	struct bcache *c = cache_or_fail();
	struct file *f = storage_open("bench.bin");
	uint8_t *buf = storage_alloc(4096);
	struct bcache_stats before, after;
	bool ok = true;

	bcache_get_stats(c, &before);
	uint64_t requests = device_requests();
	for (uint64_t off = 1u << 20; ok && off < 2u << 20; off += 4096)
		ok = file_read(f, off, buf, 4096) == 4096 && storage_bench_ok(off, buf, 4096);
	requests = device_requests() - requests;
	bcache_get_stats(c, &after);
	kfree(buf);
	KASSERT(ok);
	/* 16 extents, one more if the file is not extent-aligned, one for the
	 * first read of the run (which cannot know it starts one). */
	KASSERT(requests <= 18);
	KASSERT_EQ(after.reads - before.reads, 256);
	KASSERT(after.hit_sectors - before.hit_sectors >= (1u << 20) / SECTOR_SIZE - 2 * BCACHE_EXTENT_SECTORS);
}

/* A dirty extent that streaming pushes out is written back, without fs_sync. */
KTEST(storage_cache_evicts_dirty_data)
{
	storage_need();
	struct bcache *c = cache_or_fail();
	struct file *f = storage_open("evict.bin");
	uint8_t *buf = storage_alloc(EVICT_BYTES);
	struct bcache_stats before, after;

	KASSERT_EQ(fs_sync(), FS_OK);
	memset(buf, EVICT_BYTE, EVICT_BYTES);
	KASSERT_EQ(file_write(f, 0, buf, EVICT_BYTES), EVICT_BYTES);
	KASSERT(bcache_dirty_sectors(c) >= EVICT_BYTES / SECTOR_SIZE);
	bcache_get_stats(c, &before);
	bool streamed = stream_bench(64 * 1024);   /* 4 MiB: twice the cache */
	bcache_get_stats(c, &after);
	uint64_t dirty = bcache_dirty_sectors(c);
	memset(buf, 0, EVICT_BYTES);
	read_raw(f, 0, buf, EVICT_BYTES);
	int64_t bad = first_not(buf, EVICT_BYTES, EVICT_BYTE);
	kfree(buf);

	KASSERT(streamed);
	KASSERT(after.dirty_evictions > before.dirty_evictions);
	KASSERT_EQ(dirty, 0);
	KASSERT_EQ(bad, -1);
}

struct cache_worker {
	const char *file;     /* a writer's file; NULL for a reader */
	uint32_t id;
	const char *error;
	uint64_t bad_off;
};

/* A reader streams bench.bin twice, in 4 KiB and in 64 KiB requests. */
static void reader_main(struct cache_worker *w)
{
	if (!stream_bench(4096) || !stream_bench(64 * 1024))
		w->error = "bench.bin reads back wrong";
}

/* A writer rewrites its file in unaligned pieces each pass, then reads it back. */
static void writer_main(struct cache_worker *w)
{
	struct file *f = fs_open(w->file);
	uint8_t *buf = kmalloc(SHARED_BYTES);

	if (!f || !buf || file_size(f) != SHARED_BYTES) {
		w->error = "no file or no memory";
		kfree(buf);
		return;
	}
	for (uint32_t p = 0; p < WRITER_PASSES && !w->error; p++) {
		for (uint64_t i = 0; i < SHARED_BYTES; i++)
			buf[i] = (uint8_t)HEX[(i + p + 5 * w->id) % 16];
		for (uint64_t off = 0, step = 1000 + 4093 * w->id; off < SHARED_BYTES && !w->error; off += step) {
			uint64_t n = SHARED_BYTES - off < step ? SHARED_BYTES - off : step;
			if (file_write(f, off, buf + off, n) != (int64_t)n) {
				w->error = "file_write failed";
				w->bad_off = off;
			}
		}
		memset(buf, 0, SHARED_BYTES);
		if (!w->error && file_read(f, 0, buf, SHARED_BYTES) != SHARED_BYTES)
			w->error = "file_read of the written file failed";
		for (uint64_t i = 0; i < SHARED_BYTES && !w->error; i++) {
			if (buf[i] != (uint8_t)HEX[(i + p + 5 * w->id) % 16]) {
				w->error = "the written file reads back wrong";
				w->bad_off = i;
			}
		}
	}
	kfree(buf);
}

static void cache_worker_main(void *arg)
{
	struct cache_worker *w = arg;

	if (w->file)
		writer_main(w);
	else
		reader_main(w);
}

KTEST(storage_cache_readers_and_writers_on_two_cpus)
{
	storage_need();
	struct bcache *c = cache_or_fail();
	struct cache_worker w[4] = {
		{ .file = "cache1.bin", .id = 0 }, { .file = "cache2.bin", .id = 1 }, { .id = 2 }, { .id = 3 },
	};
	struct thread *t[4];
	struct bcache_stats before, after;

	bcache_get_stats(c, &before);
	for (int i = 0; i < 4; i++) {
		t[i] = thread_create_on("cache-worker", ncpus > 1 ? i % 2 : -1, cache_worker_main, &w[i]);
		KASSERT(t[i] != NULL);
	}
	for (int i = 0; i < 4; i++)
		thread_join(t[i]);
	bcache_get_stats(c, &after);
	for (int i = 0; i < 4; i++)
		if (w[i].error)
			ktest_fail(__FILE__, __LINE__, "%s: %s (offset %lu)", w[i].file ? w[i].file : "reader",
				   w[i].error, (unsigned long)w[i].bad_off);
	KASSERT(after.evictions > before.evictions);
	KASSERT_EQ(fs_sync(), FS_OK);
	KASSERT_EQ(bcache_dirty_sectors(c), 0);
}

KTEST(storagecrash_stop_without_flush)
{
	storage_need();
	struct bcache *c = cache_or_fail();
	struct file *f = storage_open("crash.bin");
	uint8_t *buf = storage_alloc(CRASH_FLUSHED);
	struct bcache_stats before, after;

	memset(buf, 'A', CRASH_FLUSHED);
	KASSERT_EQ(file_write(f, 0, buf, CRASH_FLUSHED), CRASH_FLUSHED);
	KASSERT_EQ(fs_sync(), FS_OK);
	bcache_get_stats(c, &before);
	memset(buf, 'C', CRASH_C_LEN);
	KASSERT_EQ(file_write(f, CRASH_C_OFF, buf, CRASH_C_LEN), CRASH_C_LEN);
	memset(buf, 'B', CRASH_B_LEN);
	KASSERT_EQ(file_write(f, CRASH_B_OFF, buf, CRASH_B_LEN), CRASH_B_LEN);
	kfree(buf);
	bcache_get_stats(c, &after);
	uint64_t dirty = bcache_dirty_sectors(c);
	/* Nothing of the unflushed writes has reached the disk: the host can
	 * expect exactly the flushed state. */
	KASSERT_EQ(after.lower_writes, before.lower_writes);
	KASSERT(dirty >= (CRASH_C_LEN + CRASH_B_LEN) / SECTOR_SIZE);
	printk("storage crash: stopping without a flush, %lu sectors dirty\n", (unsigned long)dirty);
	outl(CRASH_EXIT_PORT, KEOS_EXIT_SUCCESS);
	ktest_fail(__FILE__, __LINE__, "QEMU did not stop at the isa-debug-exit port");
}

/* The boot after the crash: the disk mounts and crash.bin holds the flushed bytes only. */
KTEST(storagecrash_after_restart)
{
	storage_need();
	struct file *f = storage_open("crash.bin");
	uint64_t size = file_size(f);
	uint8_t *buf = storage_alloc(size);
	int64_t n = file_read(f, 0, buf, size);
	int64_t bad_a = first_not(buf, CRASH_FLUSHED, 'A');
	int64_t bad_rest = first_not(buf + CRASH_FLUSHED, size - CRASH_FLUSHED, FILL);
	kfree(buf);

	KASSERT_EQ(n, size);
	KASSERT(size > CRASH_B_OFF + CRASH_B_LEN);
	KASSERT_EQ(bad_a, -1);
	KASSERT_EQ(bad_rest, -1);
}
