/* Instructions of CPU features kev hides or does not model: XSETBV, MONITOR,
 * MWAIT and RDPMC, each intercepted (vcpu.c's set_intercepts) so that the
 * guest gets the answer a CPU without the feature gives, never the host's.
 *
 *   XSETBV         #UD. kev's CPUID hides XSAVE and OSXSAVE, and XCR0 is not
 *                  switched between host and guest: a guest write would
 *                  change the host's.
 *   MONITOR/MWAIT  #UD. CPUID hides MONITOR; a guest must not park a host
 *                  CPU in MWAIT.
 *   RDPMC          counters are not virtualized: at CPL > 0 without CR4.PCE,
 *                  or for a counter other than the four legacy ones (ECX 0-3;
 *                  CPUID hides the extended ones), #GP(0); otherwise the
 *                  counter reads 0 (it never counts under kev). */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vmcb.h"
#include "kev/insn.h"

#define CR4_PCE (1ull << 8)
#define RDPMC_COUNTERS 4

static enum vmexit_verdict rdpmc(struct vcpu *v)
{
	uint64_t *gpr = v->state.gpr;
	bool allowed = v->vmcb->save.cpl == 0 || (v->state.cr4 & CR4_PCE);
	if (!allowed || (uint32_t)gpr[GPR_RCX] >= RDPMC_COUNTERS) {
		vcpu_inject_exception(v, X86_EXC_GP, true, 0);
		return VMEXIT_RESUME;
	}
	if (!insn_complete(v, &insn_rdpmc))
		return VMEXIT_STOP;
	gpr[GPR_RAX] = 0;
	gpr[GPR_RDX] = 0;
	return VMEXIT_RESUME;
}

static enum vmexit_verdict feature_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                          const struct exit_reason *e)
{
	(void)ctl;
	switch (e->code) {
	case SVM_EXIT_XSETBV:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
		vcpu_inject_exception(v, X86_EXC_UD, false, 0);
		return VMEXIT_RESUME;
	case SVM_EXIT_RDPMC:
		return rdpmc(v);
	default:
		return VMEXIT_PASS;
	}
}

struct vmexit_controller vmexit_feature_insn_controller = { "hidden features", feature_handle, NULL };
