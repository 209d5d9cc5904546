/* Host tests for the svirtb device model (project4/dev/simple_virtio.c) and
 * the guest driver (project4/driver/svirtb.c), against fake guest RAM and a
 * fake disk_file (tests/host/fake_guest.c).
 *
 * Every access goes the way a guest's would (tests/host/svirtb_path.c:
 * writes through the MMIO region set attach populated, reads straight from
 * the register page). The driver runs unchanged; its two register accessors
 * below route into the same path. The tests check what the spec
 * (docs/svirtb-spec.md) and the comments in simple_virtio.c state: states,
 * return values, bytes, and that a guest error prints one console line, never
 * that line's wording.
 *
 * After every test the fixture checks the fakes saw no violation (no access
 * past disk_file, no lock misuse, every console message one line), that the
 * register page past the six registers is still zero, and that the device
 * frees everything it allocated. */
#include <check.h>
#include <string.h>
#include "project4/dev/simple_virtio.h"
#include "project4/driver/svirtb.h"
#include "tests/host/svirtb_path.h"

/* Copies of RAM and disk_file, to show a rejected request changed nothing. */
static uint8_t ram_before[BUF_LEN * 2], disk_before[FAKE_DISK_MAX];

static void snapshot(void)
{
	memcpy(ram_before, fake_ram_ptr(BUF_A), sizeof(ram_before));
	memcpy(disk_before, fake_disk_data(), sizeof(disk_before));
}

static void expect_unchanged(void)
{
	ck_assert_int_eq(memcmp(ram_before, fake_ram_ptr(BUF_A), sizeof(ram_before)), 0);
	ck_assert_int_eq(memcmp(disk_before, fake_disk_data(), sizeof(disk_before)), 0);
}

/* --- creation and attach -------------------------------------------------------- */

START_TEST(test_new_starts_in_magic)
{
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_uint_eq(dev->handler.region.start, 0xcafe0000ull);
	ck_assert_uint_eq(dev->handler.region.end, 0xcafe1000ull);
	ck_assert_ptr_eq(dev->handler.priv, dev);
	ck_assert_ptr_eq(dev->handler.handle, simple_virtio_handle);
	ck_assert_uint_eq(((uintptr_t)dev->regs) % 4096, 0);
	/* The guest reads the magic as the bytes "virt". */
	ck_assert_int_eq(memcmp(dev->regs, "virt", 4), 0);
}
END_TEST

START_TEST(test_new_without_disk_file)
{
	fake_disk_set_missing(true);
	ck_assert_ptr_null(simple_virtio_new());
	ck_assert_uint_eq(fake_console_lines(), 1);
	fake_disk_set_missing(false);
}
END_TEST

START_TEST(test_attach_maps_once_read_only)
{
	ck_assert_uint_eq(pager.count, 1);
	ck_assert_uint_eq(pager.maps[0].gpa, 0xcafe0000ull);
	ck_assert_ptr_eq(pager.maps[0].page, dev->regs);
	ck_assert_uint_eq(pager.maps[0].perm, EPT_PERM_READ);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0xcafe0000), &dev->handler);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0xcafe0fff), &dev->handler);
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0xcafe1000));
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0xcafdffff));
	/* KeV attached per vCPU and mapped twice: a second attach is refused. */
	ck_assert_int_eq(simple_virtio_attach(dev, &pager, &ctl), SIMPLE_VIRTIO_ERR_ATTACHED);
	ck_assert_uint_eq(pager.count, 1);
	ck_assert_uint_eq(ctl.count, 1);
}
END_TEST

START_TEST(test_attach_map_refused)
{
	/* A second device at the same address: the pager refuses the page, and
	 * nothing is registered. */
	struct simple_virtio_dev *other = simple_virtio_new();
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(simple_virtio_attach(other, &pager, &ctl), SIMPLE_VIRTIO_ERR_MAP);
	ck_assert_uint_eq(pager.count, 1);
	ck_assert_uint_eq(ctl.count, 1);
	ck_assert(!other->mapped && !other->registered);
	simple_virtio_free(other);
}
END_TEST

static enum vm_error other_handle(struct mmio_handler *h, struct probe *p, const struct mmio_info *info,
                                  uint64_t *read_value, struct vcpu_state *v)
{
	(void)h, (void)p, (void)info, (void)read_value, (void)v;
	return VM_ERR_DEVICE;
}

START_TEST(test_attach_region_refused_then_retried)
{
	/* The region is taken: attach maps, fails to register, and a retry in a
	 * VM where the region is free registers without mapping again. */
	struct simple_virtio_dev *other = simple_virtio_new();
	struct kernel_vm_pager pager2;
	struct mmio_ctl ctl2;
	struct mmio_handler squatter = { { 0xcafe0800, 0xcafe0900 }, other_handle, NULL };
	fake_pager_init(&pager2);
	mmio_ctl_init(&ctl2);
	ck_assert_int_eq(mmio_ctl_register(&ctl2, &squatter), MMIO_CTL_OK);
	ck_assert_int_eq(simple_virtio_attach(other, &pager2, &ctl2), SIMPLE_VIRTIO_ERR_REGION);
	ck_assert_uint_eq(pager2.count, 1);
	mmio_ctl_init(&ctl2);
	ck_assert_int_eq(simple_virtio_attach(other, &pager2, &ctl2), SIMPLE_VIRTIO_OK);
	ck_assert_uint_eq(pager2.count, 1);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl2, 0xcafe0010), &other->handler);
	ck_assert_int_eq(simple_virtio_attach(other, &pager2, &ctl2), SIMPLE_VIRTIO_ERR_ATTACHED);
	simple_virtio_free(other);
}
END_TEST

/* --- the status machine ---------------------------------------------------------- */

START_TEST(test_init_sequence)
{
	/* Each step of spec section 3, read back as the guest would. */
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	expect_regs(VIRTIO_STATUS_DRIVER_OK, 0, 0, 0, 0, 0);
	wr(VIRTIO_REG_QUEUE_SIZE, 16);
	wr(VIRTIO_REG_QUEUE_ADDR_HI, 0);
	wr(VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)RING);
	expect_regs(VIRTIO_STATUS_DRIVER_OK, 16, 0, (uint32_t)RING, 0, 0);
	/* Queue registers may be rewritten before READY. */
	wr(VIRTIO_REG_QUEUE_SIZE, 7);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	expect_regs(VIRTIO_STATUS_READY, 7, 0, (uint32_t)RING, 0, 0);
	ck_assert_uint_eq(fake_console_lines(), 0);
	/* RESET from READY: MAGIC with the queue forgotten. */
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	init(RING, SVIRTB_QUEUE_MAX_SIZE);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_reset_from_every_state)
{
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);          /* from MAGIC */
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_REG_QUEUE_SIZE, 4);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);          /* from DRIVER_OK */
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	init(RING, 4);
	put_entry(RING, 0, BUF_A, 16, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);          /* from READY, indices moved */
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_status_out_of_order)
{
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);          /* READY from MAGIC */
	expect_reset();

	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);      /* DRIVER_OK while READY */
	expect_reset();

	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);      /* DRIVER_OK twice */
	expect_reset();

	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_MAGIC);          /* the driver must not write MAGIC */
	expect_reset();

	wr(VIRTIO_REG_STATUS, 3);                            /* no such status */
	expect_reset();
	wr(VIRTIO_REG_STATUS, 0xffffffffu);
	expect_reset();

	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);          /* READY while READY */
	expect_reset();
}
END_TEST

START_TEST(test_error_reset_needs_reset)
{
	/* After a device-side RESET, only RESET is accepted: DRIVER_OK (what a
	 * careless driver might try) keeps the device in RESET, with one line. */
	wr(VIRTIO_REG_QUEUE_TAIL, 0);
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	fake_console_clear();
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	ck_assert_uint_eq(fake_console_lines(), 1);
	fake_console_clear();
	wr(VIRTIO_REG_QUEUE_HEAD, 0);
	expect_reset();
}
END_TEST

START_TEST(test_queue_registers_only_in_driver_ok)
{
	wr(VIRTIO_REG_QUEUE_SIZE, 9);                        /* in MAGIC */
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_SIZE), 0);     /* rejected: not stored */
	expect_reset();
	wr(VIRTIO_REG_QUEUE_ADDR_LO, 0x5000);                /* in READY */
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_ADDR_LO), (uint32_t)RING);  /* rejected: not stored */
	expect_reset();
	wr(VIRTIO_REG_QUEUE_ADDR_HI, 1);
	expect_reset();
}
END_TEST

/* --- malformed register writes ------------------------------------------------------- */

START_TEST(test_bad_widths_and_offsets)
{
	static const uint8_t widths[] = { 1, 2, 8, 0, 3, 16 };
	for (unsigned i = 0; i < sizeof(widths); i++) {
		wr_sized(SVIRTB_MMIO_BASE + VIRTIO_REG_STATUS, widths[i], VIRTIO_STATUS_RESET);
		expect_reset();
	}
	wr_sized(SVIRTB_MMIO_BASE + 2, 4, 0);                /* unaligned */
	expect_reset();
	wr_sized(SVIRTB_MMIO_BASE + VIRTIO_REG_QUEUE_HEAD + 1, 1, 1);
	expect_reset();
	wr(VIRTIO_REG_QUEUE_TAIL, 0);                        /* device-owned */
	expect_reset();
	wr(0x18, 0);                                         /* just past the registers */
	expect_reset();
	wr(0xffc, 0);                                        /* last word of the page */
	expect_reset();
	wr_sized(SVIRTB_MMIO_BASE + 0x1000, 4, 0);           /* outside the page */
	expect_reset();
	wr_sized(0, 4, 0);
	expect_reset();
}
END_TEST

START_TEST(test_reads_answer_from_page)
{
	/* A 32-bit read that reaches handle gets the register's value. */
	uint64_t v = 1;
	init(RING, 8);
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE, 4, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, VIRTIO_STATUS_READY);
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE + VIRTIO_REG_QUEUE_SIZE, 4, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, 8);
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE + VIRTIO_REG_QUEUE_ADDR_LO, 4, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, (uint32_t)RING);
	expect_regs(VIRTIO_STATUS_READY, 8, 0, (uint32_t)RING, 0, 0);
}
END_TEST

/* --- a bad queue at READY ------------------------------------------------------------- */

static void ready_with(gpa_t ring, uint32_t size)
{
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	fake_console_clear();
	ck_assert_uint_eq(try_init(ring, size), VIRTIO_STATUS_RESET);
	expect_reset();
}

START_TEST(test_bad_queue)
{
	ready_with(RING, 0);
	ready_with(RING, 1025);
	ready_with(RING, 0xffffffffu);
	ready_with(FAKE_HOLE_START, 1);
	ready_with(FAKE_HOLE_START - 28, 2);          /* runs into the hole */
	ready_with(FAKE_RAM_MAX - 28 * 3, 4);         /* runs off RAM's end */
	ready_with(0x100000000ull, 4);                /* above RAM, hi set */
	ready_with(0xffffffffffffff00ull, 16);
	ready_with(SVIRTB_MMIO_BASE - 28, 2);        /* starts outside RAM */
	/* The fake probe does not map the register page, so the ring check refuses
	 * it first; in a VM the probe does, and the device itself must refuse it
	 * (the guest test svirtb_bad_queue). */
	ready_with(SVIRTB_MMIO_BASE + 0x100, 1);
	/* The largest ring fits, and so does a one-entry ring ending at RAM's end. */
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	init(RING, SVIRTB_QUEUE_MAX_SIZE);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	init(FAKE_RAM_MAX - 28, 1);
}
END_TEST

/* --- the doorbell and the drain -------------------------------------------------------- */

START_TEST(test_write_then_read_byte_for_byte)
{
	init(RING, 8);
	fill(BUF_A, 700, 5);
	put_entry(RING, 0, BUF_A, 700, 2, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	expect_regs(VIRTIO_STATUS_READY, 8, 0, (uint32_t)RING, 1, 1);
	const uint8_t *disk = fake_disk_data();
	ck_assert_int_eq(memcmp(disk + 1024, fake_ram_ptr(BUF_A), 700), 0);
	for (uint64_t i = 0; i < fake_disk_size(); i++)
		if (i < 1024 || i >= 1724)
			ck_assert_uint_eq(disk[i], fake_disk_pattern(i));

	put_entry(RING, 1, BUF_B, 700, 2, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);
	expect_regs(VIRTIO_STATUS_READY, 8, 0, (uint32_t)RING, 2, 2);
	ck_assert_int_eq(memcmp(fake_ram_ptr(BUF_B), fake_ram_ptr(BUF_A), 700), 0);
	ck_assert_uint_eq(((uint8_t *)fake_ram_ptr(BUF_B))[700], 0);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_buffers_cross_pages)
{
	/* Buffers that start mid-page and span three pages, both directions. */
	fake_disk_reset(FAKE_DISK_MAX);
	init(RING, 8);
	put_entry(RING, 0, BUF_A + 4000, 5000, 1, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	const uint8_t *got = fake_ram_ptr(BUF_A + 4000);
	for (unsigned i = 0; i < 5000; i++)
		ck_assert_uint_eq(got[i], fake_disk_pattern(512 + i));
	fill(BUF_B + 4095, 4098, 9);
	put_entry(RING, 1, BUF_B + 4095, 4098, 3, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);
	ck_assert_int_eq(memcmp(fake_disk_data() + 3 * 512, fake_ram_ptr(BUF_B + 4095), 4098), 0);
	ck_assert_uint_eq(fake_disk_data()[3 * 512 + 4098], fake_disk_pattern(3 * 512 + 4098));
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 2);
}
END_TEST

START_TEST(test_past_end_of_disk)
{
	/* disk_file is 3000 bytes: sector 5 holds bytes 2560..2999 only. */
	init(RING, 8);
	memset(fake_ram_ptr(BUF_A), 0xee, 1024);
	put_entry(RING, 0, BUF_A, 1024, 5, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	const uint8_t *got = fake_ram_ptr(BUF_A);
	for (unsigned i = 0; i < 440; i++)
		ck_assert_uint_eq(got[i], fake_disk_pattern(2560 + i));
	for (unsigned i = 440; i < 1024; i++)
		ck_assert_uint_eq(got[i], 0xee);

	fill(BUF_B, 1024, 3);
	put_entry(RING, 1, BUF_B, 1024, 5, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);
	ck_assert_int_eq(memcmp(fake_disk_data() + 2560, fake_ram_ptr(BUF_B), 440), 0);
	ck_assert_uint_eq(fake_disk_size(), 3000);

	/* Wholly past the end (sector 6 is byte 3072), and far past it: nothing
	 * moves, no disk_file call, and it is not an error. */
	snapshot();
	unsigned long calls = fake_disk_calls();
	put_entry(RING, 2, BUF_A, 512, 6, VIRT_QUEUE_CMD_READ);
	put_entry(RING, 3, BUF_A, 512, 6, VIRT_QUEUE_CMD_WRITE);
	put_entry(RING, 4, BUF_A, 512, UINT64_MAX / 512, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 5);
	expect_regs(VIRTIO_STATUS_READY, 8, 0, (uint32_t)RING, 5, 5);
	expect_unchanged();
	ck_assert_uint_eq(fake_disk_calls(), calls);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_zero_size_entry)
{
	/* An empty transfer is a no-op, even at an address that is not RAM. */
	init(RING, 4);
	snapshot();
	put_entry(RING, 0, FAKE_HOLE_START, 0, 0, VIRT_QUEUE_CMD_READ);
	put_entry(RING, 1, UINT64_MAX, 0, 0, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);
	expect_regs(VIRTIO_STATUS_READY, 4, 0, (uint32_t)RING, 2, 2);
	expect_unchanged();
}
END_TEST

START_TEST(test_batch_one_kick)
{
	/* Five writes of one sector each, then five reads back, one kick each batch. */
	init(RING, 16);
	fill(BUF_A, 5 * 512, 77);
	for (uint32_t i = 0; i < 5; i++)
		put_entry(RING, i, BUF_A + (4 - i) * 512, 512, i, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 5);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 5);
	for (uint32_t i = 0; i < 5; i++)
		ck_assert_int_eq(memcmp(fake_disk_data() + i * 512, fake_ram_ptr(BUF_A + (4 - i) * 512), 512), 0);
	for (uint32_t i = 0; i < 5; i++)
		put_entry(RING, 5 + i, BUF_B + i * 512, 512, i, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 10);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 10);
	ck_assert_int_eq(memcmp(fake_ram_ptr(BUF_B), fake_disk_data(), 5 * 512), 0);
}
END_TEST

START_TEST(test_ring_wraps_over_many_kicks)
{
	/* A 5-entry ring that straddles a page boundary, 400 kicks of 1..4
	 * entries: each entry writes a 37-byte record, then reads it back. */
	const gpa_t ring = RING + 4096 - 50;
	const uint32_t size = 5;
	uint32_t head = 0;
	uint64_t seq = 0;
	init(ring, size);
	fake_disk_reset(FAKE_DISK_MAX);
	for (unsigned kick = 0; kick < 400; kick++) {
		uint32_t batch = 1 + kick % (size - 1);
		uint64_t first = seq;
		for (uint32_t i = 0; i < batch; i++, seq++) {
			gpa_t buf = BUF_A + (seq % 64) * 64;
			fill(buf, 37, (uint8_t)seq);
			put_entry(ring, head, buf, 37, seq % 100, VIRT_QUEUE_CMD_WRITE);
			head = (head + 1) % size;
		}
		wr(VIRTIO_REG_QUEUE_HEAD, head);
		ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), head);
		for (uint64_t s = first; s < seq; s++) {
			ck_assert_uint_eq(fake_disk_data()[(s % 100) * 512], (uint8_t)s);
			put_entry(ring, head, BUF_B + (s % 64) * 64, 37, s % 100, VIRT_QUEUE_CMD_READ);
			head = (head + 1) % size;
			wr(VIRTIO_REG_QUEUE_HEAD, head);
			ck_assert_int_eq(memcmp(fake_ram_ptr(BUF_B + (s % 64) * 64),
			                        fake_ram_ptr(BUF_A + (s % 64) * 64), 37), 0);
		}
	}
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_READY);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_head_wraps_behind_tail)
{
	/* head < tail after a wrap: the device drains tail..size-1 then 0..head-1
	 * (KeV's head - tail underflowed here). */
	init(RING, 4);
	for (uint32_t i = 0; i < 3; i++)
		put_entry(RING, i, BUF_A, 1, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 3);
	for (uint32_t i = 0; i < 4; i++)
		put_entry(RING, (3 + i) % 4, BUF_B + i, 1, i, VIRT_QUEUE_CMD_READ);
	memset(fake_ram_ptr(BUF_B), 0, 4);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);                        /* 3 entries: slots 3, 0, 1 */
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 2);
	const uint8_t *b = fake_ram_ptr(BUF_B);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(b[i], fake_disk_pattern(i * 512));
	ck_assert_uint_eq(b[3], 0);
}
END_TEST

START_TEST(test_bad_doorbells)
{
	wr(VIRTIO_REG_QUEUE_HEAD, 0);                        /* in MAGIC */
	expect_reset();
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_REG_QUEUE_HEAD, 0);                        /* in DRIVER_OK */
	expect_reset();
	wr(VIRTIO_REG_QUEUE_HEAD, 8);                        /* == queue_size */
	expect_reset();
	wr(VIRTIO_REG_QUEUE_HEAD, 0xffffffffu);
	expect_reset();
}
END_TEST

/* One bad entry alone in the ring: RESET, one line, and nothing moved. */
static void bad_entry(uint64_t addr, uint64_t size, uint64_t sector, uint32_t cmd)
{
	snapshot();
	unsigned long calls = fake_disk_calls();
	put_entry(RING, 0, addr, size, sector, cmd);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 0);
	expect_unchanged();
	ck_assert_uint_eq(fake_disk_calls(), calls);
	expect_reset();
}

START_TEST(test_bad_entries)
{
	init(RING, 8);
	bad_entry(BUF_A, 16, 0, 2);
	bad_entry(BUF_A, 16, 0, 0xffffffffu);
	bad_entry(BUF_A, 16, UINT64_MAX / 512 + 1, VIRT_QUEUE_CMD_READ);
	bad_entry(BUF_A, 16, UINT64_MAX, VIRT_QUEUE_CMD_WRITE);
	bad_entry(UINT64_MAX - 10, 100, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(BUF_A, UINT64_MAX, 0, VIRT_QUEUE_CMD_WRITE);
	bad_entry(FAKE_HOLE_START, 16, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(FAKE_HOLE_START - 8, 16, 0, VIRT_QUEUE_CMD_WRITE);
	bad_entry(FAKE_HOLE_END - 1, 2, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(FAKE_RAM_MAX - 8, 16, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(0, 1ull << 30, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(0, 1ull << 40, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(UINT64_MAX, 1, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(SVIRTB_MMIO_BASE, 4, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(SVIRTB_MMIO_BASE - 1, 2, 0, VIRT_QUEUE_CMD_READ);
	bad_entry(SVIRTB_MMIO_BASE + 0xfff, 0x10000, 0, VIRT_QUEUE_CMD_WRITE);
}
END_TEST

START_TEST(test_error_stops_the_drain)
{
	/* Entries 0 and 1 are done, 2 is bad, 3 is never looked at: tail stays on 2. */
	init(RING, 8);
	fill(BUF_A, 64, 1);
	put_entry(RING, 0, BUF_A, 64, 0, VIRT_QUEUE_CMD_WRITE);
	put_entry(RING, 1, BUF_B, 64, 0, VIRT_QUEUE_CMD_READ);
	put_entry(RING, 2, BUF_A, 64, 0, 9);
	put_entry(RING, 3, BUF_A, 64, 1, VIRT_QUEUE_CMD_WRITE);
	wr(VIRTIO_REG_QUEUE_HEAD, 4);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 2);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_HEAD), 4);
	ck_assert_int_eq(memcmp(fake_ram_ptr(BUF_B), fake_ram_ptr(BUF_A), 64), 0);
	ck_assert_uint_eq(fake_disk_data()[512], fake_disk_pattern(512));
	expect_reset();
}
END_TEST

START_TEST(test_disk_io_error)
{
	init(RING, 8);
	fake_disk_set_failing(true);
	put_entry(RING, 0, BUF_A, 64, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	fake_disk_set_failing(false);
	expect_reset();
}
END_TEST

START_TEST(test_drain_stops_when_vm_stops)
{
	/* The VM is ending (its deadline passed): the doorbell performs nothing,
	 * and that is not the guest's error. */
	init(RING, 8);
	put_entry(RING, 0, BUF_A, 64, 0, VIRT_QUEUE_CMD_READ);
	put_entry(RING, 1, BUF_B, 64, 1, VIRT_QUEUE_CMD_READ);
	unsigned long disk = fake_disk_calls();
	fake_set_vm_stopping(true);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);
	fake_set_vm_stopping(false);
	ck_assert_uint_eq(fake_disk_calls(), disk);
	expect_regs(VIRTIO_STATUS_READY, 8, 0, (uint32_t)RING, 2, 0);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_entry_check_cost_does_not_grow_with_size)
{
	/* Seven entries each declaring the largest buffer RAM holds, at a sector
	 * past the end of disk_file: no byte moves, and checking them must not
	 * touch guest memory page by page (one ring read per entry, no more). */
	init(RING, 8);
	uint64_t big = FAKE_RAM_MAX - FAKE_HOLE_END;
	for (uint32_t i = 0; i < 7; i++)
		put_entry(RING, i, FAKE_HOLE_END, big, 1u << 20, i % 2);
	unsigned long calls = fake_probe_calls();
	wr(VIRTIO_REG_QUEUE_HEAD, 7);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), 7);
	ck_assert_uint_le(fake_probe_calls() - calls, 7 * 2);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST


/* --- the guest driver against the device model ----------------------------------------- */

static unsigned head_writes;
static bool drop_writes;
static int64_t tail_override = -1;

uint32_t svirtb_reg_read(struct svirtb *d, uint32_t off)
{
	uint32_t v;
	if (off == VIRTIO_REG_QUEUE_TAIL && tail_override >= 0)
		return (uint32_t)tail_override;
	memcpy(&v, (const uint8_t *)(uintptr_t)d->regs + off, sizeof(v));
	return v;
}

void svirtb_reg_write(struct svirtb *d, uint32_t off, uint32_t value)
{
	(void)d;
	if (off == VIRTIO_REG_QUEUE_HEAD)
		head_writes++;
	if (!drop_writes)
		wr(off, value);
}

gpa_t svirtb_virt_to_phys(const void *va)
{
	return fake_ram_gpa(va);
}

static struct svirtb drv;

static void driver_setup(void)
{
	svirtb_setup();
	head_writes = 0;
	drop_writes = false;
	tail_override = -1;
	memset(&drv, 0, sizeof(drv));
}

static enum svirtb_error realize(gpa_t ring, uint32_t size)
{
	return svirtb_realize(&drv, dev->regs, fake_ram_ptr(ring), size);
}

START_TEST(test_driver_realize_and_finish)
{
	ck_assert_int_eq(realize(RING, 32), SVIRTB_OK);
	ck_assert(drv.live);
	expect_regs(VIRTIO_STATUS_READY, 32, 0, (uint32_t)RING, 0, 0);
	svirtb_finish(&drv);
	ck_assert(!drv.live);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_int_eq(svirtb_read(&drv, 0, fake_ram_ptr(BUF_A), 16), SVIRTB_ERR_NOT_LIVE);
	ck_assert_int_eq(realize(RING, 32), SVIRTB_OK);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_driver_realize_failures)
{
	/* Arguments the driver refuses before touching the device. */
	ck_assert_int_eq(realize(RING, 1), SVIRTB_ERR_BAD_ARG);
	ck_assert_int_eq(realize(RING, 0), SVIRTB_ERR_BAD_ARG);
	ck_assert_int_eq(svirtb_realize(&drv, dev->regs, NULL, 8), SVIRTB_ERR_BAD_ARG);
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	/* Step 1: a device in error RESET is not MAGIC; the driver resets it. */
	wr(VIRTIO_REG_QUEUE_TAIL, 0);
	ck_assert_int_eq(realize(RING, 8), SVIRTB_ERR_NO_DEVICE);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	/* Step 1 again: a live device is not MAGIC either. */
	ck_assert_int_eq(realize(RING, 8), SVIRTB_ERR_NO_DEVICE);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	/* Step 6: the device refuses a ring it cannot reach (queue too big for
	 * the device's bound, or not all RAM); the driver leaves it in MAGIC. */
	fake_console_clear();
	ck_assert_int_eq(realize(FAKE_HOLE_START - 28, 8), SVIRTB_ERR_QUEUE);
	ck_assert_uint_eq(fake_console_lines(), 1);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_int_eq(realize(RING, SVIRTB_QUEUE_MAX_SIZE + 1), SVIRTB_ERR_BAD_ARG);
	/* Step 3: a device that ignores writes never shows DRIVER_OK. */
	drop_writes = true;
	ck_assert_int_eq(realize(RING, 8), SVIRTB_ERR_DRIVER_OK);
	drop_writes = false;
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
}
END_TEST

START_TEST(test_driver_read_write)
{
	uint8_t *a = fake_ram_ptr(BUF_A), *b = fake_ram_ptr(BUF_B);
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	fill(BUF_A, 1500, 42);
	ck_assert_int_eq(svirtb_write(&drv, 1, a + 3, 1500), SVIRTB_OK);
	ck_assert_int_eq(memcmp(fake_disk_data() + 512, a + 3, 1500), 0);
	ck_assert_int_eq(svirtb_read(&drv, 1, b + 4000, 1500), SVIRTB_OK);
	ck_assert_int_eq(memcmp(b + 4000, a + 3, 1500), 0);
	ck_assert_uint_eq(head_writes, 2);
	/* Past the end: 440 bytes arrive, the rest stays. */
	memset(b, 0x5a, 1024);
	ck_assert_int_eq(svirtb_read(&drv, 5, b, 1024), SVIRTB_OK);
	ck_assert_int_eq(memcmp(b, fake_disk_data() + 2560, 440), 0);
	ck_assert_uint_eq(b[440], 0x5a);
	ck_assert_uint_eq(b[1023], 0x5a);
	ck_assert_int_eq(svirtb_read(&drv, 0, NULL, 10), SVIRTB_ERR_BAD_ARG);
	ck_assert_int_eq(svirtb_read(&drv, 0, NULL, 0), SVIRTB_OK);
}
END_TEST

START_TEST(test_driver_many_one_kick)
{
	/* Fewer requests than the ring holds: one doorbell for all of them. */
	struct svirtb_request reqs[7];
	fake_disk_reset(FAKE_DISK_MAX);
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	fill(BUF_A, 7 * 100, 1);
	for (unsigned i = 0; i < 7; i++)
		reqs[i] = (struct svirtb_request){ fake_ram_ptr(BUF_A + i * 100), 100, i };
	ck_assert_int_eq(svirtb_write_many(&drv, reqs, 7), SVIRTB_OK);
	ck_assert_uint_eq(head_writes, 1);
	for (unsigned i = 0; i < 7; i++) {
		ck_assert_int_eq(memcmp(fake_disk_data() + i * 512, fake_ram_ptr(BUF_A + i * 100), 100), 0);
		reqs[i].buf = fake_ram_ptr(BUF_B + i * 100);
	}
	ck_assert_int_eq(svirtb_read_many(&drv, reqs, 7), SVIRTB_OK);
	ck_assert_uint_eq(head_writes, 2);
	ck_assert_int_eq(memcmp(fake_ram_ptr(BUF_B), fake_ram_ptr(BUF_A), 700), 0);
	ck_assert_int_eq(svirtb_read_many(&drv, reqs, 0), SVIRTB_OK);
}
END_TEST

START_TEST(test_driver_many_larger_than_ring)
{
	/* 50 requests through a 4-entry ring (3 at a time): ceil(50 / 3) = 17
	 * doorbells, and every byte where it belongs; the ring wraps many times. */
	enum { N = 50, LEN = 60 };
	struct svirtb_request reqs[N];
	fake_disk_reset(FAKE_DISK_MAX);
	ck_assert_int_eq(realize(RING + 4096 - 30, 4), SVIRTB_OK);
	fill(BUF_A, N * LEN, 200);
	for (unsigned i = 0; i < N; i++)
		reqs[i] = (struct svirtb_request){ fake_ram_ptr(BUF_A + i * LEN), LEN, (i * 7) % N };
	ck_assert_int_eq(svirtb_write_many(&drv, reqs, N), SVIRTB_OK);
	ck_assert_uint_eq(head_writes, 17);
	for (unsigned i = 0; i < N; i++) {
		ck_assert_int_eq(memcmp(fake_disk_data() + reqs[i].sector * 512, reqs[i].buf, LEN), 0);
		reqs[i].buf = fake_ram_ptr(BUF_B + i * LEN);
	}
	ck_assert_int_eq(svirtb_read_many(&drv, reqs, N), SVIRTB_OK);
	ck_assert_uint_eq(head_writes, 34);
	ck_assert_int_eq(memcmp(fake_ram_ptr(BUF_B), fake_ram_ptr(BUF_A), N * LEN), 0);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), (2 * N) % 4);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_driver_device_error)
{
	/* A request the device rejects: the driver reports it, resets the
	 * device, stops being live, and a new realize works. */
	struct svirtb_request reqs[3];
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	for (unsigned i = 0; i < 3; i++)
		reqs[i] = (struct svirtb_request){ fake_ram_ptr(BUF_A), 16, i == 1 ? UINT64_MAX : i };
	ck_assert_int_eq(svirtb_read_many(&drv, reqs, 3), SVIRTB_ERR_DEVICE);
	ck_assert_uint_eq(fake_console_lines(), 1);
	ck_assert(!drv.live);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_int_eq(svirtb_read(&drv, 0, fake_ram_ptr(BUF_A), 16), SVIRTB_ERR_NOT_LIVE);
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	ck_assert_int_eq(svirtb_read(&drv, 0, fake_ram_ptr(BUF_A), 16), SVIRTB_OK);
}
END_TEST

START_TEST(test_driver_bad_device)
{
	/* A tail the device cannot have reached, and a device that never moves. */
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	tail_override = 5;
	ck_assert_int_eq(svirtb_read(&drv, 0, fake_ram_ptr(BUF_A), 16), SVIRTB_ERR_PROTOCOL);
	tail_override = -1;
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	ck_assert_int_eq(realize(RING, 8), SVIRTB_OK);
	drop_writes = true;
	ck_assert_int_eq(svirtb_read(&drv, 0, fake_ram_ptr(BUF_A), 16), SVIRTB_ERR_TIMEOUT);
	ck_assert(!drv.live);
	drop_writes = false;
}
END_TEST

/* --- the runner ------------------------------------------------------------------------- */

static Suite *simple_virtio_suite(void)
{
	Suite *s = suite_create("simple_virtio");
	TCase *dev_tc = tcase_create("device");
	tcase_add_checked_fixture(dev_tc, svirtb_setup, svirtb_teardown);
	tcase_add_test(dev_tc, test_new_starts_in_magic);
	tcase_add_test(dev_tc, test_new_without_disk_file);
	tcase_add_test(dev_tc, test_attach_maps_once_read_only);
	tcase_add_test(dev_tc, test_attach_map_refused);
	tcase_add_test(dev_tc, test_attach_region_refused_then_retried);
	tcase_add_test(dev_tc, test_init_sequence);
	tcase_add_test(dev_tc, test_reset_from_every_state);
	tcase_add_test(dev_tc, test_status_out_of_order);
	tcase_add_test(dev_tc, test_error_reset_needs_reset);
	tcase_add_test(dev_tc, test_queue_registers_only_in_driver_ok);
	tcase_add_test(dev_tc, test_bad_widths_and_offsets);
	tcase_add_test(dev_tc, test_reads_answer_from_page);
	tcase_add_test(dev_tc, test_bad_queue);
	tcase_add_test(dev_tc, test_write_then_read_byte_for_byte);
	tcase_add_test(dev_tc, test_buffers_cross_pages);
	tcase_add_test(dev_tc, test_past_end_of_disk);
	tcase_add_test(dev_tc, test_zero_size_entry);
	tcase_add_test(dev_tc, test_batch_one_kick);
	tcase_add_test(dev_tc, test_ring_wraps_over_many_kicks);
	tcase_add_test(dev_tc, test_head_wraps_behind_tail);
	tcase_add_test(dev_tc, test_bad_doorbells);
	tcase_add_test(dev_tc, test_bad_entries);
	tcase_add_test(dev_tc, test_error_stops_the_drain);
	tcase_add_test(dev_tc, test_disk_io_error);
	tcase_add_test(dev_tc, test_drain_stops_when_vm_stops);
	tcase_add_test(dev_tc, test_entry_check_cost_does_not_grow_with_size);
	suite_add_tcase(s, dev_tc);

	TCase *drv_tc = tcase_create("driver");
	tcase_add_checked_fixture(drv_tc, driver_setup, svirtb_teardown);
	tcase_add_test(drv_tc, test_driver_realize_and_finish);
	tcase_add_test(drv_tc, test_driver_realize_failures);
	tcase_add_test(drv_tc, test_driver_read_write);
	tcase_add_test(drv_tc, test_driver_many_one_kick);
	tcase_add_test(drv_tc, test_driver_many_larger_than_ring);
	tcase_add_test(drv_tc, test_driver_device_error);
	tcase_add_test(drv_tc, test_driver_bad_device);
	tcase_set_timeout(drv_tc, 20);
	suite_add_tcase(s, drv_tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(simple_virtio_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
