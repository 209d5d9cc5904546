/* The hypercall controller: VMMCALL (kev/hypercall.h has the interface).
 *
 * Every call returns after the VMMCALL (0f 01 d9, with any prefixes:
 * insn_length() finds its length), except KEV_HC_EXIT, which ends the VM. A
 * number kev does not know is passed on, so a controller added later in the
 * chain can define its own hypercalls; if none does, the VM stops with a
 * report naming the number.
 *
 * Hypercalls are the guest kernel's interface: from guest user mode (CPL > 0)
 * every call, known or not, is refused with KEV_HC_EPERM in RAX. */
#include "kev/vmexit.h"
#include "kev/hypercall.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/vmcb.h"
#include "kev/insn.h"

/* Bytes KEV_HC_PUTS copies per call; longer strings are cut. */
#define PUTS_MAX 256

static uint64_t hc_puts(struct vcpu *v, gva_t str, uint64_t len)
{
	char buf[PUTS_MAX];
	if (len > PUTS_MAX)
		len = PUTS_MAX;
	if (!vcpu_read_gva(v, str, buf, len))
		return (uint64_t)KEV_HC_EFAULT;
	pio_serial_write(v->vm, buf, len);
	return len;
}

static uint64_t hc_start_vcpu(struct vcpu *v, uint64_t id, uint64_t rip, uint64_t rsp)
{
	if (id >= v->vm->nvcpus)
		return (uint64_t)KEV_HC_EINVAL;
	return vm_start_vcpu(v->vm, (unsigned)id, v, rip, rsp) ? 0 : (uint64_t)KEV_HC_EINVAL;
}

static enum vmexit_verdict hypercall_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                            const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_VMMCALL)
		return VMEXIT_PASS;
	unsigned len = insn_length(v, &insn_vmmcall);
	if (!len)
		return VMEXIT_STOP;
	uint64_t *gpr = v->state.gpr;
	if (v->vmcb->save.cpl > 0) {
		gpr[GPR_RAX] = (uint64_t)KEV_HC_EPERM;
		insn_skip(v, len);
		return VMEXIT_RESUME;
	}
	uint64_t a0 = gpr[GPR_RDI], a1 = gpr[GPR_RSI], a2 = gpr[GPR_RDX], a3 = gpr[GPR_R10];
	uint64_t ret;
	switch (gpr[GPR_RAX]) {
	case KEV_HC_NOP:
		ret = 0;
		break;
	case KEV_HC_VERSION:
		ret = KEV_HC_ABI_VERSION;
		break;
	case KEV_HC_SUM:
		ret = a0 + 2 * a1 + 3 * a2 + 4 * a3;
		break;
	case KEV_HC_PUTS:
		ret = hc_puts(v, a0, a1);
		break;
	case KEV_HC_EXIT:
		v->stats.hypercalls++;
		vm_exit_with(v->vm, (int)a0);
		return VMEXIT_STOP;
	case KEV_HC_EXIT_COUNT:
		ret = v->stats.exits - v->stats.intr_exits;
		break;
	case KEV_HC_VCPU_ID:
		ret = v->id;
		break;
	case KEV_HC_START_VCPU:
		ret = hc_start_vcpu(v, a0, a1, a2);
		break;
	default:
		return VMEXIT_PASS;
	}
	v->stats.hypercalls++;
	gpr[GPR_RAX] = ret;
	insn_skip(v, len);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_hypercall_controller = { "hypercall", hypercall_handle, NULL };
