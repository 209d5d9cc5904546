/* Bitmap page pool. Allocation is next-fit from a moving hint, so repeated
 * single-page allocations are O(1) on average and freed pages are reused
 * after the hint wraps. A run of n pages needs n consecutive clear bits. */
#include "keos/mm/page_pool.h"

#define POOL_PAGE 4096u

static bool test_bit(const uint64_t *bm, size_t i) { return bm[i / 64] >> (i % 64) & 1; }
static void set_bit(uint64_t *bm, size_t i) { bm[i / 64] |= 1ull << (i % 64); }
static void clear_bit(uint64_t *bm, size_t i) { bm[i / 64] &= ~(1ull << (i % 64)); }

bool page_pool_init(struct page_pool *p, void *start, size_t bytes)
{
	uintptr_t lo = ((uintptr_t)start + POOL_PAGE - 1) & ~(uintptr_t)(POOL_PAGE - 1);
	uintptr_t hi = ((uintptr_t)start + bytes) & ~(uintptr_t)(POOL_PAGE - 1);
	if (hi <= lo)
		return false;
	size_t total = (hi - lo) / POOL_PAGE;
	/* Each bitmap page describes 32768 pages, itself included. */
	size_t bitmap_pages = (total + POOL_PAGE * 8) / (POOL_PAGE * 8 + 1);
	if (bitmap_pages == 0)
		bitmap_pages = 1;
	if (total <= bitmap_pages)
		return false;
	p->bitmap = (uint64_t *)lo;
	p->base = lo + bitmap_pages * POOL_PAGE;
	p->npages = total - bitmap_pages;
	p->nfree = p->npages;
	p->hint = 0;
	for (size_t i = 0; i < (p->npages + 63) / 64; i++)
		p->bitmap[i] = 0;
	return true;
}

static bool run_is_free(const struct page_pool *p, size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++)
		if (test_bit(p->bitmap, i))
			return false;
	return true;
}

void *page_pool_alloc(struct page_pool *p, size_t n)
{
	if (n == 0 || n > p->nfree)
		return NULL;
	for (size_t tried = 0; tried < p->npages; tried++) {
		size_t first = (p->hint + tried) % p->npages;
		if (first + n > p->npages || !run_is_free(p, first, n))
			continue;
		for (size_t i = first; i < first + n; i++)
			set_bit(p->bitmap, i);
		p->nfree -= n;
		p->hint = (first + n) % p->npages;
		return (void *)(p->base + first * POOL_PAGE);
	}
	return NULL;
}

bool page_pool_owns(const struct page_pool *p, const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	return a >= p->base && a < p->base + p->npages * POOL_PAGE;
}

enum page_pool_free_result page_pool_free(struct page_pool *p, void *page, size_t n)
{
	uintptr_t a = (uintptr_t)page;
	if (!page_pool_owns(p, page) || n > p->npages || (a - p->base) / POOL_PAGE + n > p->npages)
		return PAGE_POOL_NOT_OWNED;
	if (a % POOL_PAGE)
		return PAGE_POOL_MISALIGNED;
	size_t first = (a - p->base) / POOL_PAGE;
	for (size_t i = first; i < first + n; i++)
		if (!test_bit(p->bitmap, i))
			return PAGE_POOL_DOUBLE_FREE;
	for (size_t i = first; i < first + n; i++)
		clear_bit(p->bitmap, i);
	p->nfree += n;
	return PAGE_POOL_FREED;
}
