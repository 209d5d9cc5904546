/* The CPUID controller: the host's answers, edited to describe a guest.
 *
 * What changes: the hypervisor-present bit (leaf 1 ECX bit 31) is set and the
 * initial APIC ID is the vCPU's index; SVM is hidden (leaf 0x80000001 ECX
 * bit 2, leaf 0x8000000A empty) since the guest cannot use it; leaves
 * 0x40000000.. identify kev ("KeVKeVKeVKeV", hypercall ABI version). Last,
 * the VM's devices edit the answer (kev/device_hooks.h: x2APIC and
 * TSC-deadline only for a VM with the device). CPUID is always 2 bytes (0f a2). */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/hypercall.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "kev/vm.h"

#define LEAF1_ECX_VMX        (1u << 5)
#define LEAF1_ECX_X2APIC     (1u << 21)
#define LEAF1_ECX_HYPERVISOR (1u << 31)

_Static_assert(sizeof(KEV_CPUID_SIGNATURE) == 13, "the signature fills EBX, ECX, EDX");

static struct cpuid_regs guest_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
		switch (leaf) {
		case 0x40000000:
			return (struct cpuid_regs){ 0x40000001, KEV_CPUID_SIG_EBX, KEV_CPUID_SIG_ECX,
			                            KEV_CPUID_SIG_EDX };
		case 0x40000001:
			return (struct cpuid_regs){ KEV_HC_ABI_VERSION, v->vm->nvcpus, tsc_khz(), 0 };
		default:
			return (struct cpuid_regs){ 0, 0, 0, 0 };
		}
	}
	struct cpuid_regs r = cpuid(leaf, subleaf);
	switch (leaf) {
	case 1:
		r.ecx = (r.ecx | LEAF1_ECX_HYPERVISOR) & ~(LEAF1_ECX_VMX | LEAF1_ECX_X2APIC);
		r.ebx = (r.ebx & 0x00ffffffu) | (v->id << 24);
		break;
	case 0xb:
	case 0x1f:
		r.edx = v->id;
		break;
	case 0x80000001:
		r.ecx &= ~(1u << 2);      /* SVM */
		break;
	case 0x8000000a:
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	}
	return r;
}

static enum vmexit_verdict cpuid_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                        const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_CPUID)
		return VMEXIT_PASS;
	uint64_t *gpr = v->state.gpr;
	struct cpuid_regs r = guest_cpuid(v, (uint32_t)gpr[GPR_RAX], (uint32_t)gpr[GPR_RCX]);
	vm_cpuid_apply(v, (uint32_t)gpr[GPR_RAX], (uint32_t)gpr[GPR_RCX], &r);
	gpr[GPR_RAX] = r.eax;
	gpr[GPR_RBX] = r.ebx;
	gpr[GPR_RCX] = r.ecx;
	gpr[GPR_RDX] = r.edx;
	vcpu_skip(v, INSN_LEN_CPUID);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_cpuid_controller = { "cpuid", cpuid_handle, NULL };
