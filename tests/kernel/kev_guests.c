/* Helpers for kev's kernel tests (see kev_guests.h). */
#include "tests/kernel/kev_guests.h"
#include "keos/test/ktest.h"
#include <string.h>

struct vm *kev_test_vm(struct guest_image img, unsigned nvcpus)
{
	struct vm *vm = vm_create(nvcpus, KEV_TEST_RAM);
	if (!vm)
		ktest_fail(__FILE__, __LINE__, "vm_create(%u, %u) failed", nvcpus, KEV_TEST_RAM);
	if (!vm_load_flat64(vm, img.start, (size_t)(img.end - img.start))) {
		vm_destroy(vm);
		ktest_fail(__FILE__, __LINE__, "guest %s does not load", img.name);
	}
	vm_set_timeout(vm, KEV_TEST_TIMEOUT);
	return vm;
}

int kev_test_run(struct vm *vm)
{
	if (!vm_run(vm))
		ktest_fail(__FILE__, __LINE__, "vm_run failed (no memory for the vCPU thread)");
	return vm_join(vm);
}

bool kev_contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}
