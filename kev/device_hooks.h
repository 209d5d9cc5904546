/* What devices register with a VM: the MSRs they own, the CPUID features
 * they add, and what must happen before the VM is freed.
 *
 * kev never names a device. A device (project4's x2APIC) registers here
 * before the VM runs, and kev's own code consults the registrations:
 *
 *   - the MSR controller (kev/vmexit/msr.c) offers RDMSR/WRMSR of an owned
 *     MSR to its device before its own table. The handler answers
 *       VM_MSR_OK    kev moves RIP past the instruction (a read's *value
 *                    goes to EDX:EAX);
 *       VM_MSR_GP    kev injects #GP(0) and RIP stays on the instruction,
 *                    as the CPU raises it;
 *       VM_MSR_STOP  the handler stopped the VM (vcpu_fail, one line).
 *     A device may own an MSR kev's table also has (IA32_APIC_BASE): the
 *     device's answer wins in that VM only.
 *   - the CPUID controller (kev/vmexit/cpuid.c) passes each answer through
 *     vm_cpuid_apply last: the features only a device can back (leaf 1 ECX:
 *     x2APIC, TSC-deadline) are hidden, then the VM's CPUID hooks may add
 *     them back. A VM without such a device never sees them.
 *   - vm_destroy runs the destroy hooks first, when every vCPU thread has
 *     left and before any vCPU is freed: a device cancels its timers there,
 *     so no callback can reach a freed vCPU.
 *
 * Registrations are made before vm_run and never change while the VM runs,
 * so the controllers read them without a lock. */
#ifndef KEV_DEVICE_HOOKS_H
#define KEV_DEVICE_HOOKS_H
#include "kev/types.h"
#include "keos/arch/x86.h"

struct vm;
struct vcpu;

#define KEV_MAX_DEVICE_MSRS   32
#define KEV_MAX_CPUID_HOOKS   4
#define KEV_MAX_DESTROY_HOOKS 4

/* Leaf 1 ECX bits that only a device can back (hidden unless a hook adds them). */
#define CPUID_LEAF1_ECX_X2APIC       (1u << 21)
#define CPUID_LEAF1_ECX_TSC_DEADLINE (1u << 24)

/* A device's answer to one RDMSR/WRMSR (see above). */
enum vm_msr_result {
	VM_MSR_OK,
	VM_MSR_GP,
	VM_MSR_STOP,
};

/* Handles RDMSR (write false: store the value in *value) or WRMSR (write
 * true: *value is EDX:EAX) of MSR index on vCPU v, in v's own thread. */
typedef enum vm_msr_result (*vm_msr_handler)(struct vcpu *v, uint32_t index, bool write,
                                             uint64_t *value, void *ctx);
/* Edits kev's answer *r to CPUID leaf/subleaf on vCPU v. */
typedef void (*vm_cpuid_hook)(struct vcpu *v, uint32_t leaf, uint32_t subleaf,
                              struct cpuid_regs *r, void *ctx);
/* Runs in vm_destroy before the vCPUs are freed. */
typedef void (*vm_destroy_hook)(void *ctx);

struct vm_msr_owner {
	uint32_t index;
	vm_msr_handler handle;
	void *ctx;
};

/* Part of struct vm: everything devices registered. */
struct vm_device_hooks {
	struct vm_msr_owner msrs[KEV_MAX_DEVICE_MSRS];
	unsigned nmsrs;
	struct {
		vm_cpuid_hook fn;
		void *ctx;
	} cpuid[KEV_MAX_CPUID_HOOKS];
	unsigned ncpuid;
	struct {
		vm_destroy_hook fn;
		void *ctx;
	} destroy[KEV_MAX_DESTROY_HOOKS];
	unsigned ndestroy;
};

/* Gives MSR index to handle(ctx) in vm; false if the VM runs, the MSR is already owned, or the table is full. */
bool vm_msr_register(struct vm *vm, uint32_t index, vm_msr_handler handle, void *ctx);
/* The registration of MSR index in vm, or NULL (kev's own table then answers). */
const struct vm_msr_owner *vm_msr_owner(const struct vm *vm, uint32_t index);
/* Adds a CPUID hook to vm; false if the VM runs or the hooks are full. */
bool vm_cpuid_register(struct vm *vm, vm_cpuid_hook fn, void *ctx);
/* Hides the device-backed features, then runs v's VM's CPUID hooks in order on *r. */
void vm_cpuid_apply(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r);
/* Adds a hook vm_destroy runs before freeing the vCPUs; false if the VM runs or the hooks are full. */
bool vm_on_destroy(struct vm *vm, vm_destroy_hook fn, void *ctx);
/* Runs vm's destroy hooks, each once (vm_destroy). */
void vm_run_destroy_hooks(struct vm *vm);
#endif
