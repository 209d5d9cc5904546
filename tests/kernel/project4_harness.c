/* project4's devices for the guest-test harness (see project4_harness.h). */
#include "tests/kernel/project4_harness.h"

struct project4_vm project4_test_devices;

void project4_setup(struct keos_vm *k, void *arg)
{
	(void)arg;
	char why[160];
	project4_test_devices = (struct project4_vm){ .k = k };
	if (!project4_attach_devices(&project4_test_devices, why, sizeof(why))) {
		keos_vm_destroy(k);
		project4_free_devices(&project4_test_devices);
		ktest_fail(__FILE__, __LINE__, "%s", why);
	}
}

void project4_setup_x2apic(struct keos_vm *k, void *arg)
{
	(void)arg;
	char why[160];
	project4_test_devices = (struct project4_vm){ .k = k };
	project4_test_devices.apic = project4_attach_x2apic(k, why, sizeof(why));
	if (!project4_test_devices.apic) {
		keos_vm_destroy(k);
		ktest_fail(__FILE__, __LINE__, "%s", why);
	}
}

void project4_teardown(void *arg)
{
	(void)arg;
	project4_free_devices(&project4_test_devices);
}
