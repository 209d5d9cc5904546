/* The MSR controller: a table of emulated MSRs.
 *
 * The MSR permission map (kev/svm.c) intercepts every MSR except the ones the
 * VMCB holds and VMLOAD/VMSAVE swap (FS/GS bases, syscall MSRs), so each
 * RDMSR/WRMSR of any other MSR lands here. An MSR in the table is emulated;
 * any other is passed on, and unhandled it stops the VM with a report naming
 * the MSR (a guest that needs it shows up at once instead of reading junk).
 *
 * A write the CPU would refuse gets #GP(0), as on hardware, and changes
 * nothing; so does RDMSR or WRMSR at CPL > 0:
 *   EFER       a bit other than SCE, LME, LMA, NXE (SVME included: CPUID
 *              hides SVM), or a change of LME while paging is on. LMA is the
 *              CPU's: a write keeps the current value.
 *   IA32_PAT   a byte whose memory type is reserved (2, 3, 8 and above).
 *   APIC_BASE  a reserved bit (0-7, 9, above the physical address width)
 *              or x2APIC mode (CPUID hides x2APIC). BSP is read-only.
 *   MISC_ENABLE  reads 0; writing anything else (kev models none of it).
 * An MSR a device registered (kev/device_hooks.h) goes to the device first,
 * after the CPL check. RDMSR and WRMSR may carry prefixes: insn_length()
 * finds their length. */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/vmcb.h"
#include "kev/insn.h"
#include "keos/arch/x86.h"

#define APIC_BASE_DEFAULT 0xfee00000ull
#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)
#define APIC_BASE_ENABLE  (1ull << 11)
#define CR0_PG            (1ull << 31)

enum msr_kind {
	MSR_STORE,        /* plain per-vCPU storage (msr_store[slot]) */
	MSR_EFER_REG,     /* the guest's EFER in vcpu->state, SVME hidden and kept */
	MSR_VMCB_PAT,     /* the VMCB's guest PAT */
	MSR_APIC_BASE_REG, /* msr_store[slot], reserved bits refused, BSP kept */
	MSR_ZERO,         /* reads 0; only 0 may be written */
};

struct msr_entry {
	uint32_t index;
	const char *name;
	enum msr_kind kind;
	enum msr_slot slot;   /* MSR_STORE, MSR_APIC_BASE_REG */
};

static const struct msr_entry msr_table[] = {
	{ MSR_KEV_SCRATCH0, "KEV_SCRATCH0", MSR_STORE, MSR_SLOT_SCRATCH0 },
	{ MSR_KEV_SCRATCH1, "KEV_SCRATCH1", MSR_STORE, MSR_SLOT_SCRATCH1 },
	{ MSR_IA32_APIC_BASE, "IA32_APIC_BASE", MSR_APIC_BASE_REG, MSR_SLOT_APIC_BASE },
	{ MSR_EFER, "EFER", MSR_EFER_REG, 0 },
	{ MSR_IA32_PAT, "IA32_PAT", MSR_VMCB_PAT, 0 },
	{ MSR_IA32_MISC_ENABLE, "IA32_MISC_ENABLE", MSR_ZERO, 0 },
};

/* EFER bits a guest may set: SCE, LME, LMA (the CPU's), NXE. */
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
	case MSR_STORE:
	case MSR_APIC_BASE_REG:
		return v->msr_store[m->slot];
	case MSR_EFER_REG: return v->state.efer & ~(uint64_t)EFER_SVME;
	case MSR_VMCB_PAT: return v->vmcb->save.g_pat;
	case MSR_ZERO: return 0;
	}
	return 0;
}

/* True if every byte of a PAT value is a memory type: UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7. */
static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t type = (uint8_t)(pat >> (8 * i));
		if (type == 2 || type == 3 || type >= 8)
			return false;
	}
	return true;
}

static bool efer_valid(const struct vcpu *v, uint64_t value)
{
	if (value & ~(uint64_t)EFER_GUEST_BITS)
		return false;
	bool lme_changes = (value ^ v->state.efer) & EFER_LME;
	return !(lme_changes && (v->state.cr0 & CR0_PG));
}

static bool apic_base_valid(uint64_t value)
{
	bool has_width = cpuid(0x80000000, 0).eax >= 0x80000008;
	unsigned width = has_width ? cpuid(0x80000008, 0).eax & 0xff : 36;
	uint64_t reserved = 0x2ffull | APIC_BASE_EXTD | (width < 64 ? ~0ull << width : 0);
	return !(value & reserved);
}

/* Writes value: false if the CPU would refuse it (#GP), nothing changed then. */
static bool msr_write(struct vcpu *v, const struct msr_entry *m, uint64_t value)
{
	switch (m->kind) {
	case MSR_STORE:
		v->msr_store[m->slot] = value;
		return true;
	case MSR_EFER_REG:
		if (!efer_valid(v, value))
			return false;
		v->state.efer = (value & ~(uint64_t)EFER_LMA) | (v->state.efer & EFER_LMA) | EFER_SVME;
		return true;
	case MSR_VMCB_PAT:
		if (!pat_valid(value))
			return false;
		v->vmcb->save.g_pat = value;
		return true;
	case MSR_APIC_BASE_REG:
		if (!apic_base_valid(value))
			return false;
		v->msr_store[m->slot] = (value & ~APIC_BASE_BSP) | (v->msr_store[m->slot] & APIC_BASE_BSP);
		return true;
	case MSR_ZERO:
		return value == 0;
	}
	return false;
}

/* An MSR a device owns: the device answers; kev moves RIP or injects #GP(0). */
static enum vmexit_verdict device_msr(struct vcpu *v, const struct exit_reason *e,
                                      const struct vm_msr_owner *o)
{
	uint64_t *gpr = v->state.gpr;
	bool write = e->u.msr.write;
	unsigned len = insn_length(v, write ? &insn_wrmsr : &insn_rdmsr);
	if (!len)
		return VMEXIT_STOP;
	uint64_t value = write ? (gpr[GPR_RDX] << 32) | (uint32_t)gpr[GPR_RAX] : 0;
	switch (o->handle(v, e->u.msr.index, write, &value, o->ctx)) {
	case VM_MSR_OK:
		if (!write) {
			gpr[GPR_RAX] = (uint32_t)value;
			gpr[GPR_RDX] = value >> 32;
		}
		insn_skip(v, len);
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
	if (v->vmcb->save.cpl > 0) {
		vcpu_inject_exception(v, X86_EXC_GP, true, 0);
		return VMEXIT_RESUME;
	}
	const struct vm_msr_owner *owner = vm_msr_owner(v->vm, e->u.msr.index);
	if (owner)
		return device_msr(v, e, owner);
	const struct msr_entry *m = lookup(e->u.msr.index);
	if (!m)
		return VMEXIT_PASS;
	uint64_t *gpr = v->state.gpr;
	unsigned len = insn_length(v, e->u.msr.write ? &insn_wrmsr : &insn_rdmsr);
	if (!len)
		return VMEXIT_STOP;
	if (e->u.msr.write) {
		if (!msr_write(v, m, (gpr[GPR_RDX] << 32) | (uint32_t)gpr[GPR_RAX])) {
			vcpu_inject_exception(v, X86_EXC_GP, true, 0);
			return VMEXIT_RESUME;
		}
	} else {
		uint64_t value = msr_read(v, m);
		gpr[GPR_RAX] = (uint32_t)value;
		gpr[GPR_RDX] = value >> 32;
	}
	insn_skip(v, len);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_msr_controller = { "msr", msr_handle, NULL };
