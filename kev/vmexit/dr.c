/* The debug-register controller: MOV to and from DR0-DR7, emulated.
 *
 * The debug registers are not switched between host and guest: a guest that
 * armed a breakpoint in the hardware DR7 (DR0 = an address in the host
 * kernel, DR7 = 0x403) would make the host take #DB in its own code, and
 * under QEMU TCG the breakpoint even stays armed after #VMEXIT. So every DR
 * access exits (vcpu.c's set_intercepts), kev keeps the guest's DR0-DR3 and
 * DR7 in struct vcpu_dr, and the DR7 that VMRUN loads from the VMCB is set to
 * 0x400, which arms nothing, before every entry (dr_before_vmrun). DR6 stays
 * in the VMCB: it arms nothing, and the CPU sets its status bits there when
 * the guest takes its own #DB (a single step).
 *
 * There is no decode assist under QEMU TCG, so the instruction is decoded
 * here: 0f 21 /r is MOV r, DRn and 0f 23 /r is MOV DRn, r, after any
 * prefixes. The ModRM's mod field is ignored (the operand is always a
 * register), reg names the DR and rm the GPR (REX.R and REX.B extend them);
 * the operand is 64 bits wide in 64-bit mode and 32 bits otherwise. The
 * guest gets what the architecture defines:
 *
 *     LOCK prefix                           #UD
 *     CPL > 0                               #GP(0)
 *     DR8-DR15 (REX.R)                      #UD
 *     DR4/DR5 with CR4.DE set               #UD (without it they are DR6/DR7)
 *     a DR6 or DR7 write with bits 63:32    #GP(0)
 *
 * kev does not virtualize hardware breakpoints: a DR7 write that enables one
 * (L0-L3, G0-G3) or general detect (GD) stops the VM with one line saying so.
 * Emulating them would mean single-stepping the guest and checking every
 * access, a large and fragile piece of code for a teaching hypervisor. */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vmcb.h"
#include "kev/insn.h"

#define CR4_DE          (1ull << 3)
#define DR6_FIXED_1     0xffff0ff0ull    /* bits that always read as 1 */
#define DR6_VOLATILE    0x0000e00full    /* B0-B3, BD, BS, BT */
#define DR7_FIXED_1     0x400ull
#define DR7_VOLATILE    0xffff23ffull    /* L0-G3, LE, GE, GD, R/W and LEN fields */
#define DR7_ENABLES     0xffull          /* L0 G0 ... L3 G3 */
#define DR7_GD          (1ull << 13)

#define OP_MOV_FROM_DR  0x21
#define OP_MOV_TO_DR    0x23

void dr_before_vmrun(struct vcpu *v)
{
	v->vmcb->save.dr7 = DR7_FIXED_1;
}

/* One decoded MOV DR. */
struct dr_access {
	bool write;          /* MOV DRn, r */
	unsigned dr;         /* 0-15, as encoded */
	unsigned gpr;        /* enum gpr */
	bool wide;           /* 64-bit operand */
	bool lock;
	unsigned len;
};

/* Decodes the MOV DR at RIP; false (the VM stopped) if the bytes are not the
 * MOV DR that exited. */
static bool decode(struct vcpu *v, const struct exit_reason *e, struct dr_access *a)
{
	uint8_t bytes[INSN_MAX_LEN];
	size_t n = insn_fetch(v, bytes);
	enum insn_mode mode = insn_mode(v);
	struct insn_prefixes p;
	insn_scan_prefixes(bytes, n, mode, &p);
	bool write = e->code >= SVM_EXIT_WRITE_DR0;
	unsigned exit_dr = (unsigned)(e->code & 0xf);
	uint8_t op = write ? OP_MOV_TO_DR : OP_MOV_FROM_DR;
	if (p.len + 3 > n || bytes[p.len] != 0x0f || bytes[p.len + 1] != op ||
	    ((bytes[p.len + 2] >> 3) & 7) != (exit_dr & 7)) {
		insn_fail_changed(v, write ? "MOV to a debug register" : "MOV from a debug register",
		                  bytes, n);
		return false;
	}
	uint8_t modrm = bytes[p.len + 2];
	*a = (struct dr_access){
		.write = write,
		.dr = ((modrm >> 3) & 7) | ((p.rex & 0x4) ? 8 : 0),
		.gpr = (modrm & 7) | ((p.rex & 0x1) ? 8 : 0),
		.wide = mode == INSN_MODE_64,
		.lock = p.lock,
		.len = p.len + 3,
	};
	return true;
}

static uint64_t dr_read(struct vcpu *v, unsigned dr)
{
	if (dr < 4)
		return v->dr.db[dr];
	if (dr == 6)
		return (v->vmcb->save.dr6 & DR6_VOLATILE) | DR6_FIXED_1;
	return (v->dr.dr7 & DR7_VOLATILE) | DR7_FIXED_1;
}

/* Writes DRn (n = 0-3, 6 or 7): RESUME, or STOP after stopping the VM. The
 * caller has checked the reserved bits. */
static enum vmexit_verdict dr_write(struct vcpu *v, unsigned dr, uint64_t value)
{
	if (dr < 4) {
		v->dr.db[dr] = value;
	} else if (dr == 6) {
		v->vmcb->save.dr6 = (value & DR6_VOLATILE) | DR6_FIXED_1;
	} else if (value & (DR7_ENABLES | DR7_GD)) {
		vcpu_fail(v, VM_ERR_UNHANDLED_EXIT,
		          "kev does not virtualize hardware breakpoints: the guest wrote DR7 = 0x%lx "
		          "(enabling %s) at rip 0x%lx", value,
		          (value & DR7_ENABLES) ? "a breakpoint" : "general detect", v->state.rip);
		return VMEXIT_STOP;
	} else {
		v->dr.dr7 = value & DR7_VOLATILE;
	}
	return VMEXIT_RESUME;
}

static enum vmexit_verdict dr_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                     const struct exit_reason *e)
{
	(void)ctl;
	if (e->code < SVM_EXIT_READ_DR0 || e->code >= SVM_EXIT_WRITE_DR0 + 16)
		return VMEXIT_PASS;
	struct dr_access a;
	if (!decode(v, e, &a))
		return VMEXIT_STOP;
	unsigned dr = a.dr;
	bool de = v->state.cr4 & CR4_DE;
	if (a.lock)
		goto ud;                  /* a decoding fault comes first */
	if (v->vmcb->save.cpl > 0)
		goto gp;
	if (dr > 7 || ((dr == 4 || dr == 5) && de))
		goto ud;
	if (dr == 4 || dr == 5)
		dr += 2;                  /* aliases of DR6 and DR7 without CR4.DE */
	uint64_t *reg = &v->state.gpr[a.gpr];
	if (a.write) {
		uint64_t value = a.wide ? *reg : (uint32_t)*reg;
		if (dr >= 6 && (value >> 32))
			goto gp;
		if (dr_write(v, dr, value) == VMEXIT_STOP)
			return VMEXIT_STOP;
	} else {
		uint64_t value = dr_read(v, dr);
		*reg = a.wide ? value : (uint32_t)value;
	}
	insn_skip(v, a.len);
	return VMEXIT_RESUME;
gp:
	vcpu_inject_exception(v, X86_EXC_GP, true, 0);
	return VMEXIT_RESUME;
ud:
	vcpu_inject_exception(v, X86_EXC_UD, false, 0);
	return VMEXIT_RESUME;
}

struct vmexit_controller vmexit_dr_controller = { "debug registers", dr_handle, NULL };
