/* The kernel's page allocator: a few page pools (one per usable region of the
 * multiboot memory map) behind one spinlock. Pages are zeroed on allocation,
 * so a stale pointer into a freed page reads zeros, not another user's data.
 * Misuse (double free, foreign or misaligned address) panics with the address. */
#include "keos/mm/palloc.h"
#include "keos/mm/page_pool.h"
#include "keos/sync/spinlock.h"
#include "keos/lib/printk.h"
#include <string.h>

#define MAX_POOLS 8

static struct page_pool pools[MAX_POOLS];
static int npools;
static struct spinlock palloc_lock = SPINLOCK_INIT("palloc");

bool palloc_add_region(void *start, size_t bytes)
{
	if (npools == MAX_POOLS)
		return false;
	spin_lock(&palloc_lock);
	bool ok = page_pool_init(&pools[npools], start, bytes);
	if (ok)
		npools++;
	spin_unlock(&palloc_lock);
	return ok;
}

void *page_alloc_run(size_t n)
{
	void *page = NULL;
	spin_lock(&palloc_lock);
	for (int i = 0; i < npools && !page; i++)
		page = page_pool_alloc(&pools[i], n);
	spin_unlock(&palloc_lock);
	if (page)
		memset(page, 0, n * PAGE_SIZE);
	return page;
}

void *page_alloc(void)
{
	return page_alloc_run(1);
}

void page_free_run(void *first, size_t n)
{
	enum page_pool_free_result r = PAGE_POOL_NOT_OWNED;
	spin_lock(&palloc_lock);
	for (int i = 0; i < npools; i++) {
		if (page_pool_owns(&pools[i], first)) {
			r = page_pool_free(&pools[i], first, n);
			break;
		}
	}
	spin_unlock(&palloc_lock);
	switch (r) {
	case PAGE_POOL_FREED:
		return;
	case PAGE_POOL_DOUBLE_FREE:
		panic("page_free: double free of page %p", first);
	case PAGE_POOL_MISALIGNED:
		panic("page_free: %p is not the start of a page", first);
	case PAGE_POOL_NOT_OWNED:
		panic("page_free: %p (%zu pages) was not allocated by page_alloc", first, n);
	}
}

void page_free(void *page)
{
	page_free_run(page, 1);
}

size_t page_free_count(void)
{
	size_t n = 0;
	spin_lock(&palloc_lock);
	for (int i = 0; i < npools; i++)
		n += pools[i].nfree;
	spin_unlock(&palloc_lock);
	return n;
}
