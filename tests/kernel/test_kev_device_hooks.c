/* Devices' registrations with a VM (kev/device_hooks.h): MSRs a device owns
 * answered by the device first (OK, #GP or stop), IA32_APIC_BASE taken from
 * kev's table, CPUID features hidden unless a hook adds them, destroy hooks
 * run once by vm_destroy, and the limits of the tables. The guest is
 * tests/guests/msr_device.S. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/vmcb.h"
#include "keos/lib/format.h"
#include <string.h>

#define MSR_DEVICE 0x40000080

struct test_device {
	uint64_t value;
	bool tried_late;
	bool late_refused;            /* a registration while the VM ran was refused */
	int destroyed;
};

static enum vm_msr_result device_msr(struct vcpu *v, uint32_t index, bool write, uint64_t *value,
                                     void *ctx)
{
	struct test_device *d = ctx;
	if (!d->tried_late) {
		d->tried_late = true;
		d->late_refused = !vm_msr_register(v->vm, MSR_DEVICE + 1, device_msr, d);
	}
	if (index == MSR_IA32_APIC_BASE) {
		if (write)
			return VM_MSR_GP;
		*value = 0x12345000;
		return VM_MSR_OK;
	}
	if (!write) {
		*value = d->value;
		return VM_MSR_OK;
	}
	switch (*value) {
	case 0xbad:
		return VM_MSR_GP;
	case 0x5700:
		vcpu_fail(v, VM_ERR_DEVICE, "test device: stop requested");
		return VM_MSR_STOP;
	case 0x5701:
		return VM_MSR_STOP;
	}
	d->value = *value;
	return VM_MSR_OK;
}

static void device_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r, void *ctx)
{
	(void)v, (void)subleaf, (void)ctx;
	if (leaf == 1)
		r->ecx |= CPUID_LEAF1_ECX_X2APIC | CPUID_LEAF1_ECX_TSC_DEADLINE;
}

static void device_destroyed(void *ctx)
{
	((struct test_device *)ctx)->destroyed++;
}

/* The msr_device guest with the device registered (or not), ending as `end` says. */
static struct vm *device_vm(struct test_device *d, bool registered, uint64_t end)
{
	memset(d, 0, sizeof(*d));
	struct vm *vm = kev_test_vm(GUEST_IMAGE(msr_device), 1);
	vm->vcpus[0]->vmcb->control.intercept_exceptions &= ~(1u << X86_EXC_GP);
	vm->vcpus[0]->state.gpr[GPR_RDI] = registered;
	vm->vcpus[0]->state.gpr[GPR_RSI] = end;
	if (registered) {
		KASSERT(vm_msr_register(vm, MSR_IA32_APIC_BASE, device_msr, d));
		KASSERT(vm_msr_register(vm, MSR_DEVICE, device_msr, d));
		KASSERT(vm_cpuid_register(vm, device_cpuid, d));
		KASSERT(vm_on_destroy(vm, device_destroyed, d));
	}
	return vm;
}

KTEST(kev_device_msrs_and_cpuid_features)
{
	struct test_device d;
	struct vm *vm = device_vm(&d, true, 0);
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	KASSERT_EQ(d.destroyed, 0);
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(d.value, 0x1122334455667788ull);
	KASSERT(d.late_refused);
	KASSERT_EQ(d.destroyed, 1);
}

KTEST(kev_device_features_hidden_without_a_device)
{
	struct test_device d;
	struct vm *vm = device_vm(&d, false, 0);
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
}

/* A device that stops the VM: its own line, or kev's when it gave none. */
static void expect_stop(uint64_t end, const char *line)
{
	struct test_device d;
	struct vm *vm = device_vm(&d, true, end);
	kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	char report[200];
	ksnprintf(report, sizeof(report), "%s", vm_report(vm));
	vm_destroy(vm);
	if (err != VM_ERR_DEVICE || !kev_contains(report, line))
		ktest_fail(__FILE__, __LINE__, "expected a device error with '%s', got %s: %s", line,
		           vm_error_name(err), report);
}

KTEST(kev_device_msr_stops_the_vm)
{
	expect_stop(1, "test device: stop requested");
	expect_stop(2, "WRMSR of MSR 0x40000080: the device stopped the VM without saying why");
}

KTEST(kev_device_registration_limits)
{
	struct test_device d = { 0 };
	struct vm *vm = vm_create(1, KEV_TEST_RAM);
	KASSERT(vm != NULL);
	KASSERT(!vm_msr_register(vm, 0x500, NULL, &d));
	for (uint32_t i = 0; i < KEV_MAX_DEVICE_MSRS; i++)
		KASSERT(vm_msr_register(vm, 0x500 + i, device_msr, &d));
	KASSERT(!vm_msr_register(vm, 0x500 + KEV_MAX_DEVICE_MSRS, device_msr, &d));   /* full */
	KASSERT(vm_msr_owner(vm, 0x500 + 3) != NULL);
	KASSERT(vm_msr_owner(vm, 0x500 + KEV_MAX_DEVICE_MSRS) == NULL);
	KASSERT(!vm_cpuid_register(vm, NULL, &d));
	for (int i = 0; i < KEV_MAX_CPUID_HOOKS; i++)
		KASSERT(vm_cpuid_register(vm, device_cpuid, &d));
	KASSERT(!vm_cpuid_register(vm, device_cpuid, &d));
	KASSERT(!vm_on_destroy(vm, NULL, &d));
	for (int i = 0; i < KEV_MAX_DESTROY_HOOKS; i++)
		KASSERT(vm_on_destroy(vm, device_destroyed, &d));
	KASSERT(!vm_on_destroy(vm, device_destroyed, &d));
	vm_destroy(vm);
	KASSERT_EQ(d.destroyed, KEV_MAX_DESTROY_HOOKS);

	vm = vm_create(1, KEV_TEST_RAM);
	KASSERT(vm != NULL);
	KASSERT(vm_msr_register(vm, 0x600, device_msr, &d));
	KASSERT(!vm_msr_register(vm, 0x600, device_msr, &d));                         /* owned */
	vm_destroy(vm);
}
