/* Host-side harness for tests that boot gKeOS under kev: one VM per guest
 * test, with the guest's test runner selecting that one test. A graded test
 * passes only if the guest's own lines say so: "test NAME ... ok" and the
 * closing "1 passed, 0 failed", with a clean exit status and no VM error. */
#ifndef TESTS_KERNEL_GUEST_HARNESS_H
#define TESTS_KERNEL_GUEST_HARNESS_H
#include "project3/keos_vm/keos_vm.h"
#include "keos/test/ktest.h"

struct guest_run {
	const char *test;               /* the guest test to run */
	unsigned nvcpus;
	uint64_t ram_kib;
	unsigned timeout_s;
	/* Called after the VM is built, before it starts: attach devices. */
	void (*setup)(struct keos_vm *k, void *arg);
	void *arg;
	/* Called after the VM ended, before it is destroyed: extra checks. */
	const char *(*check)(struct keos_vm *k, void *arg);  /* NULL, or why it failed */
	/* Called after the VM is destroyed: free what setup made. */
	void (*teardown)(void *arg);
};

/* Boots gKeOS with "test=<test>", waits for it, and fails the calling test
 * when the guest did not pass, after printing why as "reason: " lines (the
 * guest's failing check, the VM's report or its deadline). */
void guest_test_run(const struct guest_run *run);
/* True if the VM's console output contains text. */
bool guest_console_has(struct keos_vm *k, const char *text);

/* A host test named <project>_<guest test> that runs the guest test in a VM
 * of one vCPU, 32 MiB, with setup attaching the project's devices. */
#define GUEST_KTEST(project, gtest, vcpus, secs, setup_fn, check_fn)              \
	KTEST(project##_##gtest)                                                  \
	{                                                                         \
		struct guest_run r = { #gtest, (vcpus), 32 * 1024, (secs),        \
		                       (setup_fn), NULL, (check_fn), NULL };      \
		guest_test_run(&r);                                               \
	}
#endif
