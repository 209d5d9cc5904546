/* Host tests of the per-CPU timer list (keos/thread/hrtimer_list.c): the
 * order timers fire in, removal from any place, what "expired" means at the
 * boundary, and a randomized run checked against a plain array model. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include "keos/thread/hrtimer_list.h"

START_TEST(test_empty_list)
{
	struct hrtimer_list l = { 0 };
	ck_assert_uint_eq(hrtimer_list_next_deadline(&l), UINT64_MAX);
	ck_assert_ptr_null(hrtimer_list_pop_expired(&l, UINT64_MAX));
}
END_TEST

START_TEST(test_pops_in_deadline_order_ties_in_arming_order)
{
	struct hrtimer_list l = { 0 };
	struct hrtimer t[5] = { { .deadline = 30 }, { .deadline = 10 }, { .deadline = 20 },
	                        { .deadline = 10 }, { .deadline = 40 } };
	for (int i = 0; i < 5; i++)
		hrtimer_list_insert(&l, &t[i]);
	ck_assert_uint_eq(hrtimer_list_next_deadline(&l), 10);
	struct hrtimer *order[5] = { &t[1], &t[3], &t[2], &t[0], &t[4] };
	for (int i = 0; i < 5; i++) {
		struct hrtimer *p = hrtimer_list_pop_expired(&l, 100);
		ck_assert_ptr_eq(p, order[i]);
		ck_assert_ptr_null(p->list);
	}
	ck_assert_ptr_null(hrtimer_list_pop_expired(&l, 100));
}
END_TEST

START_TEST(test_expired_means_deadline_reached)
{
	struct hrtimer_list l = { 0 };
	struct hrtimer t = { .deadline = 50 };
	hrtimer_list_insert(&l, &t);
	ck_assert_ptr_null(hrtimer_list_pop_expired(&l, 49));
	ck_assert_ptr_eq(t.list, &l);
	ck_assert_ptr_eq(hrtimer_list_pop_expired(&l, 50), &t);
	ck_assert_uint_eq(hrtimer_list_next_deadline(&l), UINT64_MAX);
}
END_TEST

START_TEST(test_remove_head_middle_tail_and_absent)
{
	struct hrtimer_list l = { 0 }, other = { 0 };
	struct hrtimer t[3] = { { .deadline = 1 }, { .deadline = 2 }, { .deadline = 3 } };
	struct hrtimer stranger = { .deadline = 2 };
	for (int i = 0; i < 3; i++)
		hrtimer_list_insert(&l, &t[i]);
	hrtimer_list_insert(&other, &stranger);
	ck_assert(!hrtimer_list_remove(&l, &stranger));       /* on another list */
	ck_assert(hrtimer_list_remove(&l, &t[1]));
	ck_assert(!hrtimer_list_remove(&l, &t[1]));            /* already removed */
	ck_assert(hrtimer_list_remove(&l, &t[2]));
	ck_assert_uint_eq(hrtimer_list_next_deadline(&l), 1);
	ck_assert(hrtimer_list_remove(&l, &t[0]));
	ck_assert_ptr_null(l.head);
	ck_assert_ptr_eq(other.head, &stranger);
}
END_TEST

/* Random inserts, removals and pops against an array of armed deadlines. */
START_TEST(test_random_against_model)
{
	enum { N = 64 };
	struct hrtimer t[N] = { 0 };
	bool armed[N] = { false };
	struct hrtimer_list l = { 0 };
	srand(12345);
	uint64_t now = 0;
	for (int step = 0; step < 5000; step++) {
		int i = rand() % N;
		switch (rand() % 3) {
		case 0:
			if (!armed[i]) {
				t[i].deadline = now + (uint64_t)(rand() % 1000);
				hrtimer_list_insert(&l, &t[i]);
				armed[i] = true;
			}
			break;
		case 1:
			ck_assert_int_eq(hrtimer_list_remove(&l, &t[i]), armed[i]);
			armed[i] = false;
			break;
		default: {
			now += (uint64_t)(rand() % 200);
			struct hrtimer *p;
			uint64_t last = 0;
			while ((p = hrtimer_list_pop_expired(&l, now))) {
				int k = (int)(p - t);
				ck_assert(armed[k]);
				ck_assert_uint_le(p->deadline, now);
				ck_assert_uint_ge(p->deadline, last);
				last = p->deadline;
				armed[k] = false;
			}
			uint64_t earliest = UINT64_MAX;
			for (int k = 0; k < N; k++)
				if (armed[k] && t[k].deadline < earliest)
					earliest = t[k].deadline;
			ck_assert_uint_eq(hrtimer_list_next_deadline(&l), earliest);
			ck_assert_uint_gt(earliest, now);
		}
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hrtimer_list");
	TCase *tc = tcase_create("list");
	tcase_add_test(tc, test_empty_list);
	tcase_add_test(tc, test_pops_in_deadline_order_ties_in_arming_order);
	tcase_add_test(tc, test_expired_means_deadline_reached);
	tcase_add_test(tc, test_remove_head_middle_tail_and_absent);
	tcase_add_test(tc, test_random_against_model);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
