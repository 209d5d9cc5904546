/* A pool of 4 KiB pages over one contiguous range of memory, tracked by a
 * bitmap stored in the range's first pages. Pure logic, no locking: the
 * caller serializes (keos/mm/palloc.c). Host tests run it on ordinary memory. */
#ifndef KEOS_MM_PAGE_POOL_H
#define KEOS_MM_PAGE_POOL_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct page_pool {
	uintptr_t base;        /* first allocatable page */
	size_t npages;         /* allocatable pages */
	size_t nfree;
	size_t hint;           /* where the next search starts */
	uint64_t *bitmap;      /* bit set = page in use */
};

enum page_pool_free_result {
	PAGE_POOL_FREED,
	PAGE_POOL_NOT_OWNED,   /* outside the pool */
	PAGE_POOL_MISALIGNED,  /* inside, but not the start of a page */
	PAGE_POOL_DOUBLE_FREE, /* the page is already free */
};

/* Builds a pool over [start, start + bytes); the bitmap takes the first pages. False if too small. */
bool page_pool_init(struct page_pool *p, void *start, size_t bytes);
/* n contiguous free pages (not zeroed), or NULL. */
void *page_pool_alloc(struct page_pool *p, size_t n);
/* Frees n pages at page; reports misuse instead of corrupting the bitmap. */
enum page_pool_free_result page_pool_free(struct page_pool *p, void *page, size_t n);
/* True if addr lies in the pool's allocatable range. */
bool page_pool_owns(const struct page_pool *p, const void *addr);
#endif
