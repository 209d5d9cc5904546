/* Host tests of the kernel's page allocator (keos/mm/palloc.c) and heap
 * (keos/mm/kmalloc.c), built with the real page pool and the host shims for
 * spinlocks, printk and panic (tests/host/keos_host_shim.c).
 *
 * Every test runs in its own forked process whose fixture hands palloc one
 * fresh heap region (AddressSanitizer watches its edges). Covered:
 *   palloc: regions accepted, refused and summed; pages and runs distinct,
 *     aligned, contiguous and zero-filled (also after reuse); exhaustion and
 *     recovery; page_free_count accounting; and that double, misaligned and
 *     foreign frees panic with the right message, release the lock and leave
 *     the allocator unchanged.
 *   kmalloc: every size from 1 to well past a page, 16-byte alignment, blocks
 *     that never overlap (each filled with its own pattern), kzalloc zeroing
 *     reused memory, small blocks sharing slab pages, empty slabs and large
 *     blocks going back to palloc, kmalloc_live_count, exhaustion returning
 *     NULL and recovering, the panics for double, interior and foreign frees,
 *     a randomized alloc/free run checked against a list of live blocks, and
 *     the same run in four threads at once. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "tests/host/keos_host_shim.h"

/* ck_assert reports every passing check to the parent process (a write per
 * check); loops that check thousands of times use this, silent until it fails. */
#define EXPECT(cond, ...)                              \
	do {                                           \
		if (!(cond))                           \
			ck_abort_msg(__VA_ARGS__);     \
	} while (0)

enum { POOL_PAGES = 1024 };          /* 4 MiB, one page of it the pool's bitmap */

static unsigned char *region;
static size_t region_pages;          /* allocatable pages in the fixture's region */

static void setup(void)
{
	shim_reset();
	region = aligned_alloc(PAGE_SIZE, POOL_PAGES * PAGE_SIZE);
	ck_assert_ptr_nonnull(region);
	memset(region, 0xa5, POOL_PAGES * PAGE_SIZE);   /* stale data palloc must zero */
	ck_assert(palloc_add_region(region, POOL_PAGES * PAGE_SIZE));
	region_pages = POOL_PAGES - 1;
	ck_assert_uint_eq(page_free_count(), region_pages);
	ck_assert_uint_eq(kmalloc_live_count(), 0);
}

static void teardown(void)
{
	/* the region stays: the test process exits next */
	ck_assert_int_eq(shim_locks_held(), 0);
}

static bool all_bytes(const void *p, unsigned char v, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

static bool in_region(const void *p, size_t bytes)
{
	return (const unsigned char *)p >= region + PAGE_SIZE &&
	       (const unsigned char *)p + bytes <= region + POOL_PAGES * PAGE_SIZE;
}

/* A page-aligned page that palloc and kmalloc never handed out. */
static unsigned char foreign_page[PAGE_SIZE] __attribute__((aligned(4096)));

/* Expects stmt to panic with a message containing want, holding no lock. */
#define ASSERT_PANICS(stmt, want)                                                     \
	do {                                                                          \
		ck_assert_msg(SHIM_EXPECT_PANIC(stmt), "%s did not panic", #stmt);    \
		ck_assert_msg(strstr(shim_last_panic.msg, want), "%s: panic \"%s\", expected \"%s\"", \
		              #stmt, shim_last_panic.msg, want);                      \
		ck_assert_int_eq(shim_locks_held(), 0);                               \
	} while (0)

/* --- palloc ---------------------------------------------------------------------- */

START_TEST(palloc_pages_distinct_aligned_zeroed)
{
	enum { N = 100 };
	unsigned char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = page_alloc();
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % PAGE_SIZE, 0);
		ck_assert(in_region(p[i], PAGE_SIZE));
		ck_assert(all_bytes(p[i], 0, PAGE_SIZE));
		ck_assert_uint_eq(page_free_count(), region_pages - i - 1);
		memset(p[i], i + 1, PAGE_SIZE);
	}
	for (int i = 0; i < N; i++)
		ck_assert_msg(all_bytes(p[i], (unsigned char)(i + 1), PAGE_SIZE), "page %d was overwritten", i);
	for (int i = 0; i < N; i++) {
		page_free(p[i]);
		ck_assert_uint_eq(page_free_count(), region_pages - N + i + 1);
	}
	/* dirty pages come back zero-filled */
	for (int i = 0; i < N; i++) {
		p[i] = page_alloc();
		ck_assert(all_bytes(p[i], 0, PAGE_SIZE));
	}
	for (int i = 0; i < N; i++)
		page_free(p[i]);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(palloc_runs_contiguous_and_zeroed)
{
	unsigned char *a = page_alloc_run(3);
	unsigned char *b = page_alloc_run(16);
	unsigned char *c = page_alloc();
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	ck_assert(in_region(a, 3 * PAGE_SIZE) && in_region(b, 16 * PAGE_SIZE));
	ck_assert_uint_eq((uintptr_t)b % PAGE_SIZE, 0);
	ck_assert(all_bytes(a, 0, 3 * PAGE_SIZE));
	ck_assert(all_bytes(b, 0, 16 * PAGE_SIZE));
	ck_assert_uint_eq(page_free_count(), region_pages - 20);
	ck_assert(a + 3 * PAGE_SIZE <= b || b + 16 * PAGE_SIZE <= a);
	ck_assert(c + PAGE_SIZE <= b || b + 16 * PAGE_SIZE <= c);
	ck_assert(c + PAGE_SIZE <= a || a + 3 * PAGE_SIZE <= c);
	memset(a, 1, 3 * PAGE_SIZE);
	memset(b, 2, 16 * PAGE_SIZE);
	memset(c, 3, PAGE_SIZE);
	ck_assert(all_bytes(a, 1, 3 * PAGE_SIZE));
	ck_assert(all_bytes(b, 2, 16 * PAGE_SIZE));
	page_free_run(b, 16);
	ck_assert_uint_eq(page_free_count(), region_pages - 4);
	page_free_run(a, 3);
	page_free(c);
	ck_assert_uint_eq(page_free_count(), region_pages);
	unsigned char *d = page_alloc_run(region_pages);   /* the whole region, zeroed */
	ck_assert_ptr_nonnull(d);
	ck_assert(all_bytes(d, 0, region_pages * PAGE_SIZE));
	ck_assert_uint_eq(page_free_count(), 0);
	page_free_run(d, region_pages);
	ck_assert_ptr_null(page_alloc_run(0));
	ck_assert_ptr_null(page_alloc_run(region_pages + 1));
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

struct chain {
	struct chain *next;
	size_t pages;
};

START_TEST(palloc_exhaustion_and_recovery)
{
	struct chain *head = NULL;
	size_t got = 0;
	for (size_t run = 64; run >= 1; run /= 2) {
		struct chain *c;
		while ((c = page_alloc_run(run))) {
			c->next = head;
			c->pages = run;
			head = c;
			got += run;
		}
	}
	ck_assert_uint_eq(got, region_pages);
	ck_assert_uint_eq(page_free_count(), 0);
	ck_assert_ptr_null(page_alloc());
	ck_assert_ptr_null(page_alloc_run(2));
	while (head) {
		struct chain *next = head->next;
		page_free_run(head, head->pages);
		head = next;
	}
	ck_assert_uint_eq(page_free_count(), region_pages);
	void *p = page_alloc();
	ck_assert_ptr_nonnull(p);
	page_free(p);
}
END_TEST

START_TEST(palloc_more_regions_add_up)
{
	ck_assert(!palloc_add_region(foreign_page, PAGE_SIZE));     /* no room for a page */
	ck_assert(!palloc_add_region(NULL, 0));
	ck_assert_uint_eq(page_free_count(), region_pages);
	/* a second region: used once the first is full */
	unsigned char *more = aligned_alloc(PAGE_SIZE, 8 * PAGE_SIZE);
	ck_assert(palloc_add_region(more, 8 * PAGE_SIZE));
	ck_assert_uint_eq(page_free_count(), region_pages + 7);
	void *all = page_alloc_run(region_pages);
	ck_assert_ptr_eq(all, region + PAGE_SIZE);
	unsigned char *p = page_alloc_run(7);
	ck_assert_ptr_eq(p, more + PAGE_SIZE);
	ck_assert_uint_eq(page_free_count(), 0);
	ck_assert_ptr_null(page_alloc());
	page_free_run(p, 7);
	page_free_run(all, region_pages);
	ck_assert_uint_eq(page_free_count(), region_pages + 7);
	/* the allocator takes a bounded number of regions, and refusing one changes nothing */
	int added = 0;
	static unsigned char extra[64][2 * PAGE_SIZE] __attribute__((aligned(4096)));
	while (added < 64 && palloc_add_region(extra[added], sizeof(extra[added])))
		added++;
	ck_assert_int_lt(added, 64);
	ck_assert_uint_eq(page_free_count(), region_pages + 7 + (size_t)added);
	free(more);
}
END_TEST

START_TEST(palloc_double_free_panics)
{
	void *keep = page_alloc();
	unsigned char *p = page_alloc();
	page_free(p);
	size_t before = page_free_count();
	ASSERT_PANICS(page_free(p), "double free");
	ck_assert_uint_eq(page_free_count(), before);
	/* a run with one page already free is refused whole */
	unsigned char *r = page_alloc_run(3);
	page_free(r + PAGE_SIZE);
	before = page_free_count();
	ASSERT_PANICS(page_free_run(r, 3), "double free");
	ck_assert_uint_eq(page_free_count(), before);
	page_free(r);
	page_free(r + 2 * PAGE_SIZE);
	page_free(keep);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(palloc_misaligned_free_panics)
{
	unsigned char *p = page_alloc();
	size_t before = page_free_count();
	ASSERT_PANICS(page_free(p + 8), "not the start of a page");
	ASSERT_PANICS(page_free(p + PAGE_SIZE - 1), "not the start of a page");
	ck_assert_uint_eq(page_free_count(), before);
	page_free(p);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(palloc_foreign_free_panics)
{
	void *p = page_alloc();
	size_t before = page_free_count();
	ASSERT_PANICS(page_free(foreign_page), "not allocated by page_alloc");
	ASSERT_PANICS(page_free(NULL), "not allocated by page_alloc");
	ASSERT_PANICS(page_free(region), "not allocated by page_alloc");      /* the pool's bitmap */
	unsigned char *last = region + (POOL_PAGES - 1) * PAGE_SIZE;
	ASSERT_PANICS(page_free_run(last, 2), "not allocated by page_alloc"); /* off the end */
	ck_assert_uint_eq(page_free_count(), before);
	page_free(p);
}
END_TEST

/* --- kmalloc ------------------------------------------------------------------ */

START_TEST(kmalloc_zero_and_null)
{
	ck_assert_ptr_null(kmalloc(0));
	ck_assert_ptr_null(kzalloc(0));
	kfree(NULL);
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
	ck_assert_ptr_null(kmalloc(SIZE_MAX));
	ck_assert_ptr_null(kmalloc(SIZE_MAX - PAGE_SIZE));
	ck_assert_ptr_null(kmalloc((size_t)1 << 40));
	ck_assert_ptr_null(kmalloc(region_pages * PAGE_SIZE));   /* the header does not fit */
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

struct block {
	unsigned char *p;
	size_t size;
	unsigned char fill;
};

static void fill_block(struct block *b, unsigned char v)
{
	b->fill = v;
	memset(b->p, v, b->size);
}

static bool block_intact(const struct block *b)
{
	return all_bytes(b->p, b->fill, b->size);
}

START_TEST(kmalloc_every_size_aligned_and_disjoint)
{
	static const size_t big[] = { 1025, 2000, 2048, 3000, 4000, 4080, 4081, 4096, 5000,
	                              8192, 10000, 65536, 70000 };
	enum { SMALL = 1100, NB = sizeof(big) / sizeof(big[0]), N = SMALL + NB };
	static struct block b[N];
	for (size_t i = 0; i < N; i++) {
		b[i].size = i < SMALL ? i + 1 : big[i - SMALL];
		b[i].p = kmalloc(b[i].size);
		EXPECT(b[i].p, "kmalloc(%zu) failed", b[i].size);
		EXPECT((uintptr_t)b[i].p % 16 == 0, "kmalloc(%zu) = %p not 16-byte aligned", b[i].size, (void *)b[i].p);
		EXPECT(in_region(b[i].p, b[i].size), "kmalloc(%zu) = %p outside the heap's pages", b[i].size, (void *)b[i].p);
		fill_block(&b[i], (unsigned char)(i * 7 + 1));
		EXPECT(kmalloc_live_count() == i + 1, "live count %zu after %zu blocks", kmalloc_live_count(), i + 1);
	}
	for (size_t i = 0; i < N; i++)
		EXPECT(block_intact(&b[i]), "block %zu (%zu bytes) was overwritten", i, b[i].size);
	/* sorted by address, each block ends before the next starts */
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N; j++)
			EXPECT(b[i].p + b[i].size <= b[j].p || b[j].p + b[j].size <= b[i].p,
			       "blocks of %zu and %zu bytes overlap", b[i].size, b[j].size);
	for (size_t i = 0; i < N; i++) {
		kfree(b[i].p);
		EXPECT(kmalloc_live_count() == N - i - 1, "live count %zu", kmalloc_live_count());
	}
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(kzalloc_zeroes_reused_memory)
{
	static const size_t sizes[] = { 1, 16, 24, 100, 1024, 1025, 5000, 20000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		/* a neighbour keeps the slab alive, so the next block reuses the dirty one */
		void *keep = kmalloc(n);
		unsigned char *p = kmalloc(n);
		memset(p, 0xee, n);
		kfree(p);
		unsigned char *z = kzalloc(n);
		ck_assert_ptr_nonnull(z);
		ck_assert_msg(all_bytes(z, 0, n), "kzalloc(%zu) not zeroed", n);
		ck_assert_uint_eq(kmalloc_live_count(), 2);
		kfree(z);
		kfree(keep);
	}
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(small_blocks_share_pages)
{
	static const size_t sizes[] = { 1, 16, 24, 48, 100, 128, 200, 500, 1000, 1024 };
	enum { N = 300 };
	static void *p[N];
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t before = page_free_count();
		for (int i = 0; i < N; i++)
			p[i] = kmalloc(sizes[s]);
		size_t used = before - page_free_count();
		size_t slot = 16;
		while (slot < sizes[s])
			slot *= 2;
		/* at most twice the memory the rounded blocks need, plus one page */
		ck_assert_msg(used * PAGE_SIZE <= 2 * N * slot + PAGE_SIZE,
		              "%d blocks of %zu bytes took %zu pages", N, sizes[s], used);
		for (int i = 0; i < N; i++)
			kfree(p[i]);
		ck_assert_uint_eq(page_free_count(), before);
	}
}
END_TEST

START_TEST(freeing_refills_a_full_slab)
{
	/* fill slabs of 64-byte blocks until a new page was needed twice */
	enum { N = 200 };
	static void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = kmalloc(64);
	size_t pages = page_free_count();
	/* a hole in the oldest slab is reused before any new page */
	for (int round = 0; round < 50; round++) {
		int i = (round * 7) % 40;
		kfree(p[i]);
		p[i] = kmalloc(64);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq(page_free_count(), pages);
	}
	for (int i = 0; i < N; i++)
		kfree(p[i]);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(empty_slabs_and_large_blocks_go_back)
{
	void *a = kmalloc(32);
	ck_assert_uint_eq(page_free_count(), region_pages - 1);
	kfree(a);
	ck_assert_uint_eq(page_free_count(), region_pages);
	void *l = kmalloc(3 * PAGE_SIZE);
	ck_assert_uint_le(region_pages - page_free_count(), 4);
	ck_assert_uint_ge(region_pages - page_free_count(), 3);
	kfree(l);
	ck_assert_uint_eq(page_free_count(), region_pages);
	/* one slab per size class, each returned when its last block goes */
	void *c[7];
	for (int i = 0; i < 7; i++)
		c[i] = kmalloc((size_t)16 << i);
	ck_assert_uint_eq(page_free_count(), region_pages - 7);
	for (int i = 0; i < 7; i++) {
		kfree(c[i]);
		ck_assert_uint_eq(page_free_count(), region_pages - 7 + i + 1);
	}
	ck_assert_uint_eq(kmalloc_live_count(), 0);
}
END_TEST

struct blob {
	struct blob *next;
};

START_TEST(kmalloc_exhaustion_returns_null_then_recovers)
{
	struct blob *head = NULL;
	size_t n = 0;
	for (size_t size = 1 << 20; size >= 16; size /= 2) {
		struct blob *b;
		while ((b = kmalloc(size))) {
			b->next = head;
			head = b;
			n++;
		}
	}
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(kmalloc_live_count(), n);
	ck_assert_uint_eq(page_free_count(), 0);
	ck_assert_ptr_null(kmalloc(16));
	ck_assert_ptr_null(kzalloc(100));
	ck_assert_ptr_null(kmalloc(5000));
	ck_assert_uint_eq(kmalloc_live_count(), n);
	while (head) {
		struct blob *next = head->next;
		kfree(head);
		head = next;
	}
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
	void *p = kmalloc(100), *q = kmalloc(100000);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	kfree(p);
	kfree(q);
}
END_TEST

START_TEST(kfree_double_free_panics)
{
	void *keep = kmalloc(32);          /* keeps the slab alive after the first free */
	void *p = kmalloc(32);
	kfree(p);
	size_t pages = page_free_count(), live = kmalloc_live_count();
	ASSERT_PANICS(kfree(p), "double free");
	ck_assert_uint_eq(page_free_count(), pages);
	ck_assert_uint_eq(kmalloc_live_count(), live);
	kfree(keep);
	ck_assert_uint_eq(page_free_count(), region_pages);
	/* the only block of its slab: the page went back, so it is not the heap's any more */
	void *lone = kmalloc(512);
	kfree(lone);
	ASSERT_PANICS(kfree(lone), "not allocated by kmalloc");
	/* a large block */
	void *big = kmalloc(3 * PAGE_SIZE);
	kfree(big);
	ASSERT_PANICS(kfree(big), "not allocated by kmalloc");
	ck_assert_uint_eq(page_free_count(), region_pages);
	ck_assert_uint_eq(kmalloc_live_count(), 0);
}
END_TEST

START_TEST(kfree_interior_pointer_panics)
{
	unsigned char *p = kmalloc(64);
	size_t live = kmalloc_live_count();
	ASSERT_PANICS(kfree(p + 8), "not at its start");
	ASSERT_PANICS(kfree(p + 63), "not at its start");
	/* the slab's header, in front of the first block */
	unsigned char *page = (unsigned char *)((uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1));
	ASSERT_PANICS(kfree(page + 16), "not at its start");
	unsigned char *big = kmalloc(2 * PAGE_SIZE);
	ASSERT_PANICS(kfree(big + 16), "not allocated by kmalloc");
	ASSERT_PANICS(kfree(big - 16), "not allocated by kmalloc");   /* the large block's header */
	ck_assert_uint_eq(kmalloc_live_count(), live + 1);
	kfree(big);
	kfree(p);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(kfree_past_the_last_object_panics)
{
	/* 1024-byte blocks: fill one slab, then point one block past its last */
	unsigned char *first = kmalloc(1024);
	unsigned char *page = (unsigned char *)((uintptr_t)first & ~(uintptr_t)(PAGE_SIZE - 1));
	unsigned char *last = first;
	void *more[8];
	int n = 0;
	while (n < 8) {
		more[n] = kmalloc(1024);
		if (((uintptr_t)more[n] & ~(uintptr_t)(PAGE_SIZE - 1)) != (uintptr_t)page) {
			n++;
			break;
		}
		if ((unsigned char *)more[n] > last)
			last = more[n];
		n++;
	}
	unsigned char *past = last + 1024;
	if (past < page + PAGE_SIZE)   /* the slab's tail has room for no whole block */
		ASSERT_PANICS(kfree(past), "past the last object");
	for (int i = 0; i < n; i++)
		kfree(more[i]);
	kfree(first);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(kfree_foreign_pointer_panics)
{
	size_t live = kmalloc_live_count();
	ASSERT_PANICS(kfree(foreign_page + 16), "not allocated by kmalloc");
	ASSERT_PANICS(kfree(foreign_page), "not allocated by kmalloc");
	unsigned char *pg = page_alloc();          /* palloc's, not the heap's */
	ASSERT_PANICS(kfree(pg + 16), "not allocated by kmalloc");
	page_free(pg);
	ck_assert_uint_eq(kmalloc_live_count(), live);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

/* --- randomized ---------------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static size_t random_size(struct rng *r)
{
	switch (rnd(r) % 8) {
	case 0: return 1 + rnd(r) % 16;
	case 1: case 2: case 3: return 1 + rnd(r) % 256;
	case 4: case 5: return 1 + rnd(r) % 1024;
	case 6: return 1 + rnd(r) % 4096;
	default: return 1024 + rnd(r) % 30000;
	}
}

/* steps random operations on a table of live blocks; returns the number that failed for lack of memory */
static int random_run(uint64_t seed, int steps, struct block *live, int slots, bool check_count)
{
	struct rng r = { seed };
	int nlive = 0, failed = 0;
	for (int step = 0; step < steps; step++) {
		bool alloc = nlive == 0 || (nlive < slots && rnd(&r) % 100 < 55);
		if (alloc) {
			struct block *b = &live[nlive];
			b->size = random_size(&r);
			bool zero = rnd(&r) % 4 == 0;
			b->p = zero ? kzalloc(b->size) : kmalloc(b->size);
			if (!b->p) {
				failed++;
				continue;
			}
			EXPECT((uintptr_t)b->p % 16 == 0, "step %d: %p misaligned", step, (void *)b->p);
			EXPECT(!zero || all_bytes(b->p, 0, b->size), "step %d: kzalloc(%zu) not zeroed", step, b->size);
			fill_block(b, (unsigned char)(1 + rnd(&r) % 255));
			nlive++;
		} else {
			int k = (int)(rnd(&r) % (uint64_t)nlive);
			EXPECT(block_intact(&live[k]), "step %d: block of %zu bytes overwritten", step, live[k].size);
			kfree(live[k].p);
			live[k] = live[--nlive];
		}
		if (check_count)
			EXPECT(kmalloc_live_count() == (size_t)nlive, "step %d: live count %zu, expected %d",
			       step, kmalloc_live_count(), nlive);
	}
	for (int k = 0; k < nlive; k++) {
		EXPECT(block_intact(&live[k]), "block of %zu bytes overwritten", live[k].size);
		kfree(live[k].p);
	}
	return failed;
}

START_TEST(random_alloc_free_matches_a_model)
{
	static struct block live[400];
	int failed = random_run(0x853c49e6748fea9bull, 30000, live, 400, true);
	ck_assert_int_eq(failed, 0);
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

START_TEST(random_run_under_memory_pressure)
{
	/* many big blocks: the heap runs dry often and must recover every time */
	static struct block live[2000];
	int failed = random_run(0xda3e39cb94b95bdbull, 20000, live, 2000, true);
	ck_assert_int_gt(failed, 0);
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
}
END_TEST

struct worker {
	pthread_t t;
	uint64_t seed;
	struct block live[100];
	int failed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->failed = random_run(w->seed, 8000, w->live, 100, false);
	return NULL;
}

START_TEST(threads_share_the_heap)
{
	static struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(w[i].t, NULL), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(w[i].failed, 0);
	ck_assert_uint_eq(kmalloc_live_count(), 0);
	ck_assert_uint_eq(page_free_count(), region_pages);
	ck_assert_int_eq(shim_locks_held(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kmalloc");
	TCase *pa = tcase_create("palloc");
	tcase_add_checked_fixture(pa, setup, teardown);
	tcase_add_test(pa, palloc_pages_distinct_aligned_zeroed);
	tcase_add_test(pa, palloc_runs_contiguous_and_zeroed);
	tcase_add_test(pa, palloc_exhaustion_and_recovery);
	tcase_add_test(pa, palloc_more_regions_add_up);
	tcase_add_test(pa, palloc_double_free_panics);
	tcase_add_test(pa, palloc_misaligned_free_panics);
	tcase_add_test(pa, palloc_foreign_free_panics);
	suite_add_tcase(s, pa);
	TCase *km = tcase_create("kmalloc");
	tcase_add_checked_fixture(km, setup, teardown);
	tcase_set_timeout(km, 60);
	tcase_add_test(km, kmalloc_zero_and_null);
	tcase_add_test(km, kmalloc_every_size_aligned_and_disjoint);
	tcase_add_test(km, kzalloc_zeroes_reused_memory);
	tcase_add_test(km, small_blocks_share_pages);
	tcase_add_test(km, freeing_refills_a_full_slab);
	tcase_add_test(km, empty_slabs_and_large_blocks_go_back);
	tcase_add_test(km, kmalloc_exhaustion_returns_null_then_recovers);
	tcase_add_test(km, kfree_double_free_panics);
	tcase_add_test(km, kfree_interior_pointer_panics);
	tcase_add_test(km, kfree_past_the_last_object_panics);
	tcase_add_test(km, kfree_foreign_pointer_panics);
	tcase_add_test(km, random_alloc_free_matches_a_model);
	tcase_add_test(km, random_run_under_memory_pressure);
	tcase_add_test(km, threads_share_the_heap);
	suite_add_tcase(s, km);
	SRunner *sr = srunner_create(s);
	/* each test needs a fresh allocator (palloc cannot forget a region): always fork */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
