/* Host tests for the MMIO region set (project3/vmexit/mmio_regions.c).
 *
 * Each test starts from a set holding [0x1000,0x2000) and [0x3000,0x4000) and
 * checks a refused registration leaves the set exactly as it was, since the
 * controller promises that an overlapping device is an error, not damage.
 * Every edge is exercised: half-open regions that only touch do not overlap. */
#include <check.h>
#include <stdlib.h>
#include "project3/vmexit/mmio.h"

static struct mmio_ctl ctl;
static struct mmio_handler base_a, base_b, extra[MMIO_CTL_MAX_REGIONS + 2];

static struct mmio_handler *region(struct mmio_handler *h, gpa_t start, gpa_t end)
{
	h->region.start = start;
	h->region.end = end;
	h->handle = NULL;
	h->priv = NULL;
	return h;
}

static void setup(void)
{
	mmio_ctl_init(&ctl);
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&base_a, 0x1000, 0x2000)), MMIO_CTL_OK);
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&base_b, 0x3000, 0x4000)), MMIO_CTL_OK);
}

/* The set still holds exactly the two base regions, in order. */
static void assert_unchanged(void)
{
	ck_assert_uint_eq(ctl.count, 2);
	ck_assert_ptr_eq(ctl.handlers[0], &base_a);
	ck_assert_ptr_eq(ctl.handlers[1], &base_b);
}

static void assert_refused(gpa_t start, gpa_t end, enum mmio_ctl_error want)
{
	struct mmio_handler h;
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&h, start, end)), want);
	assert_unchanged();
}

START_TEST(init_is_empty)
{
	struct mmio_ctl c;
	c.count = 7;
	mmio_ctl_init(&c);
	ck_assert_uint_eq(c.count, 0);
	ck_assert_ptr_null(mmio_ctl_lookup(&c, 0));
	ck_assert_ptr_null(mmio_ctl_lookup(&c, ~0ull));
}
END_TEST

START_TEST(empty_regions_refused)
{
	assert_refused(0x5000, 0x5000, MMIO_CTL_EMPTY);
	assert_refused(0x6000, 0x5000, MMIO_CTL_EMPTY);
	assert_refused(0, 0, MMIO_CTL_EMPTY);
}
END_TEST

START_TEST(overlap_each_edge)
{
	/* Across the start of a. */
	assert_refused(0x0800, 0x1001, MMIO_CTL_OVERLAP);
	/* Across the end of a. */
	assert_refused(0x1fff, 0x2800, MMIO_CTL_OVERLAP);
	/* Contained in a, including a itself and one-byte regions at its ends. */
	assert_refused(0x1400, 0x1800, MMIO_CTL_OVERLAP);
	assert_refused(0x1000, 0x2000, MMIO_CTL_OVERLAP);
	assert_refused(0x1000, 0x1001, MMIO_CTL_OVERLAP);
	assert_refused(0x1fff, 0x2000, MMIO_CTL_OVERLAP);
	/* Containing a; containing both. */
	assert_refused(0x0800, 0x2800, MMIO_CTL_OVERLAP);
	assert_refused(0x0000, 0x5000, MMIO_CTL_OVERLAP);
	/* Bridging the gap into both neighbours, or into one. */
	assert_refused(0x1fff, 0x3001, MMIO_CTL_OVERLAP);
	assert_refused(0x2000, 0x3001, MMIO_CTL_OVERLAP);
	assert_refused(0x1fff, 0x3000, MMIO_CTL_OVERLAP);
	/* Across the end of b, up to the top of the address space. */
	assert_refused(0x3fff, ~0ull, MMIO_CTL_OVERLAP);
}
END_TEST

START_TEST(touching_is_not_overlap)
{
	struct mmio_handler below, gap, above;
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&gap, 0x2000, 0x3000)), MMIO_CTL_OK);
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&below, 0x0000, 0x1000)), MMIO_CTL_OK);
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&above, 0x4000, ~0ull)), MMIO_CTL_OK);
	ck_assert_uint_eq(ctl.count, 5);
	/* Sorted by start whatever the registration order. */
	ck_assert_ptr_eq(ctl.handlers[0], &below);
	ck_assert_ptr_eq(ctl.handlers[1], &base_a);
	ck_assert_ptr_eq(ctl.handlers[2], &gap);
	ck_assert_ptr_eq(ctl.handlers[3], &base_b);
	ck_assert_ptr_eq(ctl.handlers[4], &above);
	/* Every address below ~0 now belongs to exactly the region that holds it. */
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0), &below);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0xfff), &below);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x1000), &base_a);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x2000), &gap);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x2fff), &gap);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x3000), &base_b);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x4000), &above);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, ~0ull - 1), &above);
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, ~0ull));
}
END_TEST

START_TEST(lookup_edges)
{
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0));
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0xfff));
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x1000), &base_a);      /* start */
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x1abc), &base_a);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x1fff), &base_a);      /* end - 1 */
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0x2000));             /* end */
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0x2800));             /* between */
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0x2fff));
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x3000), &base_b);
	ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, 0x3fff), &base_b);
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0x4000));
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, ~0ull));
}
END_TEST

START_TEST(full_set_refused)
{
	/* Fill the remaining slots with one-page regions above b, in reverse
	 * order so every insertion shifts the tail. */
	unsigned room = MMIO_CTL_MAX_REGIONS - 2;
	for (unsigned i = 0; i < room; i++) {
		gpa_t start = 0x10000 + (gpa_t)(room - 1 - i) * 0x1000;
		ck_assert_int_eq(mmio_ctl_register(&ctl, region(&extra[i], start, start + 0x1000)),
		                 MMIO_CTL_OK);
	}
	ck_assert_uint_eq(ctl.count, MMIO_CTL_MAX_REGIONS);
	for (unsigned i = 1; i < ctl.count; i++)
		ck_assert_uint_lt(ctl.handlers[i - 1]->region.start, ctl.handlers[i]->region.start);

	struct mmio_handler h;
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&h, 0x8000, 0x9000)), MMIO_CTL_FULL);
	ck_assert_uint_eq(ctl.count, MMIO_CTL_MAX_REGIONS);
	/* Validity is judged before capacity: the more precise error wins. */
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&h, 0x1800, 0x1900)), MMIO_CTL_OVERLAP);
	ck_assert_int_eq(mmio_ctl_register(&ctl, region(&h, 0x9000, 0x9000)), MMIO_CTL_EMPTY);
	ck_assert_ptr_null(mmio_ctl_lookup(&ctl, 0x8000));
	for (unsigned i = 0; i < room; i++)
		ck_assert_ptr_eq(mmio_ctl_lookup(&ctl, extra[i].region.start + 0x800), &extra[i]);
}
END_TEST

/* Cross-checks lookup against a linear scan over many random sets. */
START_TEST(lookup_matches_linear_scan)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	static struct mmio_handler pool[64];
	for (unsigned round = 0; round < 200; round++) {
		struct mmio_ctl c;
		mmio_ctl_init(&c);
		for (unsigned k = 0; k < 64; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			gpa_t start = (seed >> 40) & 0xff0;
			gpa_t len = 1 + ((seed >> 20) & 0x3f);
			struct mmio_handler *h = region(&pool[k], start, start + len);
			bool clash = false;
			for (unsigned j = 0; j < c.count; j++)
				if (c.handlers[j]->region.start < h->region.end &&
				    h->region.start < c.handlers[j]->region.end)
					clash = true;
			enum mmio_ctl_error want = clash ? MMIO_CTL_OVERLAP :
			        c.count == MMIO_CTL_MAX_REGIONS ? MMIO_CTL_FULL : MMIO_CTL_OK;
			ck_assert_int_eq(mmio_ctl_register(&c, h), want);
		}
		for (gpa_t a = 0; a < 0x1100; a++) {
			struct mmio_handler *want = NULL;
			for (unsigned j = 0; j < c.count; j++)
				if (c.handlers[j]->region.start <= a && a < c.handlers[j]->region.end)
					want = c.handlers[j];
			ck_assert_ptr_eq(mmio_ctl_lookup(&c, a), want);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mmio_regions");
	TCase *tc = tcase_create("regions");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, init_is_empty);
	tcase_add_test(tc, empty_regions_refused);
	tcase_add_test(tc, overlap_each_edge);
	tcase_add_test(tc, touching_is_not_overlap);
	tcase_add_test(tc, lookup_edges);
	tcase_add_test(tc, full_set_refused);
	tcase_add_test(tc, lookup_matches_linear_scan);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
