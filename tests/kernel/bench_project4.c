/* The svirtb benchmark, host side (make bench-svirtb; not graded; it needs
 * build/disk/project4-bench.img, whose disk_file is 4 MiB of numbered
 * sectors).
 *
 * For 4 KiB and 64 KiB requests, read and write, it measures in one run the
 * host kernel's own file_read / file_write of disk_file in requests of that
 * size, then the same passes made by a guest through svirtb (one VM per
 * phase, tests/guest/project4/bench_svirtb.c), and prints both throughputs
 * and their ratio. Beside each figure it prints where the time went,
 * counted around the phase: file_read/file_write calls, device requests,
 * the block cache's misses and copies per MiB moved, the share of the
 * phase's time spent inside the file system and inside device I/O, and for
 * the guest the exits. The guest's counters cover its whole VM run (booting
 * gKeOS reads a few hundred KiB through the lazy pager); its time is the
 * guest's own TSC measurement of the phase alone.
 *
 * Numbers are printed, never asserted: the test fails only if a phase cannot
 * run or reads back wrong data. */
#include "tests/kernel/guest_harness.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "keos/dev/virtio_blk.h"
#include "keos/fs/fs.h"
#include "keos/fs/storage.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/thread/thread.h"
#include "kev/vm.h"
#include "project4/vm.h"
#include <string.h>

#define DISK_BYTES (4u << 20)
#define HEADER_FMT "svirtb bench sector %08u"
#define HEADER_LEN 28u

/* Everything counted around one phase. */
struct counters {
	struct fs_stats fs;
	struct virtio_blk_stats blk;
	struct bcache_stats cache;
	uint64_t exits;
};

struct phase {
	uint64_t bytes, us;
	struct counters c;      /* what the phase added */
};

static void sample(struct counters *c)
{
	struct bcache *cache = storage_cache();

	fs_get_stats(&c->fs);
	virtio_blk_get_stats(&c->blk);
	if (cache)
		bcache_get_stats(cache, &c->cache);
	else
		c->cache = (struct bcache_stats){ 0 };
	c->exits = 0;
}

static void subtract(struct counters *d, const struct counters *before)
{
	d->fs.read_calls -= before->fs.read_calls;
	d->fs.write_calls -= before->fs.write_calls;
	d->fs.read_cycles -= before->fs.read_cycles;
	d->fs.write_cycles -= before->fs.write_cycles;
	d->fs.bytes_read -= before->fs.bytes_read;
	d->fs.bytes_written -= before->fs.bytes_written;
	d->blk.requests -= before->blk.requests;
	d->cache.miss_sectors -= before->cache.miss_sectors;
	d->cache.readahead_sectors -= before->cache.readahead_sectors;
	d->cache.bytes_copied -= before->cache.bytes_copied;
	d->cache.lower_cycles -= before->cache.lower_cycles;
	d->cache.copy_cycles -= before->cache.copy_cycles;
}

static uint64_t cycles_to_us(uint64_t cycles)
{
	uint64_t khz = tsc_khz();
	return khz ? cycles * 1000 / khz : 0;
}

/* x per MiB of y bytes, with two decimals, into buf. */
static const char *per_mib(char *buf, size_t size, uint64_t x, uint64_t bytes)
{
	uint64_t mib100 = bytes ? x * 100 * (1u << 20) / bytes : 0;
	ksnprintf(buf, size, "%lu.%02lu", mib100 / 100, mib100 % 100);
	return buf;
}

/* part of whole, as a percentage. */
static uint64_t percent(uint64_t part, uint64_t whole)
{
	return whole ? part * 100 / whole : 0;
}

/* Per MiB that went through the file system during the phase's run (for the
 * guest, its whole VM run: untimed passes and booting included), and the
 * share of the phase's time spent in the file system (for the guest,
 * counted over the whole run and scaled by the timed share of the bytes),
 * and of that the share in device I/O under the cache and in the cache's
 * copies. Exits are the guest's own count over its timed passes. */
static void print_counters(const char *who, const struct phase *p, bool write)
{
	const struct counters *c = &p->c;
	char calls[24], reqs[24], miss[24], copied[24], exits[24];
	uint64_t moved = c->fs.bytes_read + c->fs.bytes_written;
	uint64_t fs_us = cycles_to_us(c->fs.read_cycles + c->fs.write_cycles);

	/* The guest's run also moved untimed bytes: count the timed share. */
	if (moved > p->bytes)
		fs_us = fs_us * p->bytes / moved;

	printk("svirtb bench:   %-5s per MiB: %s file_%s calls, %s device requests, %s sectors missed, "
	       "%s KiB copied by the cache, %s exits\n",
	       who, per_mib(calls, sizeof(calls), write ? c->fs.write_calls : c->fs.read_calls, moved),
	       write ? "write" : "read", per_mib(reqs, sizeof(reqs), c->blk.requests, moved),
	       per_mib(miss, sizeof(miss), c->cache.miss_sectors, moved),
	       per_mib(copied, sizeof(copied), c->cache.bytes_copied / 1024, moved),
	       per_mib(exits, sizeof(exits), c->exits, p->bytes));
	printk("svirtb bench:   %-5s time: %lu%% in the file system, of it %lu%% device I/O and %lu%% cache copies\n",
	       who, percent(fs_us, p->us), percent(c->cache.lower_cycles, c->fs.read_cycles + c->fs.write_cycles),
	       percent(c->cache.copy_cycles, c->fs.read_cycles + c->fs.write_cycles));
}

/* Fails the test at the first sector of buf whose header is wrong. */
static void check_headers(const uint8_t *buf)
{
	char hdr[HEADER_LEN + 1];

	for (uint32_t s = 0; s < DISK_BYTES / 512; s++) {
		ksnprintf(hdr, sizeof(hdr), HEADER_FMT, s);
		if (memcmp(buf + (uint64_t)s * 512, hdr, HEADER_LEN))
			ktest_fail(__FILE__, __LINE__, "sector %u of disk_file reads back wrong on the host", s);
	}
}

/* One pass over disk_file in requests of size bytes, to or from buf. */
static void host_pass(struct file *f, uint8_t *buf, uint32_t size, bool write)
{
	for (uint64_t off = 0; off < DISK_BYTES; off += size) {
		int64_t n = write ? file_write(f, off, buf + off, size) : file_read(f, off, buf + off, size);
		if (n != (int64_t)size)
			ktest_fail(__FILE__, __LINE__, "disk_file %s of %u bytes at %lu returned %ld",
			           write ? "write" : "read", size, off, n);
	}
}

/* The host kernel's phase: whole passes for at least half a second, after
 * an untimed one. A write phase writes back what an untimed read found. */
static struct phase host_phase(uint32_t size, bool write)
{
	struct file *f = fs_open("disk_file");
	uint8_t *buf = page_alloc_run(DISK_BYTES / PAGE_SIZE);
	struct phase p = { 0 };
	struct counters before;

	if (!f || file_size(f) != DISK_BYTES)
		ktest_fail(__FILE__, __LINE__, "no 4 MiB disk_file on the disk (attach project4-bench.img)");
	KASSERT(buf != NULL);
	KASSERT(tsc_khz() > 0);
	/* Untimed: fills buf for a write phase, and lets QEMU translate the
	 * code of the phase before the clock starts (its first run is slow). */
	host_pass(f, buf, size, false);
	if (write)
		host_pass(f, buf, size, true);
	sample(&before);
	uint64_t t0 = rdtsc(), cycles;
	do {
		host_pass(f, buf, size, write);
		p.bytes += DISK_BYTES;
		cycles = rdtsc() - t0;
	} while (cycles < (uint64_t)tsc_khz() * 500);
	sample(&p.c);
	subtract(&p.c, &before);
	p.us = cycles_to_us(cycles);
	if (write)
		host_pass(f, buf, size, false);
	check_headers(buf);
	page_free_run(buf, DISK_BYTES / PAGE_SIZE);
	return p;
}

/* One guest phase: the device, the counters before, and what the guest said. */
struct guest_phase {
	struct simple_virtio_dev *dev;
	struct counters before;
	struct phase p;
	const char *line_start;         /* "svirtb bench: guest read 4096: " */
};

static void attach(struct keos_vm *k, void *arg)
{
	struct guest_phase *g = arg;
	char why[160];

	g->dev = project4_attach_svirtb(k, why, sizeof(why));
	if (!g->dev) {
		keos_vm_destroy(k);
		ktest_fail(__FILE__, __LINE__, "%s", why);
	}
	sample(&g->before);
}

/* Reads the decimal number at *p and moves past it. */
static uint64_t parse_number(const char **p)
{
	uint64_t v = 0;

	while (**p >= '0' && **p <= '9')
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	return v;
}

/* Reads "B bytes in U us, E exits" from the guest's line, and the host's
 * counters since attach. */
static const char *collect(struct keos_vm *k, void *arg)
{
	struct guest_phase *g = arg;
	size_t len;
	const char *line = g->line_start ? strstr(vm_console(k->vm, &len), g->line_start) : NULL;

	sample(&g->p.c);
	subtract(&g->p.c, &g->before);
	if (!g->line_start)
		return NULL;
	if (!line)
		return "the guest printed no benchmark line";
	const char *p = line + strlen(g->line_start);
	g->p.bytes = parse_number(&p);
	if (strncmp(p, " bytes in ", 10))
		return "the guest's benchmark line is malformed";
	p += 10;
	g->p.us = parse_number(&p);
	if (strncmp(p, " us, ", 5))
		return "the guest's benchmark line is malformed";
	p += 5;
	g->p.c.exits = parse_number(&p);
	return NULL;
}

static void detach(void *arg)
{
	struct guest_phase *g = arg;

	simple_virtio_free(g->dev);
	g->dev = NULL;
}

/* Runs guest test name in a VM of its own; line_start (or NULL) is what the
 * guest's result line begins with. */
static struct phase guest_phase(const char *name, const char *line_start)
{
	struct guest_phase g = { .line_start = line_start };
	struct guest_run r = { name, 1, 64 * 1024, 300, attach, &g, collect, detach };

	guest_test_run(&r);
	return g.p;
}

static uint64_t kbps(const struct phase *p)
{
	return p->us ? p->bytes * 1000 / p->us : 0;
}

struct row {
	uint32_t size;
	bool write;
	uint64_t host_kbps, guest_kbps;
};

/* guest / host with two decimals, into buf. */
static const char *ratio(char *buf, size_t size, uint64_t guest, uint64_t host)
{
	uint64_t r100 = host ? guest * 100 / host : 0;

	ksnprintf(buf, size, "%lu.%02lu", r100 / 100, r100 % 100);
	return buf;
}

/* One row: the host's phase just before and just after the guest's (their
 * mean is the host's figure, so a machine that slows down or speeds up
 * during the run shows as two different numbers, not as a wrong ratio). */
static struct row measure(uint32_t size, bool write)
{
	char name[48], line[64], r[16];
	const char *dir = write ? "write" : "read", *dirs = write ? "writes" : "reads";

	ksnprintf(name, sizeof(name), "svirtb_bench_%s_%uk", dir, size / 1024);
	ksnprintf(line, sizeof(line), "svirtb bench: guest %s %u: ", dir, size);
	struct phase before = host_phase(size, write);
	struct phase guest = guest_phase(name, line);
	struct phase after = host_phase(size, write);
	struct row row = { size, write, (kbps(&before) + kbps(&after)) / 2, kbps(&guest) };

	printk("svirtb bench: %5u-byte %-6s: host %7lu KB/s (%lu before the guest, %lu after), "
	       "guest %7lu KB/s: %s of the host\n", size, dirs, row.host_kbps, kbps(&before), kbps(&after),
	       row.guest_kbps, ratio(r, sizeof(r), row.guest_kbps, row.host_kbps));
	print_counters("host", &before, write);
	print_counters("guest", &guest, write);
	return row;
}

KTEST(project4bench_svirtb)
{
	static const uint32_t sizes[] = { 4096, 65536 };
	struct row rows[4];
	unsigned n = 0;
	char r[16];

	guest_phase("svirtb_bench_exits", NULL);
	for (unsigned i = 0; i < 2; i++)
		for (unsigned w = 0; w < 2; w++)
			rows[n++] = measure(sizes[i], w);
	printk("svirtb bench: summary (guest svirtb throughput / host file_read or file_write, same request size)\n");
	for (unsigned i = 0; i < n; i++)
		printk("svirtb bench:   %2u KiB %-5s %s\n", rows[i].size / 1024, rows[i].write ? "write" : "read",
		       ratio(r, sizeof(r), rows[i].guest_kbps, rows[i].host_kbps));
}
