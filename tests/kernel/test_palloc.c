/* Kernel tests of the physical page allocator on the machine's real RAM. */
#include "keos/test/ktest.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include <string.h>

KTEST(palloc_pages_are_distinct_zeroed_and_aligned)
{
	enum { N = 64 };
	void *p[N];
	size_t before = page_free_count();
	for (int i = 0; i < N; i++) {
		p[i] = page_alloc();
		KASSERT(p[i] != NULL);
		KASSERT_EQ((uintptr_t)p[i] % PAGE_SIZE, 0);
		for (size_t b = 0; b < PAGE_SIZE; b++)
			KASSERT(((unsigned char *)p[i])[b] == 0);
		memset(p[i], 0xa5, PAGE_SIZE);
		for (int j = 0; j < i; j++)
			KASSERT(p[i] != p[j]);
	}
	KASSERT_EQ(page_free_count(), before - N);
	for (int i = 0; i < N; i++)
		page_free(p[i]);
	KASSERT_EQ(page_free_count(), before);
	/* Freed pages come back zeroed. */
	void *q = page_alloc();
	KASSERT(q != NULL);
	for (size_t b = 0; b < PAGE_SIZE; b++)
		KASSERT(((unsigned char *)q)[b] == 0);
	page_free(q);
}

KTEST(palloc_runs_are_contiguous)
{
	unsigned char *r = page_alloc_run(16);
	KASSERT(r != NULL);
	KASSERT_EQ(virt_to_phys(r + 15 * PAGE_SIZE) - virt_to_phys(r), 15 * PAGE_SIZE);
	memset(r, 1, 16 * PAGE_SIZE);
	page_free_run(r, 16);
}

static void double_free(void *arg)
{
	(void)arg;
	void *p = page_alloc();
	page_free(p);
	page_free(p);
}

KTEST(palloc_double_free_panics)
{
	char msg[200];
	KASSERT(ktest_expect_panic(double_free, NULL, msg, sizeof(msg)));
	KASSERT(strstr(msg, "double free"));
}

static void foreign_free(void *arg)
{
	(void)arg;
	static char not_a_page[PAGE_SIZE] __attribute__((aligned(4096)));
	page_free(not_a_page);
}

KTEST(palloc_foreign_free_panics)
{
	char msg[200];
	KASSERT(ktest_expect_panic(foreign_free, NULL, msg, sizeof(msg)));
	KASSERT(strstr(msg, "not allocated by page_alloc"));
}

static char *misaligned_page;

static void misaligned_free(void *arg)
{
	(void)arg;
	misaligned_page = page_alloc();
	page_free(misaligned_page + 8);
}

KTEST(palloc_misaligned_free_panics)
{
	char msg[200];
	KASSERT(ktest_expect_panic(misaligned_free, NULL, msg, sizeof(msg)));
	KASSERT(strstr(msg, "not the start of a page"));
	page_free(misaligned_page);
}

struct chain { struct chain *next; size_t pages; };

KTEST(palloc_exhaustion_fails_cleanly)
{
	size_t before = page_free_count();
	struct chain *head = NULL;
	size_t got = 0;
	/* Big runs first, then single pages, until the allocator says no. */
	for (size_t run = 1024; run >= 1; run /= 4) {
		struct chain *c;
		while ((c = page_alloc_run(run))) {
			c->next = head;
			c->pages = run;
			head = c;
			got += run;
		}
	}
	KASSERT_EQ(page_free_count(), 0);
	KASSERT(page_alloc() == NULL);
	KASSERT_EQ(got, before);
	while (head) {
		struct chain *next = head->next;
		page_free_run(head, head->pages);
		head = next;
	}
	KASSERT_EQ(page_free_count(), before);
}
