/* A check shared by the host and guest test suites: two threads pinned to
 * two CPUs must run at the same time (each waits for the other's signal). */
#ifndef TESTS_KERNEL_SMP_CHECK_H
#define TESTS_KERNEL_SMP_CHECK_H
/* Fails the running test unless threads on cpu_a and cpu_b ran in parallel (hangs if they cannot). */
void ktest_expect_parallel(int cpu_a, int cpu_b);
#endif
