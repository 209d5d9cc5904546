/* Host tests for the svirtb ring (project4/virtio/virt_queue.c).
 *
 * The driver's side and the device's side are paired the way they are in a
 * VM: the driver fills a ring in its own memory (here: a host pointer into the
 * fake guest RAM), the device reads the same bytes by guest-physical address
 * through the probe. Indices travel between the two only as the register
 * values would: the driver's kick becomes the device's head, the device's
 * tail becomes the driver's update_tail. */
#include <check.h>
#include <string.h>
#include "project4/virtio/virt_queue.h"
#include "tests/host/fake_guest.h"

#define RING_GPA 0x10000ull

/* A driver fetcher over local memory and a device fetcher over guest memory, same ring. */
struct pair {
	struct virt_queue_fetcher drv, dev;
};

static void pair_init(struct pair *pr, gpa_t gpa, uint32_t size)
{
	struct virt_queue q;
	ck_assert_int_eq(virt_queue_from_local(&q, fake_ram_ptr(gpa), size), VQ_OK);
	vq_fetcher_init(&pr->drv, &q);
	ck_assert_int_eq(virt_queue_from_guest(&q, fake_probe(), gpa, size), VQ_OK);
	vq_fetcher_init(&pr->dev, &q);
}

static struct virt_queue_entry entry(uint64_t seq)
{
	return (struct virt_queue_entry){
		.addr = 0x1000 + seq, .size = seq * 3, .sector = ~seq, .cmd = (uint32_t)(seq & 1),
	};
}

/* The hot helpers check with a plain if: libcheck's ck_assert_* cost a pipe
 * write each in fork mode, too slow for a million entries. */

/* The driver pushes entry seq. */
static void push(struct pair *pr, uint64_t seq)
{
	struct virt_queue_entry x = entry(seq);
	if (vq_fetcher_push(&pr->drv, &x) != VQ_OK)
		ck_abort_msg("push of entry %llu failed", (unsigned long long)seq);
}

/* The driver kicks; the device sees the doorbell. */
static void kick(struct pair *pr)
{
	if (vq_fetcher_set_head(&pr->dev, vq_fetcher_kick(&pr->drv)) != VQ_OK)
		ck_abort_msg("the device refused the driver's head %u", pr->drv.head);
}

/* The device consumes one entry and checks it is seq. */
static void consume(struct pair *pr, uint64_t seq)
{
	struct virt_queue_entry e, want = entry(seq);
	if (vq_fetcher_pop(&pr->dev, &e) != VQ_OK || memcmp(&e, &want, sizeof(e)) != 0 ||
	    vq_fetcher_ack(&pr->dev) != VQ_OK)
		ck_abort_msg("entry %llu not consumed in order", (unsigned long long)seq);
}

/* The driver learns the device's tail. */
static void sync_tail(struct pair *pr)
{
	if (vq_fetcher_update_tail(&pr->drv, pr->dev.tail) != VQ_OK)
		ck_abort_msg("the driver refused the device's tail %u", pr->dev.tail);
}

static void setup(void)
{
	fake_guest_reset();
}

static void teardown(void)
{
	ck_assert_msg(fake_violations() == 0, "fake violation: %s", fake_last_violation());
}

START_TEST(test_layout)
{
	/* The spec's packed layout, byte for byte, little-endian. */
	struct pair pr;
	pair_init(&pr, RING_GPA, 4);
	struct virt_queue_entry e = {
		.addr = 0x0807060504030201ull, .size = 0x100f0e0d0c0b0a09ull,
		.sector = 0x1817161514131211ull, .cmd = 0x1c1b1a19u,
	};
	ck_assert_int_eq(sizeof(struct virt_queue_entry), 28);
	ck_assert_int_eq(vq_fetcher_push(&pr.drv, &e), VQ_OK);
	ck_assert_int_eq(vq_fetcher_push(&pr.drv, &e), VQ_OK);
	const uint8_t *ring = fake_ram_ptr(RING_GPA);
	for (int i = 0; i < 28; i++) {
		ck_assert_int_eq(ring[i], i + 1);
		ck_assert_int_eq(ring[28 + i], i + 1);
	}
	ck_assert_int_eq(ring[56], 0);
}
END_TEST

START_TEST(test_init_rejects)
{
	struct virt_queue q;
	uint8_t buf[32];
	ck_assert_int_eq(virt_queue_from_local(&q, buf, 0), VQ_ERR_BAD_SIZE);
	ck_assert_int_eq(virt_queue_from_local(&q, buf, SVIRTB_QUEUE_MAX_SIZE + 1), VQ_ERR_BAD_SIZE);
	ck_assert_int_eq(virt_queue_from_local(&q, NULL, 1), VQ_ERR_BAD_ADDR);
	ck_assert_int_eq(virt_queue_init(&q, NULL, NULL, UINT64_MAX - 27, 1), VQ_ERR_BAD_ADDR);
	ck_assert_int_eq(virt_queue_init(&q, NULL, NULL, UINT64_MAX - 28, 1), VQ_OK);
	ck_assert_int_eq(virt_queue_from_guest(&q, fake_probe(), RING_GPA, SVIRTB_QUEUE_MAX_SIZE), VQ_OK);
	ck_assert_int_eq(virt_queue_from_guest(&q, fake_probe(), UINT64_MAX - 100, 4), VQ_ERR_BAD_ADDR);
}
END_TEST

START_TEST(test_guest_ring_must_be_ram)
{
	struct virt_queue q;
	struct probe *p = fake_probe();
	/* Inside the hole, straddling its start or end, past RAM's end. */
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_HOLE_START, 1), VQ_ERR_BAD_ADDR);
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_HOLE_START - 28, 2), VQ_ERR_BAD_ADDR);
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_HOLE_END - 1, 1), VQ_ERR_BAD_ADDR);
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_RAM_MAX - 28, 2), VQ_ERR_BAD_ADDR);
	ck_assert_int_eq(virt_queue_from_guest(&q, p, SVIRTB_MMIO_BASE, 1), VQ_ERR_BAD_ADDR);
	/* Exactly up to the hole and exactly up to RAM's end are fine. */
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_HOLE_START - 56, 2), VQ_OK);
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_HOLE_END, 2), VQ_OK);
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_RAM_MAX - 56, 2), VQ_OK);
	/* A ring of many pages whose last page is the hole's first. */
	ck_assert_int_eq(virt_queue_from_guest(&q, p, FAKE_HOLE_START - 3 * 4096, 1024), VQ_ERR_BAD_ADDR);
}
END_TEST

START_TEST(test_guest_range_ok)
{
	struct probe *p = fake_probe();
	ck_assert(vq_guest_range_ok(p, 0, 0));
	ck_assert(vq_guest_range_ok(p, UINT64_MAX, 0));
	ck_assert(vq_guest_range_ok(p, 0, FAKE_HOLE_START));
	ck_assert(!vq_guest_range_ok(p, 0, FAKE_HOLE_START + 1));
	ck_assert(vq_guest_range_ok(p, FAKE_HOLE_END, FAKE_RAM_MAX - FAKE_HOLE_END));
	ck_assert(!vq_guest_range_ok(p, FAKE_HOLE_END, FAKE_RAM_MAX - FAKE_HOLE_END + 1));
	ck_assert(!vq_guest_range_ok(p, 4096, UINT64_MAX));
	ck_assert(!vq_guest_range_ok(p, UINT64_MAX, 2));
	ck_assert(!vq_guest_range_ok(p, UINT64_MAX, 1));
	/* Unaligned start and end within one page and across pages. */
	ck_assert(vq_guest_range_ok(p, 4095, 2));
	ck_assert(!vq_guest_range_ok(p, FAKE_HOLE_START - 1, 2));
	ck_assert(vq_guest_range_ok(p, FAKE_HOLE_START - 1, 1));
}
END_TEST

START_TEST(test_empty)
{
	struct pair pr;
	struct virt_queue_entry e;
	pair_init(&pr, RING_GPA, 8);
	ck_assert_uint_eq(vq_fetcher_pending(&pr.drv), 0);
	ck_assert_uint_eq(vq_fetcher_space(&pr.drv), 7);
	ck_assert_int_eq(vq_fetcher_pop(&pr.dev, &e), VQ_ERR_EMPTY);
	ck_assert_int_eq(vq_fetcher_ack(&pr.dev), VQ_ERR_EMPTY);
	ck_assert_uint_eq(pr.dev.tail, 0);
	/* A kick of nothing leaves the device empty. */
	kick(&pr);
	ck_assert_int_eq(vq_fetcher_pop(&pr.dev, &e), VQ_ERR_EMPTY);
}
END_TEST

START_TEST(test_push_pop)
{
	struct pair pr;
	struct virt_queue_entry e;
	pair_init(&pr, RING_GPA, 8);
	for (uint64_t s = 0; s < 3; s++) {
		struct virt_queue_entry x = entry(s);
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_OK);
	}
	ck_assert_uint_eq(vq_fetcher_pending(&pr.drv), 3);
	/* Not yet kicked: the device sees nothing. */
	ck_assert_int_eq(vq_fetcher_pop(&pr.dev, &e), VQ_ERR_EMPTY);
	kick(&pr);
	ck_assert_uint_eq(vq_fetcher_pending(&pr.dev), 3);
	/* pop does not consume: popping twice gives the same entry. */
	ck_assert_int_eq(vq_fetcher_pop(&pr.dev, &e), VQ_OK);
	ck_assert_uint_eq(pr.dev.tail, 0);
	consume(&pr, 0);
	consume(&pr, 1);
	consume(&pr, 2);
	ck_assert_int_eq(vq_fetcher_pop(&pr.dev, &e), VQ_ERR_EMPTY);
	sync_tail(&pr);
	ck_assert_uint_eq(vq_fetcher_pending(&pr.drv), 0);
}
END_TEST

START_TEST(test_full_at_size_minus_one)
{
	for (uint32_t size = 1; size <= 9; size++) {
		struct pair pr;
		pair_init(&pr, RING_GPA, size);
		for (uint64_t s = 0; s + 1 < size; s++) {
			struct virt_queue_entry x = entry(s);
			ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_OK);
		}
		struct virt_queue_entry x = entry(99);
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_ERR_FULL);
		ck_assert_uint_eq(vq_fetcher_pending(&pr.drv), size - 1);
		ck_assert_uint_eq(vq_fetcher_space(&pr.drv), 0);
		/* Full and empty differ: a full ring's head is one behind its tail. */
		ck_assert_uint_eq(pr.drv.head, size - 1);
		if (size == 1)
			continue;
		kick(&pr);
		consume(&pr, 0);
		sync_tail(&pr);
		ck_assert_uint_eq(vq_fetcher_space(&pr.drv), 1);
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_OK);
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_ERR_FULL);
	}
}
END_TEST

START_TEST(test_wrap_many_rounds)
{
	/* Batches of every length up to full, over many wraps, for a few sizes;
	 * the ring starts 20 bytes before a page end so entries straddle it. */
	static const uint32_t sizes[] = { 2, 3, 5, 7, 16, 146, 1024 };
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint32_t size = sizes[k];
		unsigned rounds = size < 100 ? 3000 : 2 * size + 7;
		struct pair pr;
		pair_init(&pr, RING_GPA + 4096 - 20, size);
		uint64_t pushed = 0, consumed = 0;
		for (unsigned round = 0; round < rounds; round++) {
			uint32_t batch = 1 + round % (size - 1);
			for (uint32_t i = 0; i < batch; i++)
				push(&pr, pushed++);
			kick(&pr);
			if (vq_fetcher_pending(&pr.dev) != batch)
				ck_abort_msg("size %u round %u: %u pending, want %u", size, round,
				             vq_fetcher_pending(&pr.dev), batch);
			/* Odd rounds leave one entry for after the driver's sync. */
			while (vq_fetcher_pending(&pr.dev) > (round % 2))
				consume(&pr, consumed++);
			sync_tail(&pr);
			while (vq_fetcher_pending(&pr.dev) > 0)
				consume(&pr, consumed++);
			sync_tail(&pr);
		}
		ck_assert_uint_eq(pushed, consumed);
		ck_assert_uint_gt(pushed, 2 * size);
		ck_assert_uint_eq(pr.drv.head, pushed % size);
		ck_assert_uint_eq(pr.dev.tail, consumed % size);
	}
}
END_TEST

START_TEST(test_pending_across_wrap)
{
	struct pair pr;
	pair_init(&pr, RING_GPA, 8);
	/* Move both indices to 6, then push 5: head wraps to 3 while tail is 6. */
	for (uint64_t s = 0; s < 6; s++) {
		struct virt_queue_entry x = entry(s);
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_OK);
	}
	kick(&pr);
	for (uint64_t s = 0; s < 6; s++)
		consume(&pr, s);
	sync_tail(&pr);
	for (uint64_t s = 6; s < 11; s++) {
		struct virt_queue_entry x = entry(s);
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &x), VQ_OK);
	}
	ck_assert_uint_eq(pr.drv.head, 3);
	ck_assert_uint_eq(pr.drv.tail, 6);
	ck_assert_uint_eq(vq_fetcher_pending(&pr.drv), 5);
	ck_assert_uint_eq(vq_fetcher_space(&pr.drv), 2);
	kick(&pr);
	ck_assert_uint_eq(vq_fetcher_pending(&pr.dev), 5);
	for (uint64_t s = 6; s < 11; s++) {
		consume(&pr, s);
		ck_assert_uint_eq(vq_fetcher_pending(&pr.dev), 10 - s);
	}
	ck_assert_uint_eq(pr.dev.tail, 3);
}
END_TEST

START_TEST(test_bad_indices)
{
	struct pair pr;
	struct virt_queue_entry e = entry(1);
	pair_init(&pr, RING_GPA, 8);
	/* Device: a doorbell at or past size. */
	ck_assert_int_eq(vq_fetcher_set_head(&pr.dev, 8), VQ_ERR_BAD_INDEX);
	ck_assert_int_eq(vq_fetcher_set_head(&pr.dev, UINT32_MAX), VQ_ERR_BAD_INDEX);
	ck_assert_uint_eq(pr.dev.head, 0);
	/* Entry access by index. */
	ck_assert_int_eq(virt_queue_read(&pr.dev.q, 8, &e), VQ_ERR_BAD_INDEX);
	ck_assert_int_eq(virt_queue_write(&pr.drv.q, 8, &e), VQ_ERR_BAD_INDEX);
	ck_assert_int_eq(virt_queue_read(&pr.dev.q, 7, &e), VQ_OK);
	/* Driver: a tail past size, or past what was kicked. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(vq_fetcher_push(&pr.drv, &e), VQ_OK);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 2), VQ_ERR_BAD_INDEX);
	ck_assert_uint_eq(vq_fetcher_kick(&pr.drv), 4);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 8), VQ_ERR_BAD_INDEX);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 5), VQ_ERR_BAD_INDEX);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 7), VQ_ERR_BAD_INDEX);
	ck_assert_uint_eq(pr.drv.tail, 0);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 2), VQ_OK);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 2), VQ_OK);
	/* Backwards is "almost a whole lap forwards", so it is rejected too. */
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 1), VQ_ERR_BAD_INDEX);
	ck_assert_int_eq(vq_fetcher_update_tail(&pr.drv, 4), VQ_OK);
	ck_assert_uint_eq(vq_fetcher_pending(&pr.drv), 0);
}
END_TEST

static bool refuse_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx, (void)addr, (void)buf, (void)len;
	return false;
}

static bool refuse_write(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	(void)ctx, (void)addr, (void)buf, (void)len;
	return false;
}

START_TEST(test_access_failure)
{
	static const struct virt_queue_mem_ops refuse = { refuse_read, refuse_write, NULL };
	struct virt_queue q;
	struct virt_queue_fetcher f;
	struct virt_queue_entry e = entry(0);
	ck_assert_int_eq(virt_queue_init(&q, &refuse, NULL, 0x1000, 4), VQ_OK);
	vq_fetcher_init(&f, &q);
	/* A failed push leaves head where it was. */
	ck_assert_int_eq(vq_fetcher_push(&f, &e), VQ_ERR_ACCESS);
	ck_assert_uint_eq(f.head, 0);
	ck_assert_int_eq(vq_fetcher_set_head(&f, 2), VQ_OK);
	ck_assert_int_eq(vq_fetcher_pop(&f, &e), VQ_ERR_ACCESS);
	ck_assert_uint_eq(f.tail, 0);
}
END_TEST

START_TEST(test_guest_range_check_is_constant_time)
{
	/* The whole of RAM past the hole is checked without reading guest memory. */
	struct probe *p = fake_probe();
	unsigned long calls = fake_probe_calls();
	ck_assert(vq_guest_range_ok(p, FAKE_HOLE_END, FAKE_RAM_MAX - FAKE_HOLE_END));
	ck_assert_uint_eq(fake_probe_calls(), calls);
}
END_TEST

START_TEST(test_pop_stops_when_the_vm_stops)
{
	struct virt_queue q;
	struct virt_queue_fetcher f;
	struct virt_queue_entry e = entry(0);
	ck_assert_int_eq(virt_queue_from_guest(&q, fake_probe(), 0x1000, 4), VQ_OK);
	vq_fetcher_init(&f, &q);
	ck_assert_int_eq(vq_fetcher_set_head(&f, 2), VQ_OK);
	fake_set_vm_stopping(true);
	ck_assert_int_eq(vq_fetcher_pop(&f, &e), VQ_ERR_STOPPED);
	fake_set_vm_stopping(false);
	ck_assert_uint_eq(f.tail, 0);
	ck_assert_int_eq(vq_fetcher_pop(&f, &e), VQ_OK);
}
END_TEST

static Suite *virt_queue_suite(void)
{
	Suite *s = suite_create("virt_queue");
	TCase *tc = tcase_create("ring");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_init_rejects);
	tcase_add_test(tc, test_guest_ring_must_be_ram);
	tcase_add_test(tc, test_guest_range_ok);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_push_pop);
	tcase_add_test(tc, test_full_at_size_minus_one);
	tcase_add_test(tc, test_wrap_many_rounds);
	tcase_add_test(tc, test_pending_across_wrap);
	tcase_add_test(tc, test_bad_indices);
	tcase_add_test(tc, test_access_failure);
	tcase_add_test(tc, test_guest_range_check_is_constant_time);
	tcase_add_test(tc, test_pop_stops_when_the_vm_stops);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virt_queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
