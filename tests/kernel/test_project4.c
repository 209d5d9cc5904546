/* project4's host tests: each boots gKeOS with the x2APIC and the svirtb
 * device attached (disk_file from build/disk/project4.img) and runs one guest test of
 * tests/guest/project4/test_svirtb.c. Opt-in (prefix project4_): the
 * grader and check-project4 run them with the disk attached. */
#include "tests/kernel/project4_harness.h"
#include "keos/fs/fs.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include "kev/vm.h"
#include <string.h>

#define SVIRTB_KTEST PROJECT4_KTEST

SVIRTB_KTEST(check_blockio, 1, 60)
SVIRTB_KTEST(check_blockio_batching, 1, 60)
SVIRTB_KTEST(svirtb_reinit_after_reset, 1, 60)
SVIRTB_KTEST(svirtb_batch_larger_than_ring, 1, 60)
SVIRTB_KTEST(svirtb_ring_wraparound, 1, 60)
SVIRTB_KTEST(svirtb_buffer_crossing_page, 1, 60)
SVIRTB_KTEST(svirtb_bad_register_width, 1, 60)
SVIRTB_KTEST(svirtb_bad_register_offset, 1, 60)
SVIRTB_KTEST(svirtb_bad_status_order, 1, 60)
SVIRTB_KTEST(svirtb_bad_queue, 1, 60)
SVIRTB_KTEST(svirtb_bad_queue_head, 1, 60)
SVIRTB_KTEST(svirtb_bad_entries, 1, 60)
SVIRTB_KTEST(svirtb_concurrent_kicks, 2, 60)
SVIRTB_KTEST(svirtb_durable_write, 1, 60)

/* The svirtb benchmark (build/disk/project4-bench.img, a 4 MiB disk_file):
 * the host kernel's own read throughput of disk_file, then the guest's
 * through svirtb, and the ratio. Printed, never asserted. */
static uint64_t host_read_kbps;

static uint64_t host_read_throughput(void)
{
	struct file *f = fs_open("disk_file");
	if (!f)
		ktest_fail(__FILE__, __LINE__, "no disk_file on the disk");
	static uint8_t chunk[64 * 1024];
	uint64_t bytes = 0, start = timer_ticks();
	do {
		for (uint64_t off = 0; off < file_size(f); off += sizeof(chunk)) {
			int64_t n = file_read(f, off, chunk, sizeof(chunk));
			if (n <= 0)
				ktest_fail(__FILE__, __LINE__, "disk_file read failed at %lu", off);
			bytes += (uint64_t)n;
		}
	} while (timer_ticks() - start < TIMER_HZ / 2);
	uint64_t ticks = timer_ticks() - start;
	return bytes * TIMER_HZ / 1024 / (ticks ? ticks : 1);
}

/* The number after the last "read of ... : " and before " KB/s" in the guest's line. */
static const char *report_ratio(struct keos_vm *k, void *arg)
{
	(void)arg;
	size_t len;
	const char *out = vm_console(k->vm, &len);
	const char *line = strstr(out, "sequential read of");
	if (!line)
		return "the guest printed no read throughput";
	const char *end = strstr(line, " KB/s");
	const char *p = end;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	uint64_t guest = 0;
	for (; p < end; p++)
		guest = guest * 10 + (uint64_t)(*p - '0');
	printk("svirtb bench: host kernel reads disk_file at %lu KB/s; svirtb in the guest at %lu KB/s: %lu.%02lu of the host\n",
	       host_read_kbps, guest, guest / (host_read_kbps ? host_read_kbps : 1),
	       guest * 100 / (host_read_kbps ? host_read_kbps : 1) % 100);
	return NULL;
}

KTEST(project4bench_svirtb)
{
	host_read_kbps = host_read_throughput();
	struct guest_run r = { "svirtb_bench", 1, 64 * 1024, 300, project4_setup, NULL,
	                       report_ratio, project4_teardown };
	guest_test_run(&r);
}
