# Host unit tests (libcheck) of the keos pieces that compile for the host:
# the formatter, the bitmap page pool, and the page allocator with the heap
# on top of it (spinlocks, printk and panic come from tests/host/keos_host_shim.c).
# tools/mutate_bodies.sh checks that these and the kernel suite catch any
# allocator or scheduler function whose body is deleted.
HOST_TESTS += test_format test_page_pool test_kmalloc
test_format_SRCS := tests/host/test_format.c keos/lib/format.c
test_page_pool_SRCS := tests/host/test_page_pool.c keos/mm/page_pool.c
test_kmalloc_SRCS := tests/host/test_kmalloc.c tests/host/keos_host_shim.c \
	keos/mm/palloc.c keos/mm/kmalloc.c keos/mm/page_pool.c

# Kernel tests for the mutants that survived the rest of the kernel suite.
KTEST_SRCS += tests/kernel/test_mutation_gaps.c

# The delete-the-body mutation campaign over the allocators, the scheduler and
# the spinlocks (about 90 s a function; not part of make check).
.PHONY: mutate
mutate:
	bash tools/mutate_bodies.sh
