/* The kernel heap.
 *
 * Sizes up to 1024 bytes round up to a power-of-two class (16 .. 1024). Each
 * class keeps a list of slabs, one page each, that still have room; a slab
 * starts with a header holding a bitmap of its objects. A slab that becomes
 * empty goes straight back to the page allocator, so a test can compare
 * page_free_count() before and after to find leaks. Larger blocks take a run
 * of whole pages with a 16-byte header in front of the block.
 *
 * kfree finds the header from the page address. A pointer whose page has no
 * heap magic, that is not at an object boundary, or whose object is already
 * free is a bug in the caller: kfree panics and says which. */
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/sync/spinlock.h"
#include "keos/lib/printk.h"
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#define SLAB_MAGIC  0x51ab51abu
#define LARGE_MAGIC 0x1a26e000u
#define MIN_SHIFT 4
#define MAX_SHIFT 10
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define SLAB_HEADER 128u
#define LARGE_HEADER 16u

struct slab {
	uint32_t magic;
	uint32_t obj_size;
	uint32_t nobj, nfree;
	uint64_t used[4];            /* bit set = object allocated (<= 252 objects) */
	struct slab *next, *prev;    /* in the class's list of slabs with room */
};
_Static_assert(sizeof(struct slab) <= SLAB_HEADER, "slab header too large");

struct large {
	uint32_t magic;
	uint32_t npages;
	uint64_t pad;
};
_Static_assert(sizeof(struct large) == LARGE_HEADER, "large header size");

static struct slab *partial[NCLASSES];
static size_t live_count;
static struct spinlock heap_lock = SPINLOCK_INIT("kmalloc");

static int size_class(size_t size)
{
	int shift = MIN_SHIFT;
	while (((size_t)1 << shift) < size)
		shift++;
	return shift - MIN_SHIFT;
}

static void list_remove(int cls, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		partial[cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void list_push(int cls, struct slab *s)
{
	s->prev = NULL;
	s->next = partial[cls];
	if (s->next)
		s->next->prev = s;
	partial[cls] = s;
}

static struct slab *slab_new(int cls)
{
	struct slab *s = page_alloc();
	if (!s)
		return NULL;
	s->magic = SLAB_MAGIC;
	s->obj_size = 1u << (cls + MIN_SHIFT);
	s->nobj = s->nfree = (PAGE_SIZE - SLAB_HEADER) / s->obj_size;
	list_push(cls, s);
	return s;
}

static void *slab_take(int cls, struct slab *s)
{
	for (uint32_t i = 0; i < s->nobj; i++) {
		if (s->used[i / 64] >> (i % 64) & 1)
			continue;
		s->used[i / 64] |= 1ull << (i % 64);
		if (--s->nfree == 0)
			list_remove(cls, s);
		return (char *)s + SLAB_HEADER + (size_t)i * s->obj_size;
	}
	panic("kmalloc: slab %p claims %u free objects but has none", (void *)s, s->nfree);
}

static void *large_alloc(size_t size)
{
	if (size > SIZE_MAX - LARGE_HEADER - PAGE_SIZE)
		return NULL;
	size_t npages = (size + LARGE_HEADER + PAGE_SIZE - 1) / PAGE_SIZE;
	struct large *l = page_alloc_run(npages);
	if (!l)
		return NULL;
	l->magic = LARGE_MAGIC;
	l->npages = (uint32_t)npages;
	return (char *)l + LARGE_HEADER;
}

void *kmalloc(size_t size)
{
	if (size == 0)
		return NULL;
	void *p = NULL;
	if (size > (1u << MAX_SHIFT)) {
		p = large_alloc(size);
	} else {
		int cls = size_class(size);
		spin_lock(&heap_lock);
		struct slab *s = partial[cls] ? partial[cls] : slab_new(cls);
		if (s)
			p = slab_take(cls, s);
		spin_unlock(&heap_lock);
	}
	if (p)
		__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

static void slab_free(struct slab *s, void *p)
{
	size_t off = (uintptr_t)p - (uintptr_t)s;
	if (off < SLAB_HEADER || (off - SLAB_HEADER) % s->obj_size)
		panic("kfree: %p is inside a heap block, not at its start", p);
	uint32_t i = (uint32_t)((off - SLAB_HEADER) / s->obj_size);
	if (i >= s->nobj)
		panic("kfree: %p is past the last object of its slab", p);
	int cls = size_class(s->obj_size);
	spin_lock(&heap_lock);
	if (!(s->used[i / 64] >> (i % 64) & 1)) {
		spin_unlock(&heap_lock);
		panic("kfree: double free of %p", p);
	}
	s->used[i / 64] &= ~(1ull << (i % 64));
	if (s->nfree++ == 0)
		list_push(cls, s);
	bool empty = s->nfree == s->nobj;
	if (empty) {
		list_remove(cls, s);
		s->magic = 0;
	}
	spin_unlock(&heap_lock);
	if (empty)
		page_free(s);
}

void kfree(void *p)
{
	if (!p)
		return;
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1);
	struct slab *s = (struct slab *)page;
	struct large *l = (struct large *)page;
	if (s->magic == SLAB_MAGIC) {
		slab_free(s, p);
	} else if (l->magic == LARGE_MAGIC && (uintptr_t)p == page + LARGE_HEADER) {
		size_t n = l->npages;
		l->magic = 0;
		page_free_run(l, n);
	} else {
		panic("kfree: %p was not allocated by kmalloc (or was already freed)", p);
	}
	__atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
}

size_t kmalloc_live_count(void)
{
	return __atomic_load_n(&live_count, __ATOMIC_RELAXED);
}
