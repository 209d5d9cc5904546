/* Kernel tests of the heap. */
#include "keos/test/ktest.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include <string.h>

KTEST(kmalloc_sizes_alignment_and_contents)
{
	static const size_t sizes[] = { 1, 8, 15, 16, 17, 100, 512, 1000, 1024, 1025, 4000, 4096, 10000, 70000 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	unsigned char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = kmalloc(sizes[i]);
		KASSERT(p[i] != NULL);
		KASSERT_EQ((uintptr_t)p[i] % 16, 0);
		memset(p[i], i + 1, sizes[i]);
	}
	/* No block overlaps another: each still holds its own pattern. */
	for (int i = 0; i < N; i++)
		for (size_t b = 0; b < sizes[i]; b++)
			KASSERT_EQ(p[i][b], i + 1);
	for (int i = 0; i < N; i++)
		kfree(p[i]);
	KASSERT(kmalloc(0) == NULL);
	kfree(NULL);
}

KTEST(kmalloc_many_small_blocks_reuse_pages)
{
	size_t pages = page_free_count();
	enum { N = 2000 };
	void **v = kmalloc(N * sizeof(void *));
	KASSERT(v != NULL);
	for (int i = 0; i < N; i++) {
		v[i] = kzalloc(48);
		KASSERT(v[i] != NULL);
		KASSERT_EQ(*(uint64_t *)v[i], 0);
		*(int *)v[i] = i;
	}
	for (int i = 0; i < N; i++)
		KASSERT_EQ(*(int *)v[i], i);
	for (int i = 0; i < N; i += 2)
		kfree(v[i]);
	for (int i = 1; i < N; i += 2)
		kfree(v[i]);
	kfree(v);
	/* Empty slabs went back to the page allocator. */
	KASSERT_EQ(page_free_count(), pages);
}

static void *keep;

static void double_free(void *arg)
{
	size_t size = (size_t)arg;
	void *p = kmalloc(size);
	keep = kmalloc(size);      /* keeps the slab alive after the first free */
	kfree(p);
	kfree(p);
}

KTEST(kmalloc_double_free_panics)
{
	char msg[200];
	KASSERT(ktest_expect_panic(double_free, (void *)32, msg, sizeof(msg)));
	KASSERT(strstr(msg, "double free"));
	kfree(keep);
}

static void *interior;

static void interior_free(void *arg)
{
	(void)arg;
	interior = kmalloc(64);
	kfree((char *)interior + 8);
}

KTEST(kmalloc_interior_pointer_panics)
{
	char msg[200];
	KASSERT(ktest_expect_panic(interior_free, NULL, msg, sizeof(msg)));
	KASSERT(strstr(msg, "not at its start"));
	kfree(interior);
}

static void foreign_free(void *arg)
{
	(void)arg;
	static uint64_t not_heap[4];
	kfree(&not_heap[1]);
}

KTEST(kmalloc_foreign_pointer_panics)
{
	char msg[200];
	KASSERT(ktest_expect_panic(foreign_free, NULL, msg, sizeof(msg)));
	KASSERT(strstr(msg, "not allocated by kmalloc"));
}

struct blob { struct blob *next; };

KTEST(kmalloc_exhaustion_returns_null)
{
	size_t pages = page_free_count();
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
	KASSERT(n > 0);
	KASSERT(kmalloc(16) == NULL);
	KASSERT_EQ(page_free_count(), 0);
	while (head) {
		struct blob *next = head->next;
		kfree(head);
		head = next;
	}
	KASSERT_EQ(page_free_count(), pages);
	void *p = kmalloc(100);
	KASSERT(p != NULL);
	kfree(p);
}
