/* Host tests for the nested page table (project3/ept.c).
 *
 * ept.c runs here unchanged over fake physical memory: a pool of page-aligned
 * pages whose "physical" addresses are FAKE_PA_BASE + offset, so a table that
 * mixed up physical and virtual addresses would point outside the pool and be
 * caught (ept_table_va aborts the test on a foreign address). The pool counts
 * its pages, so every test also checks that the tables are freed, and it can
 * be told to run out of memory after a number of allocations. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "project3/ept.h"
#include "keos/lib/printk.h"

#define POOL_PAGES   256
#define FAKE_PA_BASE 0x40000000ull
#define PTE_P  (1ull << 0)
#define PTE_W  (1ull << 1)
#define PTE_U  (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

static uint8_t *pool;
static bool used[POOL_PAGES];
static long outstanding;
static long allocs_left;          /* < 0: unlimited */

void *ept_table_alloc(void)
{
	if (allocs_left == 0)
		return NULL;
	for (int i = 0; i < POOL_PAGES; i++) {
		if (!used[i]) {
			used[i] = true;
			outstanding++;
			if (allocs_left > 0)
				allocs_left--;
			memset(pool + i * 4096, 0, 4096);
			return pool + i * 4096;
		}
	}
	return NULL;
}

static int page_index(const void *p)
{
	const uint8_t *b = p;
	ck_assert_msg(b >= pool && b < pool + POOL_PAGES * 4096 && (b - pool) % 4096 == 0,
	              "%p is not a pool page", p);
	return (int)((b - pool) / 4096);
}

void ept_table_free(void *table)
{
	int i = page_index(table);
	ck_assert_msg(used[i], "double free of pool page %d", i);
	used[i] = false;
	outstanding--;
}

hpa_t ept_table_pa(const void *table)
{
	return FAKE_PA_BASE + (hpa_t)page_index(table) * 4096;
}

void *ept_table_va(hpa_t pa)
{
	ck_assert_msg(pa >= FAKE_PA_BASE && pa < FAKE_PA_BASE + POOL_PAGES * 4096 && !(pa & 0xfff),
	              "0x%llx is not a table's physical address", (unsigned long long)pa);
	return pool + (pa - FAKE_PA_BASE);
}

/* The handout's stubs panic ("not yet implemented"): fail the test, not the run. */
void panic_at(const char *file, int line, const char *fmt, ...)
{
	(void)fmt;
	ck_abort_msg("panic at %s:%d", file, line);
	abort();
}

static struct ept ept;

static void setup(void)
{
	if (!pool)
		pool = aligned_alloc(4096, POOL_PAGES * 4096);
	memset(used, 0, sizeof(used));
	outstanding = 0;
	allocs_left = -1;
	ck_assert_int_eq(ept_init(&ept), EPT_OK);
	ck_assert_int_eq(outstanding, 1);
}

static void teardown(void)
{
	ept_destroy(&ept);
	ck_assert_ptr_null(ept.pml4);
	ck_assert_int_eq(outstanding, 0);
}

/* The raw entries on the way to gpa: e[3] in the PML4 ... e[0] the leaf. */
static void raw_path(gpa_t gpa, uint64_t e[4])
{
	uint64_t *table = ept.pml4;
	for (int level = 3; level >= 0; level--) {
		e[level] = table[(gpa >> (12 + 9 * level)) & 511];
		if (level)
			table = ept_table_va(e[level] & PTE_ADDR);
	}
}

START_TEST(map_then_walk)
{
	ck_assert_int_eq(ept_map(&ept, 0x1000, 0x7000000, EPT_PERM_RWX), EPT_OK);
	hpa_t hpa = 0;
	unsigned perm = 0;
	ck_assert_int_eq(ept_walk(&ept, 0x1abc, &hpa, &perm), EPT_OK);
	ck_assert_uint_eq(hpa, 0x7000abc);
	ck_assert_uint_eq(perm, EPT_PERM_RWX);
	ck_assert_int_eq(ept_walk(&ept, 0x1000, NULL, NULL), EPT_OK);
	ck_assert_int_eq(ept_walk(&ept, 0x2000, &hpa, &perm), EPT_ERR_NOT_EXIST);
	ck_assert_int_eq(ept_walk(&ept, 0x0fff, &hpa, &perm), EPT_ERR_NOT_EXIST);
	ck_assert_uint_eq(ept_root_pa(&ept), ept_table_pa(ept.pml4));
	ck_assert_int_eq(outstanding, 4);     /* PML4, PDPT, PD, PT */
}
END_TEST

START_TEST(each_permission_combination)
{
	static const unsigned perms[] = {
		EPT_PERM_READ, EPT_PERM_READ | EPT_PERM_WRITE, EPT_PERM_READ | EPT_PERM_EXEC,
		EPT_PERM_RWX,
	};
	for (unsigned i = 0; i < 4; i++) {
		gpa_t gpa = 0x100000 + i * 0x1000;
		ck_assert_int_eq(ept_map(&ept, gpa, 0x200000 + i * 0x1000, perms[i]), EPT_OK);
		unsigned perm = 0;
		ck_assert_int_eq(ept_walk(&ept, gpa + 8, NULL, &perm), EPT_OK);
		ck_assert_uint_eq(perm, perms[i]);
		/* The hardware format: U everywhere, NX iff not executable, W iff writable. */
		uint64_t e[4];
		raw_path(gpa, e);
		for (int level = 3; level >= 1; level--)
			ck_assert_uint_eq(e[level] & (PTE_P | PTE_W | PTE_U | PTE_NX | PTE_PS),
			                  PTE_P | PTE_W | PTE_U);
		ck_assert(e[0] & PTE_P);
		ck_assert(e[0] & PTE_U);
		ck_assert_int_eq(!!(e[0] & PTE_W), !!(perms[i] & EPT_PERM_WRITE));
		ck_assert_int_eq(!!(e[0] & PTE_NX), !(perms[i] & EPT_PERM_EXEC));
		ck_assert_uint_eq(e[0] & PTE_ADDR, 0x200000 + i * 0x1000);
	}
}
END_TEST

START_TEST(bad_permissions_refused)
{
	static const unsigned bad[] = {
		0, EPT_PERM_WRITE, EPT_PERM_EXEC, EPT_PERM_WRITE | EPT_PERM_EXEC,
		EPT_PERM_READ | 8, EPT_PERM_RWX | 0x100,
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ept_map(&ept, 0x1000, 0x2000, bad[i]), EPT_ERR_BAD_PERM);
	ck_assert_int_eq(outstanding, 1);     /* nothing was built */
	ck_assert_int_eq(ept_walk(&ept, 0x1000, NULL, NULL), EPT_ERR_NOT_EXIST);
}
END_TEST

START_TEST(duplicate_refused_and_unchanged)
{
	ck_assert_int_eq(ept_map(&ept, 0x5000, 0x9000, EPT_PERM_READ), EPT_OK);
	long pages = outstanding;
	ck_assert_int_eq(ept_map(&ept, 0x5000, 0xa000, EPT_PERM_RWX), EPT_ERR_DUPLICATED);
	hpa_t hpa;
	unsigned perm;
	ck_assert_int_eq(ept_walk(&ept, 0x5000, &hpa, &perm), EPT_OK);
	ck_assert_uint_eq(hpa, 0x9000);
	ck_assert_uint_eq(perm, EPT_PERM_READ);
	ck_assert_int_eq(outstanding, pages);
}
END_TEST

START_TEST(unaligned_refused)
{
	ck_assert_int_eq(ept_map(&ept, 0x1001, 0x2000, EPT_PERM_READ), EPT_ERR_UNALIGNED);
	ck_assert_int_eq(ept_map(&ept, 0x1000, 0x2800, EPT_PERM_READ), EPT_ERR_UNALIGNED);
	ck_assert_int_eq(ept_unmap(&ept, 0x1008, NULL), EPT_ERR_UNALIGNED);
	ck_assert_int_eq(outstanding, 1);
}
END_TEST

START_TEST(out_of_range_refused)
{
	ck_assert_int_eq(ept_map(&ept, 1ull << 48, 0x2000, EPT_PERM_READ), EPT_ERR_OUT_OF_RANGE);
	ck_assert_int_eq(ept_map(&ept, 0x1000, 1ull << 52, EPT_PERM_READ), EPT_ERR_OUT_OF_RANGE);
	ck_assert_int_eq(ept_walk(&ept, ~0ull, NULL, NULL), EPT_ERR_OUT_OF_RANGE);
	ck_assert_int_eq(ept_unmap(&ept, 1ull << 48, NULL), EPT_ERR_OUT_OF_RANGE);
	/* The last page below the limit is fine. */
	ck_assert_int_eq(ept_map(&ept, (1ull << 48) - 4096, (1ull << 52) - 4096, EPT_PERM_READ), EPT_OK);
	hpa_t hpa;
	ck_assert_int_eq(ept_walk(&ept, (1ull << 48) - 1, &hpa, NULL), EPT_OK);
	ck_assert_uint_eq(hpa, (1ull << 52) - 1);
}
END_TEST

START_TEST(unmap_missing_and_present)
{
	ck_assert_int_eq(ept_unmap(&ept, 0x3000, NULL), EPT_ERR_NOT_EXIST);
	ck_assert_int_eq(ept_map(&ept, 0x3000, 0x8000, EPT_PERM_RWX), EPT_OK);
	ck_assert_int_eq(ept_unmap(&ept, 0x4000, NULL), EPT_ERR_NOT_EXIST);  /* same table, empty slot */
	hpa_t hpa = 0;
	ck_assert_int_eq(ept_unmap(&ept, 0x3000, &hpa), EPT_OK);
	ck_assert_uint_eq(hpa, 0x8000);
	ck_assert_int_eq(ept_walk(&ept, 0x3000, NULL, NULL), EPT_ERR_NOT_EXIST);
	ck_assert_int_eq(ept_unmap(&ept, 0x3000, NULL), EPT_ERR_NOT_EXIST);
	ck_assert_int_eq(outstanding, 1);     /* the emptied tables were freed */
	ck_assert_uint_eq(ept.pml4[0], 0);
	/* And the gpa can be mapped again. */
	ck_assert_int_eq(ept_map(&ept, 0x3000, 0x9000, EPT_PERM_READ), EPT_OK);
}
END_TEST

START_TEST(unmap_keeps_shared_tables)
{
	ck_assert_int_eq(ept_map(&ept, 0x1000, 0x11000, EPT_PERM_RWX), EPT_OK);
	ck_assert_int_eq(ept_map(&ept, 0x2000, 0x12000, EPT_PERM_RWX), EPT_OK);
	ck_assert_int_eq(ept_map(&ept, 0x40000000, 0x13000, EPT_PERM_RWX), EPT_OK);  /* another PDPT slot */
	ck_assert_int_eq(outstanding, 6);
	ck_assert_int_eq(ept_unmap(&ept, 0x1000, NULL), EPT_OK);
	ck_assert_int_eq(outstanding, 6);
	ck_assert_int_eq(ept_walk(&ept, 0x2000, NULL, NULL), EPT_OK);
	ck_assert_int_eq(ept_unmap(&ept, 0x2000, NULL), EPT_OK);
	ck_assert_int_eq(outstanding, 4);     /* that PT and PD went; the PDPT still serves 1 GiB */
	hpa_t hpa;
	ck_assert_int_eq(ept_walk(&ept, 0x40000010, &hpa, NULL), EPT_OK);
	ck_assert_uint_eq(hpa, 0x13010);
}
END_TEST

START_TEST(destroy_frees_every_table)
{
	/* Mappings in different PML4, PDPT, PD and PT slots. */
	static const gpa_t gpas[] = {
		0, 0x1000, 0x200000, 0x40000000, 0x8000000000ull, 0x7ffffffff000ull, 0x123456789000ull,
	};
	for (unsigned i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++)
		ck_assert_int_eq(ept_map(&ept, gpas[i], 0x100000 + i * 0x1000, EPT_PERM_READ), EPT_OK);
	for (unsigned i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		hpa_t hpa;
		ck_assert_int_eq(ept_walk(&ept, gpas[i], &hpa, NULL), EPT_OK);
		ck_assert_uint_eq(hpa, 0x100000 + i * 0x1000);
	}
	ck_assert_int_gt(outstanding, 10);
	/* teardown destroys the table and checks that no page is left */
}
END_TEST

START_TEST(out_of_memory)
{
	allocs_left = 2;                      /* PDPT and PD, but no PT */
	ck_assert_int_eq(ept_map(&ept, 0x1000, 0x2000, EPT_PERM_READ), EPT_ERR_NO_MEMORY);
	ck_assert_int_eq(ept_walk(&ept, 0x1000, NULL, NULL), EPT_ERR_NOT_EXIST);
	allocs_left = -1;
	ck_assert_int_eq(ept_map(&ept, 0x1000, 0x2000, EPT_PERM_READ), EPT_OK);
	ck_assert_int_eq(outstanding, 4);     /* the tables built before failing were reused */
}
END_TEST

START_TEST(init_out_of_memory)
{
	struct ept other;
	allocs_left = 0;
	ck_assert_int_eq(ept_init(&other), EPT_ERR_NO_MEMORY);
	allocs_left = -1;
}
END_TEST

START_TEST(large_page_entry_is_respected)
{
	/* Only a foreign writer makes a PS entry; ept.c must not follow it as a table. */
	ck_assert_int_eq(ept_map(&ept, 0x1000, 0x2000, EPT_PERM_READ), EPT_OK);
	uint64_t *pdpt = ept_table_va(ept.pml4[0] & PTE_ADDR);
	pdpt[1] = 0x40000000 | PTE_P | PTE_W | PTE_U | PTE_PS;   /* 1 GiB page at 1 GiB */
	ck_assert_int_eq(ept_walk(&ept, 0x40001000, NULL, NULL), EPT_ERR_NOT_EXIST);
	ck_assert_int_eq(ept_unmap(&ept, 0x40001000, NULL), EPT_ERR_NOT_EXIST);
	ck_assert_int_eq(ept_map(&ept, 0x40001000, 0x3000, EPT_PERM_READ), EPT_ERR_DUPLICATED);
	pdpt[1] = 0;
}
END_TEST

START_TEST(strerror_names_every_error)
{
	for (int e = EPT_OK; e <= EPT_ERR_OUT_OF_RANGE; e++)
		ck_assert_str_ne(ept_strerror(e), "unknown error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ept");
	TCase *tc = tcase_create("ept");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, map_then_walk);
	tcase_add_test(tc, each_permission_combination);
	tcase_add_test(tc, bad_permissions_refused);
	tcase_add_test(tc, duplicate_refused_and_unchanged);
	tcase_add_test(tc, unaligned_refused);
	tcase_add_test(tc, out_of_range_refused);
	tcase_add_test(tc, unmap_missing_and_present);
	tcase_add_test(tc, unmap_keeps_shared_tables);
	tcase_add_test(tc, destroy_frees_every_table);
	tcase_add_test(tc, out_of_memory);
	tcase_add_test(tc, init_out_of_memory);
	tcase_add_test(tc, large_page_entry_is_respected);
	tcase_add_test(tc, strerror_names_every_error);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
