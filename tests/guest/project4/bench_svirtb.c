/* The svirtb benchmark, guest side (not graded). It needs the benchmark disk
 * (build/disk/project4-bench.img), whose disk_file is BENCH_DISK_BYTES of
 * numbered sectors: sector s starts with "svirtb bench sector %08u".
 *
 * Each test is one phase, run in a VM of its own by
 * tests/kernel/bench_project4.c, so that the host can tell which of its
 * counters (file_read calls, device requests, cache copies) the phase
 * caused:
 *   svirtb_bench_exits      the exits one request costs in batches of 1, 8,
 *                           64 and 512 one-sector reads;
 *   svirtb_bench_read_4k    whole passes over the disk in 4 KiB read
 *   svirtb_bench_read_64k   requests (64 KiB), up to BENCH_BATCH per doorbell,
 *   svirtb_bench_write_4k   for at least half a second, after an untimed
 *   svirtb_bench_write_64k  pass; the writes write back what an untimed read
 *                           found, so the disk ends as it began.
 * A phase prints one line the host parses:
 *   "svirtb bench: guest read 4096: B bytes in U us, E exits: K KB/s".
 * Every sector read is checked after the timed passes (a write phase reads
 * the disk back first), so a benchmark of a broken device fails. */
#include "keos/test/ktest.h"
#include "keos/arch/guest.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/thread/thread.h"
#include "kev/hypercall.h"
#include "project4/driver/svirtb.h"
#include <string.h>

#define BENCH_SECTOR 512u
#define BENCH_DISK_BYTES (4u << 20)    /* the 8192 sectors mk/project4.mk writes */
#define BENCH_HEADER_FMT "svirtb bench sector %08u"
#define BENCH_HEADER_LEN 28u
enum { BENCH_QSIZE = 1024, BENCH_BATCH = 256 };
#define BENCH_RING_PAGES ((BENCH_QSIZE * sizeof(struct virt_queue_entry) + PAGE_SIZE - 1) / PAGE_SIZE)

struct bench {
	struct svirtb d;
	void *ring;
	uint8_t *buf;                   /* BENCH_DISK_BYTES, physically contiguous */
	struct svirtb_request *req;     /* BENCH_BATCH entries */
};

#define BENCH_IO(call)                                                              \
	do {                                                                        \
		enum svirtb_error e_ = (call);                                      \
		if (e_ != SVIRTB_OK)                                                \
			ktest_fail(__FILE__, __LINE__, "%s: %s", #call, svirtb_strerror(e_)); \
	} while (0)

static void bench_open(struct bench *b)
{
	b->ring = page_alloc_run(BENCH_RING_PAGES);
	b->buf = page_alloc_run(BENCH_DISK_BYTES / PAGE_SIZE);
	b->req = kmalloc(BENCH_BATCH * sizeof(*b->req));
	KASSERT(b->ring != NULL && b->buf != NULL && b->req != NULL);
	BENCH_IO(svirtb_realize(&b->d, phys_to_virt(SVIRTB_MMIO_BASE), b->ring, BENCH_QSIZE));
}

static void bench_close(struct bench *b)
{
	svirtb_finish(&b->d);
	kfree(b->req);
	page_free_run(b->buf, BENCH_DISK_BYTES / PAGE_SIZE);
	page_free_run(b->ring, BENCH_RING_PAGES);
}

static uint64_t exits_so_far(void)
{
	return (uint64_t)guest_hypercall(KEV_HC_EXIT_COUNT, 0, 0, 0);
}

/* One pass over the whole disk in requests of size bytes. */
static void bench_pass(struct bench *b, uint32_t size, bool write)
{
	uint32_t n = BENCH_DISK_BYTES / size;

	for (uint32_t i = 0; i < n; i += BENCH_BATCH) {
		uint32_t batch = n - i < BENCH_BATCH ? n - i : BENCH_BATCH;
		for (uint32_t j = 0; j < batch; j++)
			b->req[j] = (struct svirtb_request){ b->buf + (uint64_t)(i + j) * size, size,
			                                     (uint64_t)(i + j) * (size / BENCH_SECTOR) };
		BENCH_IO(write ? svirtb_write_many(&b->d, b->req, batch) : svirtb_read_many(&b->d, b->req, batch));
	}
}

/* Fails the test at the first sector of the buffer whose header is wrong. */
static void bench_check(const struct bench *b)
{
	char hdr[BENCH_HEADER_LEN + 1];

	for (uint32_t s = 0; s < BENCH_DISK_BYTES / BENCH_SECTOR; s++) {
		ksnprintf(hdr, sizeof(hdr), BENCH_HEADER_FMT, s);
		if (memcmp(b->buf + (uint64_t)s * BENCH_SECTOR, hdr, BENCH_HEADER_LEN))
			ktest_fail(__FILE__, __LINE__, "sector %u of disk_file reads back wrong "
			           "(is the benchmark disk attached?)", s);
	}
}

/* Whole passes for at least half a second, timed with the TSC; prints the
 * line the host parses. */
static void bench_phase(uint32_t size, bool write)
{
	struct bench b;
	uint64_t tsc_hz = guest_tsc_per_tick() * TIMER_HZ, bytes = 0;

	KASSERT(tsc_hz > 0);
	bench_open(&b);
	/* Untimed, as on the host: fills the buffer for a write phase and
	 * warms up the code of the phase (QEMU translates it on first use). */
	bench_pass(&b, size, false);
	bench_check(&b);
	if (write)
		bench_pass(&b, size, true);
	uint64_t exits0 = exits_so_far(), t0 = rdtsc(), cycles;
	do {
		bench_pass(&b, size, write);
		bytes += BENCH_DISK_BYTES;
		cycles = rdtsc() - t0;
	} while (cycles < tsc_hz / 2);
	uint64_t exits = exits_so_far() - exits0 - 1;   /* minus the second count */
	if (write)
		bench_pass(&b, size, false);
	bench_check(&b);
	bench_close(&b);
	uint64_t us = cycles / (tsc_hz / 1000000);
	printk("svirtb bench: guest %s %u: %lu bytes in %lu us, %lu exits: %lu KB/s\n",
	       write ? "write" : "read", size, bytes, us, exits, bytes * 1000 / (us ? us : 1));
}

KTEST(svirtb_bench_read_4k) { bench_phase(4096, false); }
KTEST(svirtb_bench_read_64k) { bench_phase(65536, false); }
KTEST(svirtb_bench_write_4k) { bench_phase(4096, true); }
KTEST(svirtb_bench_write_64k) { bench_phase(65536, true); }

/* Exits per request for batches of one-sector reads: the doorbell costs one
 * exit per batch, whatever its length. */
KTEST(svirtb_bench_exits)
{
	static const unsigned batches[] = { 1, 8, 64, 512 };
	enum { N = 1024 };
	struct bench b;
	struct svirtb_request *req = kmalloc(N * sizeof(*req));

	KASSERT(req != NULL);
	bench_open(&b);
	for (size_t i = 0; i < N; i++)
		req[i] = (struct svirtb_request){ b.buf + i * BENCH_SECTOR, BENCH_SECTOR, i };
	for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
		unsigned batch = batches[k];
		uint64_t before = exits_so_far();
		for (size_t i = 0; i < N; i += batch)
			BENCH_IO(svirtb_read_many(&b.d, req + i, batch));
		uint64_t exits = exits_so_far() - before - 1;   /* minus the second count */
		printk("svirtb bench: batches of %3u sectors: %lu.%02lu exits per request\n", batch,
		       exits / N, exits % N * 100 / N);
	}
	kfree(req);
	bench_close(&b);
}
