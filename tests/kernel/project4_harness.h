/* The host side of project4's graded guest tests: every VM gets the
 * x2APIC (part 1) before it starts, the svirtb tests svirtb over disk_file
 * as well (part 2); the devices are freed after the VM is destroyed. The
 * x2APIC tests attach the x2APIC alone, so they do not need part 2. */
#ifndef TESTS_KERNEL_PROJECT4_HARNESS_H
#define TESTS_KERNEL_PROJECT4_HARNESS_H
#include "tests/kernel/guest_harness.h"
#include "project4/vm.h"

/* The devices of the VM the running test built (one test at a time). */
extern struct project4_vm project4_test_devices;

/* guest_run.setup: attaches the x2APIC and svirtb to k; fails the test if it cannot. */
void project4_setup(struct keos_vm *k, void *arg);
/* guest_run.setup: attaches the x2APIC alone to k; fails the test if it cannot. */
void project4_setup_x2apic(struct keos_vm *k, void *arg);
/* guest_run.teardown: frees the devices. */
void project4_teardown(void *arg);

/* A host test project4_<gtest>: runs guest test gtest in gKeOS with vcpus
 * vCPUs, 32 MiB and a limit of secs seconds, with the devices setup attaches. */
#define PROJECT4_KTEST_WITH(setup, gtest, vcpus, secs)                            \
	KTEST(project4_##gtest)                                                   \
	{                                                                         \
		struct guest_run r = { #gtest, (vcpus), 32 * 1024, (secs),        \
		                       (setup), NULL, NULL, project4_teardown };  \
		guest_test_run(&r);                                               \
	}
/* With the x2APIC and svirtb (part 2's tests). */
#define PROJECT4_KTEST(gtest, vcpus, secs) PROJECT4_KTEST_WITH(project4_setup, gtest, vcpus, secs)
/* With the x2APIC alone (part 1's tests). */
#define X2APIC_KTEST(gtest, vcpus, secs) PROJECT4_KTEST_WITH(project4_setup_x2apic, gtest, vcpus, secs)
#endif
