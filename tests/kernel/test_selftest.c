/* Deliberately failing tests: they check that the runner reports each kind
 * of failure with its place and keeps going. They run only when selected
 * ("test=selftest_*"); tools/run_kernel_selftest.sh checks the output. */
#include "keos/test/ktest.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/thread/thread.h"

KTEST(selftest_assert_fails)
{
	int two = 2;
	KASSERT_EQ(two + two, 5);
}

KTEST(selftest_panic_fails)
{
	panic("deliberate panic %d", 7);
}

KTEST(selftest_page_fault_fails)
{
	volatile uintptr_t where = 0x10;   /* unmapped: keos drops the identity map */
	volatile uint64_t *bad = (volatile uint64_t *)where;
	(void)*bad;
}

static void child_asserts(void *arg)
{
	(void)arg;
	KASSERT(arg != NULL);
}

KTEST(selftest_child_thread_fails)
{
	thread_join(thread_create("child", child_asserts, NULL));
}

KTEST(selftest_heap_leak_fails)
{
	(void)kmalloc(40);
}

KTEST(selftest_page_leak_fails)
{
	(void)page_alloc();
}

KTEST(selftest_passes)
{
	KASSERT(1);
}
