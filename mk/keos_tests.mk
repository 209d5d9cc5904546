# The keos kernel test suite (build/keos-test.elf).
KTEST_SRCS += tests/kernel/smp_check.c tests/kernel/test_palloc.c tests/kernel/test_kmalloc.c \
	tests/kernel/test_thread.c tests/kernel/test_mutex.c tests/kernel/test_devices.c tests/kernel/test_selftest.c
