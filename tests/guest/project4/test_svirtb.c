/* project4's graded guest tests: they run inside gKeOS under kev and drive
 * the svirtb device through the guest driver (project4/driver/svirtb.c).
 * check_blockio and check_blockio_batching follow KeV's project4 guest tests;
 * the svirtb_* tests cover what KeV did not: re-initialization, rings that
 * wrap, batches larger than the ring, every guest error (the device must end
 * in RESET and the next realize must work), page-crossing buffers and
 * concurrent kicks from two vCPUs.
 *
 * The disk is disk_file: the fixture tests/fixtures/project4/disk_file
 * (1800 bytes: three sectors and part of a fourth). Tests that write restore
 * what they changed, except svirtb_durable_write, whose bytes the host checks
 * on the disk image after QEMU exits. */
#include "keos/test/ktest.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/arch/guest.h"
#include "keos/lib/printk.h"
#include "kev/hypercall.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"
#include "project4/driver/svirtb.h"
#include <string.h>

extern const char svirtb_fixture[], svirtb_fixture_end[];
#define FIXTURE_LEN ((size_t)(svirtb_fixture_end - svirtb_fixture))
#define SECTOR 512u
#define QSIZE 64u
/* Every project4 guest gets 32 MiB (tests/kernel/test_project4.c). */
#define GUEST_RAM_END (32ull << 20)

gpa_t svirtb_virt_to_phys(const void *va)
{
	return virt_to_phys(va);
}

struct disk {
	struct svirtb d;
	void *ring;
};

static volatile uint8_t *regs(void)
{
	return phys_to_virt(SVIRTB_MMIO_BASE);
}

static uint32_t reg(uint32_t off)
{
	return *(volatile uint32_t *)(regs() + off);
}

static void set_reg(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(regs() + off) = v;
}

static void disk_open_size(struct disk *k, uint32_t qsize)
{
	k->ring = page_alloc();
	KASSERT(k->ring != NULL);
	enum svirtb_error e = svirtb_realize(&k->d, regs(), k->ring, qsize);
	if (e != SVIRTB_OK)
		ktest_fail(__FILE__, __LINE__, "realize: %s", svirtb_strerror(e));
}

static void disk_open(struct disk *k)
{
	disk_open_size(k, QSIZE);
}

static void disk_close(struct disk *k)
{
	svirtb_finish(&k->d);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	page_free(k->ring);
}

#define CHECK_IO(call)                                                              \
	do {                                                                        \
		enum svirtb_error e_ = (call);                                      \
		if (e_ != SVIRTB_OK)                                                \
			ktest_fail(__FILE__, __LINE__, "%s: %s", #call, svirtb_strerror(e_)); \
	} while (0)

/* Compares the bytes of sector idx that exist on the disk with the fixture. */
static void expect_fixture_sector(const uint8_t *buf, size_t idx)
{
	size_t off = idx * SECTOR;
	size_t n = FIXTURE_LEN - off < SECTOR ? FIXTURE_LEN - off : SECTOR;
	if (memcmp(buf, svirtb_fixture + off, n))
		ktest_fail(__FILE__, __LINE__, "sector %zu differs from disk_file", idx);
}

static size_t nsectors(void)
{
	return (FIXTURE_LEN + SECTOR - 1) / SECTOR;
}

KTEST(check_blockio)
{
	struct disk k;
	uint8_t rbuf[SECTOR], wbuf[SECTOR];
	disk_open(&k);
	for (size_t i = 0; i < nsectors(); i++) {
		memset(rbuf, 0, sizeof(rbuf));
		CHECK_IO(svirtb_read(&k.d, i, rbuf, SECTOR));
		expect_fixture_sector(rbuf, i);
	}
	memset(wbuf, 77, sizeof(wbuf));
	memset(rbuf, 0, sizeof(rbuf));
	CHECK_IO(svirtb_write(&k.d, 1, wbuf, SECTOR));
	CHECK_IO(svirtb_read(&k.d, 1, rbuf, SECTOR));
	KASSERT(!memcmp(rbuf, wbuf, SECTOR));
	for (size_t i = 0; i < nsectors(); i++) {
		if (i == 1)
			continue;
		memset(rbuf, 0, sizeof(rbuf));
		CHECK_IO(svirtb_read(&k.d, i, rbuf, SECTOR));
		expect_fixture_sector(rbuf, i);
	}
	CHECK_IO(svirtb_write(&k.d, 1, svirtb_fixture + SECTOR, SECTOR));
	CHECK_IO(svirtb_read(&k.d, 1, rbuf, SECTOR));
	expect_fixture_sector(rbuf, 1);
	disk_close(&k);
}

/* The disk's size, found as KeV's test does: a read past the end leaves the
 * buffer untouched, so the first sector that keeps both fill patterns is
 * past the end, and within the last sector the two fills differ where the
 * disk's bytes stop. */
static size_t disk_size(struct disk *k)
{
	static uint8_t a[SECTOR], b[SECTOR];
	size_t idx = 0;
	for (;; idx++) {
		KASSERT(idx < (1u << 16));      /* 32 MiB: far past any test disk */
		memset(a, 0xff, SECTOR);
		CHECK_IO(svirtb_read(&k->d, idx, a, SECTOR));
		memset(b, 0xee, SECTOR);
		CHECK_IO(svirtb_read(&k->d, idx, b, SECTOR));
		bool untouched = true;
		for (size_t i = 0; i < SECTOR; i++)
			untouched &= a[i] == 0xff && b[i] == 0xee;
		if (untouched)
			break;
	}
	KASSERT(idx > 0);
	idx--;
	memset(a, 0xff, SECTOR);
	memset(b, 0xee, SECTOR);
	CHECK_IO(svirtb_read(&k->d, idx, a, SECTOR));
	CHECK_IO(svirtb_read(&k->d, idx, b, SECTOR));
	size_t off = SECTOR;
	for (size_t i = 0; i < SECTOR; i++) {
		if (a[i] != b[i]) {
			off = i;
			break;
		}
	}
	return idx * SECTOR + off;
}

static void sector_requests(struct svirtb_request *r, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		r[i] = (struct svirtb_request){ buf + i * SECTOR, SECTOR, i };
}

KTEST(check_blockio_batching)
{
	struct disk k;
	disk_open(&k);
	size_t len = disk_size(&k);
	KASSERT_EQ(len, FIXTURE_LEN);
	size_t n = (len + SECTOR - 1) / SECTOR;
	uint8_t *rbuf = kzalloc(n * SECTOR), *rbuf2 = kzalloc(n * SECTOR), *wbuf = kmalloc(n * SECTOR);
	struct svirtb_request *req = kmalloc(n * sizeof(*req));
	KASSERT(rbuf && rbuf2 && wbuf && req);
	memset(wbuf, 77, n * SECTOR);

	sector_requests(req, rbuf, n);
	CHECK_IO(svirtb_read_many(&k.d, req, n));
	KASSERT(!memcmp(rbuf, svirtb_fixture, len));

	sector_requests(req, wbuf, n);
	CHECK_IO(svirtb_write_many(&k.d, req, n));
	sector_requests(req, rbuf2, n);
	CHECK_IO(svirtb_read_many(&k.d, req, n));
	KASSERT(!memcmp(rbuf2, wbuf, len));

	memcpy(wbuf, svirtb_fixture, len);
	sector_requests(req, wbuf, n);
	CHECK_IO(svirtb_write_many(&k.d, req, n));
	sector_requests(req, rbuf2, n);
	CHECK_IO(svirtb_read_many(&k.d, req, n));
	KASSERT(!memcmp(rbuf2, svirtb_fixture, len));
	kfree(req);
	kfree(wbuf);
	kfree(rbuf2);
	kfree(rbuf);
	disk_close(&k);
}

KTEST(svirtb_reinit_after_reset)
{
	struct disk k;
	uint8_t buf[SECTOR];
	for (int round = 0; round < 5; round++) {
		disk_open(&k);
		memset(buf, 0, sizeof(buf));
		CHECK_IO(svirtb_read(&k.d, round % nsectors(), buf, SECTOR));
		expect_fixture_sector(buf, round % nsectors());
		disk_close(&k);
	}
}

KTEST(svirtb_batch_larger_than_ring)
{
	/* A ring of 4 holds 3 requests: 40 one-sector reads need many refills. */
	struct disk k;
	disk_open_size(&k, 4);
	enum { N = 40 };
	uint8_t *buf = kzalloc(N * SECTOR);
	struct svirtb_request *req = kmalloc(N * sizeof(*req));
	KASSERT(buf && req);
	for (size_t i = 0; i < N; i++)
		req[i] = (struct svirtb_request){ buf + i * SECTOR, SECTOR, i % nsectors() };
	CHECK_IO(svirtb_read_many(&k.d, req, N));
	for (size_t i = 0; i < N; i++)
		expect_fixture_sector(buf + i * SECTOR, i % nsectors());
	kfree(req);
	kfree(buf);
	disk_close(&k);
}

KTEST(svirtb_ring_wraparound)
{
	/* 200 single requests through a ring of 5: the indices wrap 40 times. */
	struct disk k;
	disk_open_size(&k, 5);
	uint8_t buf[SECTOR];
	for (int i = 0; i < 200; i++) {
		memset(buf, 0, sizeof(buf));
		CHECK_IO(svirtb_read(&k.d, i % nsectors(), buf, SECTOR));
		expect_fixture_sector(buf, i % nsectors());
	}
	KASSERT(reg(VIRTIO_REG_QUEUE_TAIL) < 5);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), 200 % 5);
	disk_close(&k);
}

KTEST(svirtb_buffer_crossing_page)
{
	struct disk k;
	disk_open(&k);
	uint8_t *two = page_alloc_run(2);
	KASSERT(two != NULL);
	uint8_t *buf = two + PAGE_SIZE - 100;
	CHECK_IO(svirtb_read(&k.d, 0, buf, SECTOR));
	expect_fixture_sector(buf, 0);
	memset(buf, 0x5a, SECTOR);
	CHECK_IO(svirtb_write(&k.d, 2, buf, SECTOR));
	memset(buf, 0, SECTOR);
	CHECK_IO(svirtb_read(&k.d, 2, buf, SECTOR));
	for (size_t i = 0; i < SECTOR; i++)
		KASSERT_EQ(buf[i], 0x5a);
	CHECK_IO(svirtb_write(&k.d, 2, svirtb_fixture + 2 * SECTOR, SECTOR));
	page_free_run(two, 2);

	/* Two guest pages whose host pages are surely not adjacent: kev's pager
	 * gives a guest page its host page at the first touch, and a third page
	 * is touched between the two. Pages near the top of RAM, which no test
	 * boot hands out; read into, never allocated. */
	volatile uint8_t *first = phys_to_virt(GUEST_RAM_END - (2u << 20));
	first[0] = 1;
	first[16 * PAGE_SIZE] = 1;
	first[PAGE_SIZE] = 1;
	buf = (uint8_t *)first + PAGE_SIZE - 100;
	CHECK_IO(svirtb_read(&k.d, 0, buf, SECTOR));
	expect_fixture_sector(buf, 0);
	disk_close(&k);
}

/* After a guest error the device shows RESET; RESET returns it to MAGIC and
 * a new driver must work. */
static void expect_reset_and_recovery(void)
{
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	struct disk k;
	uint8_t buf[SECTOR];
	disk_open(&k);
	CHECK_IO(svirtb_read(&k.d, 0, buf, SECTOR));
	expect_fixture_sector(buf, 0);
	disk_close(&k);
}

KTEST(svirtb_bad_register_width)
{
	*(volatile uint16_t *)(regs() + VIRTIO_REG_STATUS) = VIRTIO_STATUS_DRIVER_OK;
	expect_reset_and_recovery();
	*(volatile uint8_t *)(regs() + VIRTIO_REG_QUEUE_SIZE) = 8;
	expect_reset_and_recovery();
	*(volatile uint64_t *)(regs() + VIRTIO_REG_QUEUE_ADDR_HI) = 0;
	expect_reset_and_recovery();
}

KTEST(svirtb_bad_register_offset)
{
	set_reg(VIRTIO_REG_QUEUE_TAIL, 0);
	expect_reset_and_recovery();
	set_reg(0x100, 1);
	expect_reset_and_recovery();
	set_reg(VIRTIO_REG_STATUS + 2, 0);     /* unaligned */
	expect_reset_and_recovery();
}

KTEST(svirtb_bad_status_order)
{
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);    /* READY before DRIVER_OK */
	expect_reset_and_recovery();
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_MAGIC);    /* the driver must not write MAGIC */
	expect_reset_and_recovery();
	set_reg(VIRTIO_REG_STATUS, 0x1234);                 /* no such status */
	expect_reset_and_recovery();
	set_reg(VIRTIO_REG_QUEUE_HEAD, 0);                  /* doorbell before READY */
	expect_reset_and_recovery();
	set_reg(VIRTIO_REG_QUEUE_SIZE, 8);                  /* queue registers outside DRIVER_OK */
	expect_reset_and_recovery();
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);   /* DRIVER_OK twice */
	expect_reset_and_recovery();
	struct disk k;
	disk_open(&k);                                        /* READY */
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);   /* DRIVER_OK while live */
	page_free(k.ring);
	expect_reset_and_recovery();
	disk_open(&k);                                        /* READY */
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);       /* READY while live */
	page_free(k.ring);
	expect_reset_and_recovery();
}

/* Steps 1-5 of the spec by hand, with the given queue. */
static void configure(uint32_t size, uint64_t addr)
{
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_DRIVER_OK);
	set_reg(VIRTIO_REG_QUEUE_SIZE, size);
	set_reg(VIRTIO_REG_QUEUE_ADDR_HI, (uint32_t)(addr >> 32));
	set_reg(VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)addr);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
}

KTEST(svirtb_bad_queue)
{
	void *ring = page_alloc();
	KASSERT(ring != NULL);
	configure(0, virt_to_phys(ring));                     /* zero size */
	expect_reset_and_recovery();
	configure(SVIRTB_QUEUE_MAX_SIZE + 1, virt_to_phys(ring)); /* oversized */
	expect_reset_and_recovery();
	configure(16, 0xd0000000ull);                         /* not guest RAM */
	expect_reset_and_recovery();
	configure(16, 0xfffffffffffff000ull);                 /* wraps past the top */
	expect_reset_and_recovery();
	configure(16, SVIRTB_MMIO_BASE);                      /* the register page itself */
	expect_reset_and_recovery();
	page_free(ring);
}

/* A live device whose ring entry 0 is e; the doorbell is then rung. */
static void kick_one_entry(const struct virt_queue_entry *e)
{
	void *ring = page_alloc();
	KASSERT(ring != NULL);
	configure(8, virt_to_phys(ring));
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	memcpy(ring, e, sizeof(*e));
	set_reg(VIRTIO_REG_QUEUE_HEAD, 1);
	page_free(ring);
}

KTEST(svirtb_bad_queue_head)
{
	void *ring = page_alloc();
	KASSERT(ring != NULL);
	configure(8, virt_to_phys(ring));
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	set_reg(VIRTIO_REG_QUEUE_HEAD, 8);                    /* == queue_size */
	expect_reset_and_recovery();
	page_free(ring);
}

KTEST(svirtb_bad_entries)
{
	static uint8_t buf[SECTOR];
	uint64_t ok = virt_to_phys(buf);
	const struct virt_queue_entry bad[] = {
		{ ok, SECTOR, 0, 7 },                              /* unknown command */
		{ 0xd0000000ull, SECTOR, 0, VIRT_QUEUE_CMD_READ },   /* buffer outside RAM */
		{ 0xfffffffffffffe00ull, 0x400, 0, VIRT_QUEUE_CMD_READ }, /* addr + size wraps */
		{ ok, SECTOR, 1ull << 56, VIRT_QUEUE_CMD_WRITE },    /* sector * 512 wraps */
		{ SVIRTB_MMIO_BASE, 16, 0, VIRT_QUEUE_CMD_READ },    /* into the register page */
		{ SVIRTB_MMIO_BASE, 16, 0, VIRT_QUEUE_CMD_WRITE },   /* out of it (the probe would allow it) */
		/* Starts in RAM and runs past its end: no byte may reach the disk. */
		{ GUEST_RAM_END - 512, 1024, 0, VIRT_QUEUE_CMD_WRITE },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kick_one_entry(&bad[i]);
		expect_reset_and_recovery();
	}
}

/* The spec's initialization by hand, each step read back as the driver
 * would: every accepted write is stored in the register page, and READY
 * starts the ring empty (queue_head = queue_tail = 0). */
KTEST(svirtb_init_sequence)
{
	void *ring = page_alloc();
	KASSERT(ring != NULL);
	uint64_t addr = virt_to_phys(ring);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_DRIVER_OK);
	set_reg(VIRTIO_REG_QUEUE_SIZE, 12);
	set_reg(VIRTIO_REG_QUEUE_ADDR_HI, (uint32_t)(addr >> 32));
	set_reg(VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)addr);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 12);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_ADDR_HI), (uint32_t)(addr >> 32));
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_ADDR_LO), (uint32_t)addr);
	set_reg(VIRTIO_REG_QUEUE_SIZE, 7);                    /* rewritten before READY */
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 7);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_HEAD), 0);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), 0);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 7);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	page_free(ring);
}

/* The calling vCPU's exits so far (kev counts them). */
static uint64_t vcpu_exits(void)
{
	return (uint64_t)guest_hypercall(KEV_HC_EXIT_COUNT, 0, 0, 0);
}

/* attach maps the register page read-only: reading a register is a plain
 * load, no exit; only writes exit. 1000 reads may cost a handful of exits
 * (the host's interrupts are not counted, a timer tick or a page fault in
 * between might be), never one each. */
KTEST(svirtb_register_reads_do_not_exit)
{
	enum { READS = 1000 };
	uint32_t sum = 0;
	uint64_t before = vcpu_exits();
	for (int i = 0; i < READS; i++)
		sum += reg(VIRTIO_REG_STATUS) + reg(VIRTIO_REG_QUEUE_TAIL);
	uint64_t exits = vcpu_exits() - before;
	KASSERT_EQ(sum, (uint32_t)((uint64_t)READS * VIRTIO_STATUS_MAGIC));
	if (exits >= READS / 10)
		ktest_fail(__FILE__, __LINE__, "%u register reads took %lu exits: the register page is "
		           "not mapped for reading (attach maps it read-only at 0xcafe0000)",
		           2 * READS, exits);
	uint64_t before_write = vcpu_exits();
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);       /* a write exits */
	KASSERT(vcpu_exits() - before_write >= 1);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
}

static void expect_queue_registers_zero(void)
{
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 0);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_ADDR_HI), 0);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_ADDR_LO), 0);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_HEAD), 0);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), 0);
}

/* The driver's RESET returns the device to MAGIC with every queue register
 * zeroed, from each state: DRIVER_OK with a queue configured, READY after
 * requests moved the indices, and the error state RESET. */
KTEST(svirtb_reset_zeroes_queue)
{
	void *ring = page_alloc();
	KASSERT(ring != NULL);
	uint64_t addr = virt_to_phys(ring) | (1ull << 32);     /* both address halves non-zero */
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	set_reg(VIRTIO_REG_QUEUE_SIZE, 8);
	set_reg(VIRTIO_REG_QUEUE_ADDR_HI, (uint32_t)(addr >> 32));
	set_reg(VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)addr);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_ADDR_HI), 1);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);       /* from DRIVER_OK */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	expect_queue_registers_zero();
	page_free(ring);

	struct disk k;
	uint8_t buf[SECTOR];
	disk_open_size(&k, 8);
	for (int i = 0; i < 3; i++)
		CHECK_IO(svirtb_read(&k.d, 0, buf, SECTOR));
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), 3);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);       /* from READY */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	expect_queue_registers_zero();
	page_free(k.ring);

	disk_open_size(&k, 8);
	CHECK_IO(svirtb_read(&k.d, 0, buf, SECTOR));
	set_reg(VIRTIO_REG_QUEUE_TAIL, 0);                     /* a guest error: RESET */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);       /* from the error state */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	expect_queue_registers_zero();
	page_free(k.ring);
	disk_open(&k);
	disk_close(&k);
}

/* After a guest error the device shows RESET and accepts only the driver's
 * RESET: DRIVER_OK (step 2 without step 1), a queue register or READY keep
 * it in RESET. */
KTEST(svirtb_error_state_needs_reset)
{
	set_reg(VIRTIO_REG_QUEUE_TAIL, 0);                     /* a guest error */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	set_reg(VIRTIO_REG_QUEUE_SIZE, 8);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 0);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	expect_reset_and_recovery();
}

/* A write the device rejects is not stored: the register keeps its value. */
KTEST(svirtb_rejected_writes_not_stored)
{
	set_reg(VIRTIO_REG_QUEUE_SIZE, 9);                     /* queue register in MAGIC */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 0);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);

	struct disk k;
	disk_open_size(&k, 8);
	uint64_t addr = virt_to_phys(k.ring);
	set_reg(VIRTIO_REG_QUEUE_ADDR_LO, 0x5000);             /* queue register in READY */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_ADDR_LO), (uint32_t)addr);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 8);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	page_free(k.ring);

	disk_open_size(&k, 8);
	set_reg(VIRTIO_REG_QUEUE_HEAD, 8);                     /* head == queue_size */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_HEAD), 0);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	page_free(k.ring);

	disk_open_size(&k, 8);
	set_reg(VIRTIO_REG_QUEUE_TAIL, 5);                     /* the device's register */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), 0);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	page_free(k.ring);

	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	*(volatile uint16_t *)(regs() + VIRTIO_REG_QUEUE_SIZE) = 0x55;   /* a 16-bit write */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_SIZE), 0);
	set_reg(VIRTIO_REG_STATUS, 0x1234);                    /* no such status */
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	expect_reset_and_recovery();
}

/* A guest error stops the drain: entries before the bad one are done, the
 * bad one and those after it are not, and queue_tail stays on the bad one. */
KTEST(svirtb_error_stops_the_drain)
{
	static uint8_t first[SECTOR], last[SECTOR], back[SECTOR];
	memset(first, 0x11, sizeof(first));
	memset(last, 0x22, sizeof(last));
	void *ring = page_alloc();
	KASSERT(ring != NULL);
	const struct virt_queue_entry e[3] = {
		{ virt_to_phys(first), SECTOR, 2, VIRT_QUEUE_CMD_WRITE },
		{ virt_to_phys(first), SECTOR, 2, 7 },               /* unknown command */
		{ virt_to_phys(last), SECTOR, 2, VIRT_QUEUE_CMD_WRITE },
	};
	configure(8, virt_to_phys(ring));
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	memcpy(ring, e, sizeof(e));
	set_reg(VIRTIO_REG_QUEUE_HEAD, 3);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), 1);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	page_free(ring);

	struct disk k;
	disk_open(&k);
	CHECK_IO(svirtb_read(&k.d, 2, back, SECTOR));
	KASSERT(!memcmp(back, first, SECTOR));
	CHECK_IO(svirtb_write(&k.d, 2, svirtb_fixture + 2 * SECTOR, SECTOR));
	disk_close(&k);
}

/* Each guest error gets one line with the reason on the host console. Only
 * the grader sees that console: before each error the guest announces it
 * with "expect one device line: WHAT" and closes with "one device line
 * expected above: WHAT"; grader/run_test.sh counts the host lines between. */
static void provoke(const char *what, uint32_t off, uint32_t value)
{
	printk("expect one device line: %s\n", what);
	set_reg(off, value);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	printk("one device line expected above: %s\n", what);
	set_reg(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
}

KTEST(svirtb_one_line_per_error)
{
	provoke("queue_tail written by the driver", VIRTIO_REG_QUEUE_TAIL, 0);
	provoke("READY written in MAGIC", VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	provoke("a write past the registers", 0x40, 1);
	struct disk k;
	disk_open(&k);
	provoke("queue_head equal to queue_size", VIRTIO_REG_QUEUE_HEAD, QSIZE);
	page_free(k.ring);
	static uint8_t buf[SECTOR];
	const struct virt_queue_entry e = { virt_to_phys(buf), SECTOR, 0, 9 };
	printk("expect one device line: an entry with command 9\n");
	kick_one_entry(&e);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	printk("one device line expected above: an entry with command 9\n");
	expect_reset_and_recovery();
}

/* Two vCPUs share one driver ring. Each round both push their requests (under
 * a lock, the ring being shared), meet at a barrier, read the same head and
 * ring the doorbell at the same moment: the device sees two simultaneous
 * writes of one head, and must serve every request exactly once. */
enum { KICK_ROUNDS = 30, KICK_PER_ROUND = 3 };

struct kick_shared {
	struct disk *k;
	struct spinlock ring_lock;
	uint8_t *bufs;
	volatile int arrived, generation;
};

struct kicker {
	struct kick_shared *s;
	int index;
};

static void barrier(struct kick_shared *s)
{
	int gen = __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
	if (__atomic_add_fetch(&s->arrived, 1, __ATOMIC_ACQ_REL) == 2) {
		__atomic_store_n(&s->arrived, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->generation, 1, __ATOMIC_RELEASE);
	} else {
		while (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) == gen)
			pause();
	}
}

static void kick_from_this_cpu(void *arg)
{
	struct kicker *c = arg;
	struct kick_shared *s = c->s;
	struct virt_queue_fetcher *vq = &s->k->d.vq;
	for (int round = 0; round < KICK_ROUNDS; round++) {
		spin_lock(&s->ring_lock);
		KASSERT_EQ(vq_fetcher_update_tail(vq, reg(VIRTIO_REG_QUEUE_TAIL)), VQ_OK);
		for (int j = 0; j < KICK_PER_ROUND; j++) {
			int n = (round * 2 + c->index) * KICK_PER_ROUND + j;
			struct virt_queue_entry e = {
				svirtb_virt_to_phys(s->bufs + (size_t)n * SECTOR), SECTOR,
				(uint64_t)n % nsectors(), VIRT_QUEUE_CMD_READ,
			};
			KASSERT_EQ(vq_fetcher_push(vq, &e), VQ_OK);
		}
		spin_unlock(&s->ring_lock);
		barrier(s);
		uint32_t head = vq_fetcher_kick(vq);
		set_reg(VIRTIO_REG_QUEUE_HEAD, head);
		barrier(s);
		KASSERT_EQ(reg(VIRTIO_REG_QUEUE_TAIL), head);
	}
}

KTEST(svirtb_concurrent_kicks)
{
	KASSERT(ncpus >= 2);
	struct disk k;
	disk_open_size(&k, 16);
	struct kick_shared s = { .k = &k, .bufs = kzalloc(2 * KICK_ROUNDS * KICK_PER_ROUND * SECTOR) };
	KASSERT(s.bufs != NULL);
	spinlock_init(&s.ring_lock, "test ring");
	struct kicker a = { &s, 0 }, b = { &s, 1 };
	struct thread *ta = thread_create_on("kick0", 0, kick_from_this_cpu, &a);
	struct thread *tb = thread_create_on("kick1", 1, kick_from_this_cpu, &b);
	thread_join(ta);
	thread_join(tb);
	KASSERT_EQ(reg(VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	for (int n = 0; n < 2 * KICK_ROUNDS * KICK_PER_ROUND; n++)
		expect_fixture_sector(s.bufs + (size_t)n * SECTOR, (size_t)n % nsectors());
	kfree(s.bufs);
	disk_close(&k);
}

/* Leaves a mark the host checks on the disk image after QEMU exits
 * (tools/check_svirtb_durability.sh): sector 1 becomes "durable" repeated,
 * and the last 8 bytes of the disk become "TAILMARK". */
KTEST(svirtb_durable_write)
{
	struct disk k;
	disk_open(&k);
	static uint8_t buf[SECTOR];
	for (size_t i = 0; i < SECTOR; i++)
		buf[i] = "durable!"[i % 8];
	CHECK_IO(svirtb_write(&k.d, 1, buf, SECTOR));
	static uint8_t last[SECTOR];
	size_t last_sector = (FIXTURE_LEN - 1) / SECTOR, in_last = FIXTURE_LEN - last_sector * SECTOR;
	memcpy(last, svirtb_fixture + last_sector * SECTOR, in_last);
	memcpy(last + in_last - 8, "TAILMARK", 8);
	CHECK_IO(svirtb_write(&k.d, last_sector, last, in_last));
	disk_close(&k);
}
