/* kev: guests that run to a normal exit, one controller at a time. Each guest
 * checks what it sees and exits with 0, or with the number of the check that
 * failed; the host checks the status and what kev recorded. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/hypercall.h"
#include <string.h>

/* Runs a guest that must exit normally; returns its status. */
static int run_clean(struct vm *vm)
{
	int status = kev_test_run(vm);
	if (vm_error(vm) != VM_ERR_NONE)
		ktest_fail(__FILE__, __LINE__, "the VM stopped with '%s': %s",
		           vm_error_name(vm_error(vm)), vm_report(vm));
	return status;
}

KTEST(kev_cpuid)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(cpuid), 1);
	int status = run_clean(vm);
	uint64_t exits = vm->vcpus[0]->stats.exits;
	vm_destroy(vm);
	KASSERT_EQ(status, 0);
	KASSERT(exits >= 5);        /* four CPUIDs and the exit port, at least */
}

KTEST(kev_msr_roundtrip)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(msr), 1);
	int status = run_clean(vm);
	uint64_t scratch0 = vm->vcpus[0]->msr_store[MSR_SLOT_SCRATCH0];
	uint64_t scratch1 = vm->vcpus[0]->msr_store[MSR_SLOT_SCRATCH1];
	uint64_t efer = vm->vcpus[0]->state.efer;
	vm_destroy(vm);
	KASSERT_EQ(status, 0);
	/* The values live in kev's table, not in a real MSR. */
	KASSERT_EQ(scratch0, 0x1122334455667788ull);
	KASSERT_EQ(scratch1, 0xdeadbeefull);
	KASSERT(efer & (1u << 12));   /* SVME survived the guest writing EFER back */
}

KTEST(kev_serial_output)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(serial), 1);
	int status = run_clean(vm);
	size_t len;
	const char *out = vm_console(vm, &len);
	static const char expect[] = "hello from the guest\r\nsecond line\nno newline";
	bool same = len == sizeof(expect) - 1 && !memcmp(out, expect, len);
	bool divisor_printed = len && out[0] == '\x01';
	vm_destroy(vm);
	KASSERT_EQ(status, 0);
	KASSERT(!divisor_printed);    /* the DLAB write is the divisor, not a character */
	KASSERT(same);
}

KTEST(kev_hypercall)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(hypercall), 1);
	int status = run_clean(vm);
	const char *out = vm_console(vm, NULL);
	bool printed = !strcmp(out, "hello through a hypercall\n");
	uint64_t calls = vm->vcpus[0]->stats.hypercalls;
	vm_destroy(vm);
	KASSERT_EQ(status, 0);
	KASSERT(printed);
	KASSERT_EQ(calls, 6);
}

KTEST(kev_exit_status)
{
	static const struct { uint64_t status, kev_port; } cases[] = {
		{ 0, 0 }, { 42, 0 }, { 0x12345678, 0 }, { 7, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
		vm->vcpus[0]->state.gpr[GPR_RDI] = cases[i].status;
		vm->vcpus[0]->state.gpr[GPR_RSI] = cases[i].kev_port;
		int status = run_clean(vm);
		vm_destroy(vm);
		KASSERT_EQ(status, cases[i].status);
	}
}

/* vm_create's ranges: 1..KEV_MAX_VCPUS vCPUs and 1..KEV_MAX_RAM bytes of RAM.
 * RAM stops below 3 GiB because devices' register pages live above it: a
 * range that is all guest RAM is never a device's page (svirtb relies on it). */
KTEST(kev_vm_create_checks_its_ranges)
{
	KASSERT(vm_create(0, GUEST_PAGE_SIZE) == NULL);
	KASSERT(vm_create(KEV_MAX_VCPUS + 1, GUEST_PAGE_SIZE) == NULL);
	KASSERT(vm_create(1, 0) == NULL);
	KASSERT(vm_create_lazy(1, KEV_MAX_RAM + GUEST_PAGE_SIZE) == NULL);
	KASSERT(vm_create_lazy(1, ~0ULL) == NULL);
	struct vm *vm = vm_create_lazy(1, 64 << 20);
	KASSERT(vm != NULL);
	vm_destroy(vm);
}
