/* A hostile svirtb driver: doorbells whose drains are as heavy as the spec
 * allows. The host test that runs it (tests/kernel/test_project4_hostile.c)
 * measures how late host threads ran meanwhile and checks that the VM's
 * deadline held. Not graded: it runs against a disk of several MiB.
 *
 * Phase 1: 1023 entries, each declaring a buffer of 24 MiB at a sector past
 * the end of disk_file. No byte moves, and checking an entry must not cost
 * in proportion to its size: the drain has to finish at once.
 * Phase 2: 1023 entries, each reading the whole disk_file into a 24 MiB
 * buffer, in one doorbell, while the second vCPU writes a register
 * (and so waits for the device). This never ends by itself: the VM's
 * deadline must stop it, in the middle of a drain. */
#include "keos/test/ktest.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/arch/guest.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/thread/thread.h"
#include "project4/driver/svirtb.h"

enum { RING_ENTRIES = SVIRTB_QUEUE_MAX_SIZE, BUF_PAGES = 1024 };
#define DECLARED_SIZE (24ull << 20)

static volatile bool flooding;

static void fill_ring(void *ring, gpa_t buf, uint64_t sector)
{
	struct virt_queue_entry *e = ring;
	for (unsigned i = 0; i < RING_ENTRIES - 1; i++)
		e[i] = (struct virt_queue_entry){ buf, DECLARED_SIZE, sector, VIRT_QUEUE_CMD_READ };
}

/* Rings the doorbell for all 1023 entries from a fresh READY; returns the TSC cycles it took. */
static uint64_t flood(struct svirtb *d, void *ring)
{
	if (d->live)
		svirtb_finish(d);
	KASSERT_EQ(svirtb_realize(d, phys_to_virt(SVIRTB_MMIO_BASE), ring, RING_ENTRIES), SVIRTB_OK);
	uint64_t t0 = rdtsc();
	svirtb_reg_write(d, VIRTIO_REG_QUEUE_HEAD, RING_ENTRIES - 1);
	uint64_t cycles = rdtsc() - t0;
	KASSERT_EQ(svirtb_reg_read(d, VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	KASSERT_EQ(svirtb_reg_read(d, VIRTIO_REG_QUEUE_TAIL), RING_ENTRIES - 1);
	return cycles;
}

/* The second vCPU: rings the doorbell again (head unchanged: nothing new)
 * while the first vCPU's drain runs, and so waits for the device. */
static void meddle(void *arg)
{
	struct svirtb *d = arg;
	while (!flooding)
		pause();
	for (;;) {
		uint64_t t0 = rdtsc();
		while (rdtsc() - t0 < guest_tsc_per_tick())
			pause();
		svirtb_reg_write(d, VIRTIO_REG_QUEUE_HEAD, RING_ENTRIES - 1);
	}
}

KTEST(svirtb_hostile_flood)
{
	static struct svirtb d;
	void *ring = page_alloc_run((RING_ENTRIES * sizeof(struct virt_queue_entry) + PAGE_SIZE - 1) / PAGE_SIZE);
	uint8_t *buf = page_alloc_run(BUF_PAGES);
	KASSERT(ring != NULL && buf != NULL);
	gpa_t buf_pa = virt_to_phys(buf);

	fill_ring(ring, buf_pa, 1ull << 40);
	uint64_t cycles = flood(&d, ring);
	printk("svirtb hostile: phase 1: 1023 entries of 24 MiB past the disk's end drained in %lu us\n",
	       cycles * 10000 / guest_tsc_per_tick());
	/* About a millisecond when checks cost the same whatever the size; the
	 * device that probed every page of every buffer took over ten seconds. */
	if (cycles > 100 * guest_tsc_per_tick())
		ktest_fail(__FILE__, __LINE__, "phase 1 took %lu ms: checking an entry must not cost in proportion to its size",
		           cycles * 10 / guest_tsc_per_tick());

	/* 1023 whole-disk reads: gigabytes to copy, far more than the deadline allows. */
	fill_ring(ring, buf_pa, 0);
	KASSERT(ncpus >= 2);
	thread_create_on("meddle", 1, meddle, &d);
	flooding = true;
	printk("svirtb hostile: phase 2: 1023 whole-disk reads in one doorbell\n");
	cycles = flood(&d, ring);
	ktest_fail(__FILE__, __LINE__, "phase 2 drained in %lu ms, before the VM's deadline: make it heavier",
	           cycles * 10 / guest_tsc_per_tick());
}
