/* The CPUID controller: the host's answers, edited to describe a guest.
 *
 * What changes: the hypervisor-present bit (leaf 1 ECX bit 31) is set and the
 * initial APIC ID is the vCPU's index; leaves 0x40000000.. identify kev
 * ("KeVKeVKeVKeV", hypercall ABI version). Hidden, because kev does not
 * virtualize them and a guest must get a CPU's answer for a missing feature
 * (#UD, #GP) when it uses them anyway (kev/vmexit/feature_insn.c):
 *   - SVM and VMX (leaf 0x8000000A is empty): the guest cannot use them;
 *   - XSAVE, OSXSAVE and what needs XSAVE state (AVX, FMA, F16C, AVX2,
 *     AVX-512, MPX, XOP, FMA4), leaf 0xD: XCR0 is not switched;
 *   - MONITOR/MWAIT and MONITORX/MWAITX, leaf 5: a guest must not park a
 *     host CPU;
 *   - the extended performance counters: RDPMC knows only counters 0-3;
 *   - leaf 7 beyond subleaf 0 (AVX-VNNI, AVX512-BF16 and later);
 *   - x2APIC and the TSC-deadline timer, and EFER features kev does not
 *     emulate (FFXSR, TCE).
 * Last, the VM's devices edit the answer (kev/device_hooks.h: x2APIC and
 * TSC-deadline only for a VM that has the device).
 * CPUID may carry prefixes (2e 0f a2): insn_length() finds its length. */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/hypercall.h"
#include "kev/insn.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "kev/vm.h"

#define LEAF1_ECX_MONITOR    (1u << 3)
#define LEAF1_ECX_VMX        (1u << 5)
#define LEAF1_ECX_FMA        (1u << 12)
#define LEAF1_ECX_X2APIC     (1u << 21)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_XSAVE      (1u << 26)
#define LEAF1_ECX_OSXSAVE    (1u << 27)
#define LEAF1_ECX_AVX        (1u << 28)
#define LEAF1_ECX_F16C       (1u << 29)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_ECX_HIDDEN (LEAF1_ECX_MONITOR | LEAF1_ECX_VMX | LEAF1_ECX_FMA | LEAF1_ECX_X2APIC | \
                          LEAF1_ECX_TSC_DEADLINE | \
                          LEAF1_ECX_XSAVE | LEAF1_ECX_OSXSAVE | LEAF1_ECX_AVX | LEAF1_ECX_F16C)
/* Leaf 7: AVX2 (EBX 5), MPX (EBX 14), AVX-512 F/DQ/IFMA/PF/ER/CD/BW/VL (EBX 16, 17, 21,
 * 26-28, 30, 31); AVX-512 VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ (ECX 1, 6, 11, 12, 14). */
#define LEAF7_EBX_HIDDEN 0xdc234020u
#define LEAF7_ECX_HIDDEN 0x00005842u
/* Leaf 0x80000001 ECX: SVM (2), XOP (11), FMA4 (16), TCE (17), PerfCtrExtCore (23),
 * PerfCtrExtNB (24), PerfCtrExtLLC (28), MONITORX (29); EDX: FFXSR (25). */
#define EXT1_ECX_HIDDEN  0x31830804u
#define EXT1_EDX_HIDDEN  (1u << 25)

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
	return cpuid_edit_for_guest(v, leaf, subleaf, cpuid(leaf, subleaf));
}

struct cpuid_regs cpuid_edit_for_guest(const struct vcpu *v, uint32_t leaf, uint32_t subleaf,
                                       struct cpuid_regs r)
{
	switch (leaf) {
	case 1:
		r.ecx = (r.ecx | LEAF1_ECX_HYPERVISOR) & ~LEAF1_ECX_HIDDEN;
		r.ebx = (r.ebx & 0x00ffffffu) | (v->id << 24);
		break;
	case 7:
		if (subleaf != 0) {       /* only subleaf 0 is offered (EAX = 0 below) */
			r = (struct cpuid_regs){ 0, 0, 0, 0 };
			break;
		}
		r.eax = 0;
		r.ebx &= ~LEAF7_EBX_HIDDEN;
		r.ecx &= ~LEAF7_ECX_HIDDEN;
		break;
	case 0xb:
	case 0x1f:
		r.edx = v->id;
		break;
	case 0x80000001:
		r.ecx &= ~EXT1_ECX_HIDDEN;
		r.edx &= ~EXT1_EDX_HIDDEN;
		break;
	case 5:
	case 0xd:
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
	unsigned len = insn_length(v, &insn_cpuid);
	if (!len)
		return VMEXIT_STOP;
	uint64_t *gpr = v->state.gpr;
	struct cpuid_regs r = guest_cpuid(v, (uint32_t)gpr[GPR_RAX], (uint32_t)gpr[GPR_RCX]);
	vm_cpuid_apply(v, (uint32_t)gpr[GPR_RAX], (uint32_t)gpr[GPR_RCX], &r);
	gpr[GPR_RAX] = r.eax;
	gpr[GPR_RBX] = r.ebx;
	gpr[GPR_RCX] = r.ecx;
	gpr[GPR_RDX] = r.edx;
	insn_skip(v, len);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_cpuid_controller = { "cpuid", cpuid_handle, NULL };
