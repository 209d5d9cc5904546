/* The MSR controller: a table of emulated MSRs.
 *
 * The MSR permission map (kev/svm.c) intercepts every MSR except the ones the
 * VMCB holds and VMLOAD/VMSAVE swap (FS/GS bases, syscall MSRs), so each
 * RDMSR/WRMSR of any other MSR lands here. An MSR in the table is emulated;
 * any other is passed on, and unhandled it stops the VM with a report naming
 * the MSR (a guest that needs it shows up at once instead of reading junk).
 * An MSR a device registered (kev/device_hooks.h) goes to the device first.
 * RDMSR and WRMSR are 2 bytes long (0f 32, 0f 30). */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/vmcb.h"
#include "keos/arch/x86.h"

#define APIC_BASE_DEFAULT 0xfee00000ull
#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_ENABLE  (1ull << 11)

enum msr_kind {
	MSR_STORE,        /* plain per-vCPU storage (msr_store[slot]) */
	MSR_EFER_REG,     /* the guest's EFER in vcpu->state, SVME hidden and kept */
	MSR_VMCB_PAT,     /* the VMCB's guest PAT */
	MSR_ZERO,         /* reads 0, writes ignored */
};

struct msr_entry {
	uint32_t index;
	const char *name;
	enum msr_kind kind;
	enum msr_slot slot;   /* MSR_STORE */
};

static const struct msr_entry msr_table[] = {
	{ MSR_KEV_SCRATCH0, "KEV_SCRATCH0", MSR_STORE, MSR_SLOT_SCRATCH0 },
	{ MSR_KEV_SCRATCH1, "KEV_SCRATCH1", MSR_STORE, MSR_SLOT_SCRATCH1 },
	{ MSR_IA32_APIC_BASE, "IA32_APIC_BASE", MSR_STORE, MSR_SLOT_APIC_BASE },
	{ MSR_EFER, "EFER", MSR_EFER_REG, 0 },
	{ MSR_IA32_PAT, "IA32_PAT", MSR_VMCB_PAT, 0 },
	{ MSR_IA32_MISC_ENABLE, "IA32_MISC_ENABLE", MSR_ZERO, 0 },
};

/* EFER bits a guest may set: SCE, LME, LMA (hardware-owned), NXE. */
#define EFER_GUEST_BITS (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

void msr_vcpu_init(struct vcpu *v)
{
	v->msr_store[MSR_SLOT_SCRATCH0] = 0;
	v->msr_store[MSR_SLOT_SCRATCH1] = 0;
	v->msr_store[MSR_SLOT_APIC_BASE] = APIC_BASE_DEFAULT | APIC_BASE_ENABLE |
	                                   (v->id == 0 ? APIC_BASE_BSP : 0);
}

static const struct msr_entry *lookup(uint32_t index)
{
	for (size_t i = 0; i < sizeof(msr_table) / sizeof(msr_table[0]); i++)
		if (msr_table[i].index == index)
			return &msr_table[i];
	return NULL;
}

static uint64_t msr_read(struct vcpu *v, const struct msr_entry *m)
{
	switch (m->kind) {
	case MSR_STORE: return v->msr_store[m->slot];
	case MSR_EFER_REG: return v->state.efer & ~(uint64_t)EFER_SVME;
	case MSR_VMCB_PAT: return v->vmcb->save.g_pat;
	case MSR_ZERO: return 0;
	}
	return 0;
}

static void msr_write(struct vcpu *v, const struct msr_entry *m, uint64_t value)
{
	switch (m->kind) {
	case MSR_STORE:
		v->msr_store[m->slot] = value;
		break;
	case MSR_EFER_REG:
		/* LMA follows CR0.PG and LME (the hardware sets it); keep the current one. */
		v->state.efer = (value & EFER_GUEST_BITS & ~(uint64_t)EFER_LMA) |
		                (v->state.efer & EFER_LMA) | EFER_SVME;
		break;
	case MSR_VMCB_PAT:
		v->vmcb->save.g_pat = value;
		break;
	case MSR_ZERO:
		break;
	}
}

/* An MSR a device owns: the device answers; kev moves RIP or injects #GP(0). */
static enum vmexit_verdict device_msr(struct vcpu *v, const struct exit_reason *e,
                                      const struct vm_msr_owner *o)
{
	uint64_t *gpr = v->state.gpr;
	bool write = e->u.msr.write;
	uint64_t value = write ? (gpr[GPR_RDX] << 32) | (uint32_t)gpr[GPR_RAX] : 0;
	switch (o->handle(v, e->u.msr.index, write, &value, o->ctx)) {
	case VM_MSR_OK:
		if (!write) {
			gpr[GPR_RAX] = (uint32_t)value;
			gpr[GPR_RDX] = value >> 32;
		}
		vcpu_skip(v, write ? INSN_LEN_WRMSR : INSN_LEN_RDMSR);
		return VMEXIT_RESUME;
	case VM_MSR_GP:
		vcpu_inject_exception(v, X86_EXC_GP, true, 0);
		return VMEXIT_RESUME;
	case VM_MSR_STOP:
		break;
	}
	if (!vm_stopping(v->vm))
		vcpu_fail(v, VM_ERR_DEVICE, "%s of MSR %#x: the device stopped the VM without saying why",
		          write ? "WRMSR" : "RDMSR", e->u.msr.index);
	return VMEXIT_STOP;
}

static enum vmexit_verdict msr_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                      const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_MSR)
		return VMEXIT_PASS;
	const struct vm_msr_owner *owner = vm_msr_owner(v->vm, e->u.msr.index);
	if (owner)
		return device_msr(v, e, owner);
	const struct msr_entry *m = lookup(e->u.msr.index);
	if (!m)
		return VMEXIT_PASS;
	uint64_t *gpr = v->state.gpr;
	if (e->u.msr.write) {
		msr_write(v, m, (gpr[GPR_RDX] << 32) | (uint32_t)gpr[GPR_RAX]);
		vcpu_skip(v, INSN_LEN_WRMSR);
	} else {
		uint64_t value = msr_read(v, m);
		gpr[GPR_RAX] = (uint32_t)value;
		gpr[GPR_RDX] = value >> 32;
		vcpu_skip(v, INSN_LEN_RDMSR);
	}
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_msr_controller = { "msr", msr_handle, NULL };
