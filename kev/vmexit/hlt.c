/* The HLT controller.
 *
 * With the guest's interrupts on (an idle loop: sti; hlt), the vCPU's thread
 * moves RIP past the HLT and sleeps until an interrupt can be delivered, the
 * VM stops or its deadline passes (vcpu_halt): no spinning, no polling. The
 * next entry then injects the interrupt, as a CPU leaving HLT does.
 *
 * With interrupts off nothing can ever wake the vCPU (kev has no NMI to
 * give it): the VM stops with one line naming the place, rather than
 * hanging until its deadline. */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/insn.h"
#include "keos/arch/x86.h"

static enum vmexit_verdict hlt_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                      const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_HLT)
		return VMEXIT_PASS;
	if (!(v->state.rflags & RFLAGS_IF)) {
		char where[96];
		vm_describe_rip(v->vm, e->rip, where, sizeof(where));
		vcpu_fail(v, VM_ERR_UNHANDLED_EXIT,
		          "HLT with interrupts disabled at rip 0x%lx%s: nothing can wake this vCPU",
		          e->rip, where);
		return VMEXIT_STOP;
	}
	if (!insn_complete(v, &insn_hlt))   /* HLT may carry prefixes */
		return VMEXIT_STOP;
	vcpu_halt(v);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_hlt_controller = { "hlt", hlt_handle, NULL };
