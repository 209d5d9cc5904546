/* The course's own host tests of the reference device (not in the handout):
 * the exact wording of its console lines, and behaviour the spec and the
 * stub comments leave open (reads of other widths, stray upper bits of a
 * write's value, a read transfer that lands on the ring itself). A student's
 * device may differ here and still be right; the tests students get
 * (tests/host/test_simple_virtio.c) judge only what the spec states.
 * Fixture and access path: tests/host/svirtb_path.c. */
#include <check.h>
#include <string.h>
#include "tests/host/svirtb_path.h"

/* The reference's line for a guest error contains what. */
static void expect_said(const char *what)
{
	const char *line = expect_reset();
	ck_assert_msg(strstr(line, what) != NULL, "expected \"%s\" in \"%s\"", what, line);
	ck_assert_msg(strstr(line, "device reset") != NULL, "no \"device reset\" in \"%s\"", line);
}

START_TEST(test_reference_wording)
{
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	expect_said("READY written in state MAGIC");
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	expect_said("DRIVER_OK written in state READY");
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_MAGIC);
	expect_said("the driver wrote MAGIC");
	wr(VIRTIO_REG_STATUS, 3);
	expect_said("unknown status value 0x3");
	wr(VIRTIO_REG_QUEUE_TAIL, 0);
	expect_said("the driver wrote queue_tail");
	wr(0x18, 0);
	expect_said("offset 0x18 past the registers");
	wr_sized(SVIRTB_MMIO_BASE + 2, 4, 0);
	expect_said("4-byte write at offset 0x2");
	wr_sized(SVIRTB_MMIO_BASE + VIRTIO_REG_STATUS, 1, 0);
	expect_said("registers take aligned 32-bit writes");
	wr_sized(SVIRTB_MMIO_BASE + 0x1000, 4, 0);
	expect_said("outside the register page");
	wr(VIRTIO_REG_QUEUE_ADDR_LO, 0x5000);
	expect_said("written in state READY");
	wr(VIRTIO_REG_QUEUE_HEAD, 8);
	expect_said("queue_head 8 out of range (queue_size 8)");
	put_entry(RING, 0, BUF_A, 16, 0, 2);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	expect_said("entry 0: unknown command 2");
	put_entry(RING, 0, BUF_A, 16, UINT64_MAX, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	expect_said("overflows a byte offset");
	put_entry(RING, 0, UINT64_MAX - 10, 100, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	expect_said("wraps the address space");
	put_entry(RING, 0, FAKE_HOLE_START, 16, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	expect_said("not all in guest RAM");
	put_entry(RING, 0, SVIRTB_MMIO_BASE, 4, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	expect_said("buffer [0xcafe0000, +0x4) not all in guest RAM");   /* the page is above all RAM */
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_REG_QUEUE_SIZE, 0);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	expect_said("queue_size 0, not in 1..1024");
	fake_disk_set_failing(true);
	put_entry(RING, 0, BUF_A, 64, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 1);
	fake_disk_set_failing(false);
	expect_said("disk_file read at byte 0 failed (-1)");
	wr(VIRTIO_REG_QUEUE_TAIL, 0);
	fake_console_clear();
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	expect_said("write RESET first");
}
END_TEST

START_TEST(test_given_code_wording)
{
	/* simple_virtio_new is given: its message, too. */
	svirtb_teardown();
	fake_guest_reset();
	fake_disk_set_missing(true);
	ck_assert_ptr_null(simple_virtio_new());
	ck_assert(fake_console_has("cannot open disk_file"));
	fake_disk_set_missing(false);
	svirtb_setup();
}
END_TEST

START_TEST(test_value_upper_bits_ignored)
{
	/* A 32-bit store carries 32 bits; stray upper bits of info->value do not
	 * reach a register. */
	wr_sized(SVIRTB_MMIO_BASE + VIRTIO_REG_STATUS, 4, 0xdead00000000ull | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_DRIVER_OK);
}
END_TEST

START_TEST(test_reads_of_any_width)
{
	uint64_t v = 1;
	init(RING, 8);
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE, 4, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, VIRTIO_STATUS_READY);
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE + 4, 8, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, 8);                              /* queue_size | queue_addr_hi << 32 */
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE + 0xc, 2, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, RING & 0xffff);
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE + 0xffe, 8, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, 0);
	v = 1;
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE, 3, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, 0);
	v = 1;
	ck_assert_int_eq(svirtb_access(MMIO_READ, SVIRTB_MMIO_BASE + 0x1000, 4, 0, &v), VM_ERR_NONE);
	ck_assert_uint_eq(v, 0);
	/* Reads change nothing and say nothing. */
	expect_regs(VIRTIO_STATUS_READY, 8, 0, (uint32_t)RING, 0, 0);
	ck_assert_uint_eq(fake_console_lines(), 0);
}
END_TEST

START_TEST(test_ring_changes_after_ready)
{
	/* The guest may rewrite ring entries between kicks; each kick reads the
	 * entries afresh, and an entry the device is about to read may even be
	 * overwritten by a read transfer that lands on the ring. */
	init(RING, 4);
	put_entry(RING, 0, RING + 28, 28, 0, VIRT_QUEUE_CMD_READ);  /* overwrites entry 1 */
	put_entry(RING, 1, BUF_A, 16, 0, VIRT_QUEUE_CMD_READ);
	wr(VIRTIO_REG_QUEUE_HEAD, 2);
	/* Entry 1 became disk bytes 0..27, whose cmd is not 0 or 1. */
	expect_reset();
}
END_TEST

static Suite *reference_suite(void)
{
	Suite *s = suite_create("simple_virtio_reference");
	TCase *tc = tcase_create("reference");
	tcase_add_checked_fixture(tc, svirtb_setup, svirtb_teardown);
	tcase_add_test(tc, test_reference_wording);
	tcase_add_test(tc, test_given_code_wording);
	tcase_add_test(tc, test_value_upper_bits_ignored);
	tcase_add_test(tc, test_reads_of_any_width);
	tcase_add_test(tc, test_ring_changes_after_ready);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reference_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
