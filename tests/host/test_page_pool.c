/* Host tests of the bitmap page pool (keos/mm/page_pool.c) on ordinary memory.
 *
 * Covered: the layout page_pool_init builds (bitmap in the first pages, the
 * rest allocatable, how many bitmap pages a size needs, refusal of ranges too
 * small to hold a page besides the bitmap); single pages and runs that are
 * distinct, page-aligned, inside the pool, contiguous and non-overlapping;
 * exhaustion and fragmentation returning NULL; each misuse page_pool_free
 * reports (NOT_OWNED, MISALIGNED, DOUBLE_FREE) leaving the pool byte for byte
 * unchanged; nfree accounting; reuse of freed pages after the next-fit hint
 * wraps; and a long randomized run checked after every step against a plain
 * array that records which page belongs to which allocation. Pool memory
 * comes from the heap, so AddressSanitizer catches any access outside it. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "keos/mm/page_pool.h"

#define PG 4096u

/* ck_assert reports every passing check to the parent process (a write per
 * check); loops that check thousands of times use this, silent until it fails. */
#define EXPECT(cond, ...)                              \
	do {                                           \
		if (!(cond))                           \
			ck_abort_msg(__VA_ARGS__);     \
	} while (0)

static void *region(size_t pages)
{
	void *m = aligned_alloc(PG, pages * PG);
	ck_assert_ptr_nonnull(m);
	memset(m, 0xa5, pages * PG);   /* init must clear the bitmap itself */
	return m;
}

/* A pool over pages aligned pages: one bitmap page, pages - 1 allocatable. */
static struct page_pool pool_of(void *mem, size_t pages)
{
	struct page_pool p;
	ck_assert(page_pool_init(&p, mem, pages * PG));
	ck_assert_uint_eq(p.npages, pages - 1);
	return p;
}

static size_t index_of(const struct page_pool *p, const void *page)
{
	return ((uintptr_t)page - p->base) / PG;
}

static bool bit(const struct page_pool *p, size_t i)
{
	return p->bitmap[i / 64] >> (i % 64) & 1;
}

/* A copy of the pool's state, to prove a refused operation changed nothing. */
struct snapshot {
	struct page_pool pool;
	uint64_t bits[64];
};

static struct snapshot snap(const struct page_pool *p)
{
	struct snapshot s;
	memset(&s, 0, sizeof(s));
	s.pool = *p;
	size_t words = (p->npages + 63) / 64;
	EXPECT(words <= 64, "pool too big for a snapshot");
	memcpy(s.bits, p->bitmap, words * 8);
	return s;
}

static void assert_same(const struct page_pool *p, const struct snapshot *s)
{
	EXPECT(p->base == s->pool.base && p->npages == s->pool.npages && p->bitmap == s->pool.bitmap,
	       "the pool moved");
	EXPECT(p->nfree == s->pool.nfree, "nfree changed from %zu to %zu", s->pool.nfree, p->nfree);
	EXPECT(p->hint == s->pool.hint, "hint changed from %zu to %zu", s->pool.hint, p->hint);
	EXPECT(memcmp(p->bitmap, s->bits, (p->npages + 63) / 64 * 8) == 0, "the bitmap changed");
}

START_TEST(init_layout)
{
	unsigned char *m = region(16);
	struct page_pool p = pool_of(m, 16);
	ck_assert_ptr_eq(p.bitmap, m);
	ck_assert_uint_eq(p.base, (uintptr_t)m + PG);
	ck_assert_uint_eq(p.nfree, 15);
	for (size_t i = 0; i < p.npages; i++)
		ck_assert(!bit(&p, i));
	free(m);
}
END_TEST

START_TEST(init_rounds_an_unaligned_range_inwards)
{
	unsigned char *m = region(18);
	struct page_pool p;
	/* [m+100, m+100+16 pages): whole pages m+1 .. m+16, i.e. 15 pages */
	ck_assert(page_pool_init(&p, m + 100, 16 * PG));
	ck_assert_ptr_eq(p.bitmap, m + PG);
	ck_assert_uint_eq(p.base, (uintptr_t)m + 2 * PG);
	ck_assert_uint_eq(p.npages, 14);
	/* the same start, ending just short of a page boundary */
	ck_assert(page_pool_init(&p, m + 100, 16 * PG - 101));
	ck_assert_uint_eq(p.npages, 13);
	ck_assert_uint_eq(p.base + p.npages * PG, (uintptr_t)m + 15 * PG);
	free(m);
}
END_TEST

START_TEST(init_refuses_tiny_ranges)
{
	unsigned char *m = region(4);
	struct page_pool p;
	ck_assert(!page_pool_init(&p, m, 0));
	ck_assert(!page_pool_init(&p, m, PG - 1));
	ck_assert(!page_pool_init(&p, m, PG));            /* only room for the bitmap */
	ck_assert(!page_pool_init(&p, m + 1, 2 * PG));    /* one whole page inside */
	ck_assert(!page_pool_init(&p, m + 1, 10));        /* no page boundary inside */
	ck_assert(!page_pool_init(&p, m + 1, PG + 10));
	ck_assert(page_pool_init(&p, m, 2 * PG));         /* bitmap + one page */
	ck_assert_uint_eq(p.npages, 1);
	ck_assert_ptr_eq(page_pool_alloc(&p, 1), m + PG);
	ck_assert_ptr_null(page_pool_alloc(&p, 1));
	free(m);
}
END_TEST

/* Bitmap pages needed by a range of total pages: one bitmap page covers 32768 pages. */
static void check_big_pool(size_t total)
{
	size_t bytes = total * PG;
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(m != MAP_FAILED);
	memset(m, 0xff, (total < 3 ? total : 3) * PG);   /* stale bits to clear */
	struct page_pool p;
	ck_assert(page_pool_init(&p, m, bytes));
	size_t bitmap_pages = (p.base - (uintptr_t)m) / PG;
	ck_assert_uint_eq(bitmap_pages + p.npages, total);
	ck_assert_uint_ge(bitmap_pages * PG * 8, p.npages);         /* enough bits */
	ck_assert_uint_lt((bitmap_pages - 1) * PG * 8, p.npages + 1); /* and no page wasted */
	/* every page can be handed out once, the last one included */
	for (size_t i = 0; i < p.npages; i++) {
		void *pg = page_pool_alloc(&p, 1);
		EXPECT(pg == (void *)(p.base + i * PG), "total %zu: page %zu at %p", total, i, pg);
	}
	ck_assert_ptr_null(page_pool_alloc(&p, 1));
	ck_assert_uint_eq(p.nfree, 0);
	ck_assert_int_eq(page_pool_free(&p, (void *)(p.base + (p.npages - 1) * PG), 1), PAGE_POOL_FREED);
	ck_assert_ptr_eq(page_pool_alloc(&p, 1), (void *)(p.base + (p.npages - 1) * PG));
	munmap(m, bytes);
}

START_TEST(bitmap_size_at_its_boundaries)
{
	check_big_pool(2);
	check_big_pool(65);
	check_big_pool(32768);
	check_big_pool(32769);   /* one bitmap page for 32768 pages */
	check_big_pool(32770);   /* now two */
	check_big_pool(65538);
	check_big_pool(65539);   /* three */
}
END_TEST

START_TEST(single_pages_until_exhausted)
{
	enum { PAGES = 40 };
	unsigned char *m = region(PAGES);
	struct page_pool p = pool_of(m, PAGES);
	unsigned char *got[PAGES];
	for (size_t i = 0; i < p.npages; i++) {
		got[i] = page_pool_alloc(&p, 1);
		ck_assert_ptr_nonnull(got[i]);
		ck_assert_uint_eq((uintptr_t)got[i] % PG, 0);
		ck_assert(page_pool_owns(&p, got[i]));
		ck_assert_uint_eq(p.nfree, p.npages - i - 1);
		ck_assert(bit(&p, index_of(&p, got[i])));
		memset(got[i], (int)i, PG);
		for (size_t j = 0; j < i; j++)
			ck_assert_ptr_ne(got[i], got[j]);
	}
	ck_assert_ptr_null(page_pool_alloc(&p, 1));
	ck_assert_uint_eq(p.nfree, 0);
	for (size_t i = 0; i < p.npages; i++)
		for (size_t b = 0; b < PG; b += 512)
			ck_assert_int_eq(got[i][b], (unsigned char)i);
	for (size_t i = 0; i < p.npages; i++)
		ck_assert_int_eq(page_pool_free(&p, got[i], 1), PAGE_POOL_FREED);
	ck_assert_uint_eq(p.nfree, p.npages);
	free(m);
}
END_TEST

START_TEST(zero_oversized_and_whole_pool_runs)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	struct snapshot s = snap(&p);
	ck_assert_ptr_null(page_pool_alloc(&p, 0));
	ck_assert_ptr_null(page_pool_alloc(&p, 9));
	ck_assert_ptr_null(page_pool_alloc(&p, SIZE_MAX));
	assert_same(&p, &s);
	ck_assert_ptr_eq(page_pool_alloc(&p, 8), m + PG);
	ck_assert_uint_eq(p.nfree, 0);
	ck_assert_ptr_null(page_pool_alloc(&p, 1));
	ck_assert_int_eq(page_pool_free(&p, m + PG, 8), PAGE_POOL_FREED);
	ck_assert_uint_eq(p.nfree, 8);
	ck_assert_ptr_eq(page_pool_alloc(&p, 8), m + PG);
	free(m);
}
END_TEST

START_TEST(runs_are_contiguous_and_disjoint)
{
	enum { PAGES = 64 };
	unsigned char *m = region(PAGES);
	struct page_pool p = pool_of(m, PAGES);
	unsigned char *run[10];
	size_t total = 0;
	for (size_t n = 1; n <= 10; n++) {
		run[n - 1] = page_pool_alloc(&p, n);
		ck_assert_ptr_nonnull(run[n - 1]);
		total += n;
		ck_assert_uint_eq(p.nfree, p.npages - total);
		ck_assert(page_pool_owns(&p, run[n - 1]));
		ck_assert(page_pool_owns(&p, run[n - 1] + n * PG - 1));
		for (size_t i = 0; i < n; i++)
			ck_assert(bit(&p, index_of(&p, run[n - 1]) + i));
		memset(run[n - 1], (int)n, n * PG);
	}
	for (size_t a = 0; a < 10; a++)
		for (size_t b = 0; b < 10; b++)
			if (a != b)
				ck_assert(run[a] + (a + 1) * PG <= run[b] || run[b] + (b + 1) * PG <= run[a]);
	for (size_t n = 1; n <= 10; n++)
		for (size_t off = 0; off < n * PG; off += 1000)
			ck_assert_int_eq(run[n - 1][off], (unsigned char)n);
	for (size_t n = 1; n <= 10; n++)
		ck_assert_int_eq(page_pool_free(&p, run[n - 1], n), PAGE_POOL_FREED);
	ck_assert_uint_eq(p.nfree, p.npages);
	free(m);
}
END_TEST

START_TEST(fragmented_pool_refuses_runs)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	void *pg[8];
	for (int i = 0; i < 8; i++)
		pg[i] = page_pool_alloc(&p, 1);
	for (int i = 0; i < 8; i += 2)
		ck_assert_int_eq(page_pool_free(&p, pg[i], 1), PAGE_POOL_FREED);
	ck_assert_uint_eq(p.nfree, 4);
	struct snapshot s = snap(&p);
	ck_assert_ptr_null(page_pool_alloc(&p, 2));   /* 4 free pages, no 2 adjacent */
	assert_same(&p, &s);
	for (int i = 0; i < 4; i++) {
		void *q = page_pool_alloc(&p, 1);
		ck_assert(q == pg[0] || q == pg[2] || q == pg[4] || q == pg[6]);
	}
	ck_assert_ptr_null(page_pool_alloc(&p, 1));
	free(m);
}
END_TEST

START_TEST(free_reports_foreign_addresses)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	unsigned char *a = page_pool_alloc(&p, 2);
	unsigned char *last = m + 8 * PG;
	ck_assert_ptr_eq(page_pool_alloc(&p, 6), m + 3 * PG);   /* now the pool is full */
	struct snapshot s = snap(&p);
	ck_assert_int_eq(page_pool_free(&p, m, 1), PAGE_POOL_NOT_OWNED);          /* the bitmap page */
	ck_assert_int_eq(page_pool_free(&p, m + 9 * PG, 1), PAGE_POOL_NOT_OWNED); /* just past the end */
	ck_assert_int_eq(page_pool_free(&p, m - PG, 1), PAGE_POOL_NOT_OWNED);
	ck_assert_int_eq(page_pool_free(&p, NULL, 1), PAGE_POOL_NOT_OWNED);
	ck_assert_int_eq(page_pool_free(&p, (void *)UINTPTR_MAX, 1), PAGE_POOL_NOT_OWNED);
	ck_assert_int_eq(page_pool_free(&p, last, 2), PAGE_POOL_NOT_OWNED);       /* run runs off the end */
	ck_assert_int_eq(page_pool_free(&p, a, 9), PAGE_POOL_NOT_OWNED);
	ck_assert_int_eq(page_pool_free(&p, a, SIZE_MAX), PAGE_POOL_NOT_OWNED);
	ck_assert_int_eq(page_pool_free(&p, a, SIZE_MAX / PG + 1), PAGE_POOL_NOT_OWNED);
	ck_assert_int_eq(page_pool_free(&p, last, SIZE_MAX), PAGE_POOL_NOT_OWNED);   /* the end wraps around */
	ck_assert_int_eq(page_pool_free(&p, a + PG, SIZE_MAX - 1), PAGE_POOL_NOT_OWNED);
	assert_same(&p, &s);
	ck_assert_int_eq(page_pool_free(&p, last, 1), PAGE_POOL_FREED);
	free(m);
}
END_TEST

START_TEST(free_reports_misaligned_addresses)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	unsigned char *a = page_pool_alloc(&p, 3);
	struct snapshot s = snap(&p);
	ck_assert_int_eq(page_pool_free(&p, a + 8, 1), PAGE_POOL_MISALIGNED);
	ck_assert_int_eq(page_pool_free(&p, a + PG - 1, 1), PAGE_POOL_MISALIGNED);
	ck_assert_int_eq(page_pool_free(&p, a + PG + 1, 2), PAGE_POOL_MISALIGNED);
	assert_same(&p, &s);
	ck_assert_int_eq(page_pool_free(&p, a, 3), PAGE_POOL_FREED);
	free(m);
}
END_TEST

START_TEST(free_reports_double_frees)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	unsigned char *a = page_pool_alloc(&p, 1);
	unsigned char *b = page_pool_alloc(&p, 3);
	struct snapshot s = snap(&p);
	ck_assert_int_eq(page_pool_free(&p, b + 3 * PG, 1), PAGE_POOL_DOUBLE_FREE);  /* never allocated */
	assert_same(&p, &s);
	ck_assert_int_eq(page_pool_free(&p, a, 1), PAGE_POOL_FREED);
	s = snap(&p);
	ck_assert_int_eq(page_pool_free(&p, a, 1), PAGE_POOL_DOUBLE_FREE);
	ck_assert_int_eq(page_pool_free(&p, a, 2), PAGE_POOL_DOUBLE_FREE);   /* a free, b in use */
	ck_assert_int_eq(page_pool_free(&p, b, 4), PAGE_POOL_DOUBLE_FREE);   /* b in use, next free */
	assert_same(&p, &s);                     /* b's pages were not freed half-way */
	ck_assert_int_eq(page_pool_free(&p, b + PG, 1), PAGE_POOL_FREED);    /* part of a run */
	ck_assert_int_eq(page_pool_free(&p, b, 3), PAGE_POOL_DOUBLE_FREE);
	ck_assert_int_eq(page_pool_free(&p, b, 1), PAGE_POOL_FREED);
	ck_assert_int_eq(page_pool_free(&p, b + 2 * PG, 1), PAGE_POOL_FREED);
	ck_assert_uint_eq(p.nfree, 8);
	free(m);
}
END_TEST

START_TEST(owns_is_exactly_the_allocatable_range)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	ck_assert(!page_pool_owns(&p, m));
	ck_assert(!page_pool_owns(&p, m + PG - 1));
	ck_assert(page_pool_owns(&p, m + PG));
	ck_assert(page_pool_owns(&p, m + PG + 123));
	ck_assert(page_pool_owns(&p, m + 9 * PG - 1));
	ck_assert(!page_pool_owns(&p, m + 9 * PG));
	ck_assert(!page_pool_owns(&p, NULL));
	ck_assert(!page_pool_owns(&p, (void *)UINTPTR_MAX));
	free(m);
}
END_TEST

START_TEST(freed_pages_are_reused_after_the_hint_wraps)
{
	unsigned char *m = region(9);
	struct page_pool p = pool_of(m, 9);
	void *pg[8];
	for (int i = 0; i < 8; i++)
		pg[i] = page_pool_alloc(&p, 1);
	/* the pool is full and the hint has wrapped to page 0: freed pages come back */
	ck_assert_int_eq(page_pool_free(&p, pg[5], 1), PAGE_POOL_FREED);
	ck_assert_ptr_eq(page_pool_alloc(&p, 1), pg[5]);
	ck_assert_int_eq(page_pool_free(&p, pg[1], 1), PAGE_POOL_FREED);
	ck_assert_int_eq(page_pool_free(&p, pg[7], 1), PAGE_POOL_FREED);
	void *x = page_pool_alloc(&p, 1), *y = page_pool_alloc(&p, 1);
	ck_assert((x == pg[1] && y == pg[7]) || (x == pg[7] && y == pg[1]));
	ck_assert_ptr_null(page_pool_alloc(&p, 1));
	/* with the hint near the end, the only 4-page run is at the start:
	 * free 0..3 and 7 (6 was just reused, so the hint is at 7) */
	ck_assert_int_eq(page_pool_free(&p, pg[6], 1), PAGE_POOL_FREED);
	ck_assert_ptr_eq(page_pool_alloc(&p, 1), pg[6]);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(page_pool_free(&p, pg[i], 1), PAGE_POOL_FREED);
	ck_assert_int_eq(page_pool_free(&p, pg[7], 1), PAGE_POOL_FREED);
	ck_assert_ptr_eq(page_pool_alloc(&p, 4), pg[0]);      /* not pg[7] running off the end */
	ck_assert_ptr_null(page_pool_alloc(&p, 2));
	ck_assert_ptr_eq(page_pool_alloc(&p, 1), pg[7]);
	ck_assert_uint_eq(p.nfree, 0);
	free(m);
}
END_TEST

/* --- the randomized model test ---------------------------------------------- */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum { MODEL_PAGES = 301 };     /* 300 allocatable: not a multiple of 64 */

struct model {
	int owner[MODEL_PAGES];     /* 0: free, else the id of the allocation */
	struct { size_t first, n; } allocs[MODEL_PAGES];
	int nallocs;
};

static bool model_has_run(const struct model *md, size_t npages, size_t n)
{
	for (size_t first = 0; first + n <= npages; first++) {
		size_t i = 0;
		while (i < n && md->owner[first + i] == 0)
			i++;
		if (i == n)
			return true;
	}
	return false;
}

static void model_check(const struct page_pool *p, const struct model *md, int step)
{
	size_t nfree = 0;
	for (size_t i = 0; i < p->npages; i++) {
		nfree += md->owner[i] == 0;
		EXPECT(bit(p, i) == (md->owner[i] != 0), "step %d: page %zu bit %d, model owner %d",
		       step, i, bit(p, i), md->owner[i]);
	}
	EXPECT(p->nfree == nfree, "step %d: nfree %zu, model %zu", step, p->nfree, nfree);
}

START_TEST(random_operations_match_a_model)
{
	unsigned char *m = region(MODEL_PAGES);
	struct page_pool p = pool_of(m, MODEL_PAGES);
	static struct model md;
	memset(&md, 0, sizeof(md));
	int next_id = 1, allocated = 0, refused = 0;
	for (int step = 0; step < 20000; step++) {
		unsigned op = rnd() % 16;
		if (op < 7) {                                   /* allocate */
			size_t n = rnd() % 4 ? 1 + rnd() % 4 : 1 + rnd() % 40;
			unsigned char *r = page_pool_alloc(&p, n);
			if (!r) {
				EXPECT(!model_has_run(&md, p.npages, n),
				       "step %d: no run of %zu though the model has one", step, n);
				refused++;
			} else {
				size_t first = index_of(&p, r);
				EXPECT((uintptr_t)r % PG == 0 && page_pool_owns(&p, r) && first + n <= p.npages,
				       "step %d: run of %zu at %p outside the pool", step, n, (void *)r);
				for (size_t i = first; i < first + n; i++) {
					EXPECT(md.owner[i] == 0, "step %d: page %zu handed out twice", step, i);
					md.owner[i] = next_id;
				}
				r[0] = (unsigned char)next_id;
				r[n * PG - 1] = (unsigned char)next_id;
				md.allocs[md.nallocs].first = first;
				md.allocs[md.nallocs].n = n;
				md.nallocs++;
				next_id++;
				allocated++;
			}
		} else if (op < 13 && md.nallocs) {             /* free a whole allocation */
			int k = (int)(rnd() % (uint64_t)md.nallocs);
			size_t first = md.allocs[k].first, n = md.allocs[k].n;
			unsigned char *r = (unsigned char *)p.base + first * PG;
			int id = md.owner[first];
			EXPECT(r[0] == (unsigned char)id && r[n * PG - 1] == (unsigned char)id,
			       "step %d: run %d was overwritten", step, id);
			enum page_pool_free_result res = page_pool_free(&p, r, n);
			EXPECT(res == PAGE_POOL_FREED, "step %d: free of run %d: %d", step, id, res);
			for (size_t i = first; i < first + n; i++)
				md.owner[i] = 0;
			md.allocs[k] = md.allocs[--md.nallocs];
		} else {                                        /* a bad free changes nothing */
			struct snapshot s = snap(&p);
			size_t i = rnd() % p.npages;
			unsigned char *r = (unsigned char *)p.base + i * PG;
			enum page_pool_free_result res = PAGE_POOL_DOUBLE_FREE, want = res;
			if (op == 13)
				res = page_pool_free(&p, r + 1 + rnd() % (PG - 1), 1), want = PAGE_POOL_MISALIGNED;
			else if (op == 14)
				res = page_pool_free(&p, r, p.npages - i + 1 + rnd() % 3), want = PAGE_POOL_NOT_OWNED;
			else if (md.owner[i] == 0)
				res = page_pool_free(&p, r, 1);
			EXPECT(res == want, "step %d: bad free of page %zu (op %u): %d, expected %d", step, i, op, res, want);
			assert_same(&p, &s);
		}
		model_check(&p, &md, step);
	}
	/* the run really went through full and nearly empty pools */
	ck_assert_int_gt(allocated, 3000);
	ck_assert_int_gt(refused, 100);
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("page_pool");
	TCase *tc = tcase_create("page_pool");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, init_layout);
	tcase_add_test(tc, init_rounds_an_unaligned_range_inwards);
	tcase_add_test(tc, init_refuses_tiny_ranges);
	tcase_add_test(tc, bitmap_size_at_its_boundaries);
	tcase_add_test(tc, single_pages_until_exhausted);
	tcase_add_test(tc, zero_oversized_and_whole_pool_runs);
	tcase_add_test(tc, runs_are_contiguous_and_disjoint);
	tcase_add_test(tc, fragmented_pool_refuses_runs);
	tcase_add_test(tc, free_reports_foreign_addresses);
	tcase_add_test(tc, free_reports_misaligned_addresses);
	tcase_add_test(tc, free_reports_double_frees);
	tcase_add_test(tc, owns_is_exactly_the_allocatable_range);
	tcase_add_test(tc, freed_pages_are_reused_after_the_hint_wraps);
	tcase_add_test(tc, random_operations_match_a_model);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
