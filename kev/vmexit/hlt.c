/* The HLT controller.
 *
 * kev injects no virtual interrupts yet, so a halted vCPU is woken by time
 * alone: with the guest's interrupts on (a guest idle loop, sti; hlt) the
 * vCPU sleeps one host tick and resumes after the HLT, as a spurious wake-up
 * would. With interrupts off nothing could ever wake it: that HLT is passed
 * on and, unhandled, stops the VM with a report rather than hanging it. */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/insn.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"

static enum vmexit_verdict hlt_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                      const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_HLT || !(v->state.rflags & RFLAGS_IF))
		return VMEXIT_PASS;
	if (!insn_complete(v, &insn_hlt))   /* HLT may carry prefixes */
		return VMEXIT_STOP;
	thread_sleep(1);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_hlt_controller = { "hlt", hlt_handle, NULL };
