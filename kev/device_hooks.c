/* Device registrations of a VM (see device_hooks.h). The tables are small
 * and read on every MSR and CPUID exit of the VM: a linear scan of at most
 * KEV_MAX_DEVICE_MSRS entries costs less than the exit itself. */
#include "kev/device_hooks.h"
#include "kev/vcpu.h"
#include "kev/vm.h"

/* Registrations are made before the VM runs; afterwards the tables are read
 * without a lock, so a late change is refused. */
static bool may_register(struct vm *vm)
{
	spin_lock(&vm->lock);
	bool ok = !vm->running;
	spin_unlock(&vm->lock);
	return ok;
}

bool vm_msr_register(struct vm *vm, uint32_t index, vm_msr_handler handle, void *ctx)
{
	struct vm_device_hooks *d = &vm->devices;
	if (!handle || !may_register(vm) || vm_msr_owner(vm, index) || d->nmsrs == KEV_MAX_DEVICE_MSRS)
		return false;
	d->msrs[d->nmsrs++] = (struct vm_msr_owner){ index, handle, ctx };
	return true;
}

const struct vm_msr_owner *vm_msr_owner(const struct vm *vm, uint32_t index)
{
	const struct vm_device_hooks *d = &vm->devices;
	for (unsigned i = 0; i < d->nmsrs; i++)
		if (d->msrs[i].index == index)
			return &d->msrs[i];
	return NULL;
}

bool vm_cpuid_register(struct vm *vm, vm_cpuid_hook fn, void *ctx)
{
	struct vm_device_hooks *d = &vm->devices;
	if (!fn || !may_register(vm) || d->ncpuid == KEV_MAX_CPUID_HOOKS)
		return false;
	d->cpuid[d->ncpuid].fn = fn;
	d->cpuid[d->ncpuid].ctx = ctx;
	d->ncpuid++;
	return true;
}

void vm_cpuid_apply(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	const struct vm_device_hooks *d = &v->vm->devices;
	if (leaf == 1)
		r->ecx &= ~(CPUID_LEAF1_ECX_X2APIC | CPUID_LEAF1_ECX_TSC_DEADLINE);
	for (unsigned i = 0; i < d->ncpuid; i++)
		d->cpuid[i].fn(v, leaf, subleaf, r, d->cpuid[i].ctx);
}

bool vm_on_destroy(struct vm *vm, vm_destroy_hook fn, void *ctx)
{
	struct vm_device_hooks *d = &vm->devices;
	if (!fn || !may_register(vm) || d->ndestroy == KEV_MAX_DESTROY_HOOKS)
		return false;
	d->destroy[d->ndestroy].fn = fn;
	d->destroy[d->ndestroy].ctx = ctx;
	d->ndestroy++;
	return true;
}

void vm_run_destroy_hooks(struct vm *vm)
{
	struct vm_device_hooks *d = &vm->devices;
	unsigned n = d->ndestroy;
	d->ndestroy = 0;
	for (unsigned i = 0; i < n; i++)
		d->destroy[i].fn(d->destroy[i].ctx);
}
