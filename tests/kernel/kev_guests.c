/* Helpers for kev's kernel tests (see kev_guests.h). */
#include "tests/kernel/kev_guests.h"
#include "keos/test/ktest.h"
#include "kev/vmcb.h"
#include "keos/lib/format.h"
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

struct vm *kev_test_vm_own_idt(struct guest_image img)
{
	struct vm *vm = kev_test_vm(img, 1);
	vm->vcpus[0]->vmcb->control.intercept_exceptions = 0;
	return vm;
}

struct vm *kev_run_next_vm_clean(void)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(hypercall), 1);
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	if (err != VM_ERR_NONE || status != 0) {
		char report[200];
		ksnprintf(report, sizeof(report), "%s", vm_report(vm));
		vm_destroy(vm);
		ktest_fail(__FILE__, __LINE__, "the next VM did not run cleanly: status %d, error '%s': %s",
		           status, vm_error_name(err), report);
	}
	return vm;
}
