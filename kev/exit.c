/* Exit decoding and the exit-code name table.
 *
 * Under QEMU TCG there is no decode assist and no NRIP save: the VMCB's
 * next_rip and insn_bytes stay zero, so nothing here reads them. The only
 * exit that tells where the next instruction starts is IOIO (exit_info_2). */
#include "kev/exit.h"
#include "kev/vmcb.h"
#include "keos/lib/format.h"

static const char *const cr_read_names[16] = {
	"READ_CR0", "READ_CR1", "READ_CR2", "READ_CR3", "READ_CR4", "READ_CR5", "READ_CR6",
	"READ_CR7", "READ_CR8", "READ_CR9", "READ_CR10", "READ_CR11", "READ_CR12",
	"READ_CR13", "READ_CR14", "READ_CR15",
};
static const char *const cr_write_names[16] = {
	"WRITE_CR0", "WRITE_CR1", "WRITE_CR2", "WRITE_CR3", "WRITE_CR4", "WRITE_CR5",
	"WRITE_CR6", "WRITE_CR7", "WRITE_CR8", "WRITE_CR9", "WRITE_CR10", "WRITE_CR11",
	"WRITE_CR12", "WRITE_CR13", "WRITE_CR14", "WRITE_CR15",
};
static const char *const exception_names[32] = {
	"EXCP_DE", "EXCP_DB", "EXCP_NMI", "EXCP_BP", "EXCP_OF", "EXCP_BR", "EXCP_UD",
	"EXCP_NM", "EXCP_DF", "EXCP_9", "EXCP_TS", "EXCP_NP", "EXCP_SS", "EXCP_GP",
	"EXCP_PF", "EXCP_15", "EXCP_MF", "EXCP_AC", "EXCP_MC", "EXCP_XM", "EXCP_VE",
	"EXCP_CP", "EXCP_22", "EXCP_23", "EXCP_24", "EXCP_25", "EXCP_26", "EXCP_27",
	"EXCP_HV", "EXCP_VC", "EXCP_SX", "EXCP_31",
};
/* 0x060 .. 0x08f */
static const char *const misc_names[] = {
	"INTR", "NMI", "SMI", "INIT", "VINTR", "CR0_SEL_WRITE", "IDTR_READ", "GDTR_READ",
	"LDTR_READ", "TR_READ", "IDTR_WRITE", "GDTR_WRITE", "LDTR_WRITE", "TR_WRITE",
	"RDTSC", "RDPMC", "PUSHF", "POPF", "CPUID", "RSM", "IRET", "SWINT", "INVD",
	"PAUSE", "HLT", "INVLPG", "INVLPGA", "IOIO", "MSR", "TASK_SWITCH", "FERR_FREEZE",
	"SHUTDOWN", "VMRUN", "VMMCALL", "VMLOAD", "VMSAVE", "STGI", "CLGI", "SKINIT",
	"RDTSCP", "ICEBP", "WBINVD", "MONITOR", "MWAIT", "MWAIT_COND", "XSETBV", "RDPRU",
	"EFER_WRITE_TRAP",
};
_Static_assert(sizeof(misc_names) / sizeof(misc_names[0]) == 0x90 - 0x60, "misc_names");

const char *exit_code_name(uint64_t code)
{
	if (code < 0x10)
		return cr_read_names[code];
	if (code < 0x20)
		return cr_write_names[code - 0x10];
	if (code < 0x30)
		return "READ_DR";
	if (code < 0x40)
		return "WRITE_DR";
	if (code < 0x60)
		return exception_names[code - 0x40];
	if (code < 0x90)
		return misc_names[code - 0x60];
	if (code >= 0x90 && code < 0xa0)
		return "CR_WRITE_TRAP";
	switch (code) {
	case SVM_EXIT_NPF: return "NPF";
	case SVM_EXIT_AVIC_INCOMPLETE_IPI: return "AVIC_INCOMPLETE_IPI";
	case SVM_EXIT_AVIC_UNACCELERATED: return "AVIC_UNACCELERATED_ACCESS";
	case SVM_EXIT_VMGEXIT: return "VMGEXIT";
	case SVM_EXIT_INVALID: return "INVALID";
	case SVM_EXIT_BUSY: return "BUSY";
	default: return "UNKNOWN";
	}
}

void exit_decode(const struct vmcb *vmcb, struct exit_reason *out)
{
	const struct vmcb_control_area *c = &vmcb->control;
	uint64_t code = c->exit_code;
	/* QEMU stores the failure codes as 32-bit values (0xffffffff); the manual says 64-bit -1. */
	if (code == 0xffffffffull)
		code = SVM_EXIT_INVALID;
	else if (code == 0xfffffffeull)
		code = SVM_EXIT_BUSY;
	*out = (struct exit_reason){
		.code = code,
		.info1 = c->exit_info_1,
		.info2 = c->exit_info_2,
		.int_info = c->exit_int_info,
		.int_info_err = c->exit_int_info_err,
		.rip = vmcb->save.rip,
	};
	switch (out->code) {
	case SVM_EXIT_IOIO: {
		uint64_t i = out->info1;
		out->u.io.port = (uint16_t)(i >> IOIO_PORT_SHIFT);
		out->u.io.size = (i & IOIO_SZ32) ? 4 : (i & IOIO_SZ16) ? 2 : 1;
		out->u.io.in = i & IOIO_TYPE_IN;
		out->u.io.string = i & IOIO_STR;
		out->u.io.rep = i & IOIO_REP;
		out->u.io.next_rip = out->info2;
		break;
	}
	case SVM_EXIT_MSR:
		out->u.msr.write = out->info1 & 1;
		/* ECX is the guest's; the caller fills it in (exit_decode sees only the VMCB). */
		break;
	case SVM_EXIT_NPF:
		out->u.npf.gpa = out->info2;
		out->u.npf.error = out->info1;
		break;
	default:
		if (out->code >= SVM_EXIT_EXCP_BASE && out->code < SVM_EXIT_EXCP_BASE + 32) {
			out->u.exc.vector = (uint8_t)(out->code - SVM_EXIT_EXCP_BASE);
			out->u.exc.error_code = out->info1;
		}
		break;
	}
}

int exit_describe(const struct exit_reason *e, char *buf, size_t size)
{
	switch (e->code) {
	case SVM_EXIT_IOIO:
		return ksnprintf(buf, size, "port 0x%x %s %u byte%s%s%s, next rip 0x%lx",
		                 e->u.io.port, e->u.io.in ? "in" : "out", e->u.io.size,
		                 e->u.io.size == 1 ? "" : "s", e->u.io.string ? ", string" : "",
		                 e->u.io.rep ? ", rep" : "", e->u.io.next_rip);
	case SVM_EXIT_MSR:
		return ksnprintf(buf, size, "%s of MSR 0x%x", e->u.msr.write ? "WRMSR" : "RDMSR",
		                 e->u.msr.index);
	case SVM_EXIT_NPF: {
		uint64_t err = e->u.npf.error;
		return ksnprintf(buf, size, "gpa 0x%lx %s, %s%s%s", e->u.npf.gpa,
		                 err & NPF_FETCH ? "instruction fetch" : err & NPF_WRITE ? "write" : "read",
		                 err & NPF_PRESENT ? "protection violation" : "not present",
		                 err & NPF_GUEST_PT ? ", during the guest's page-table walk" : "",
		                 err & NPF_RSVD ? ", reserved bit set" : "");
	}
	default:
		if (e->code >= SVM_EXIT_EXCP_BASE && e->code < SVM_EXIT_EXCP_BASE + 32) {
			if (e->u.exc.vector == X86_EXC_PF)
				return ksnprintf(buf, size, "guest exception %u, error code 0x%lx, address 0x%lx",
				                 e->u.exc.vector, e->u.exc.error_code, e->info2);
			return ksnprintf(buf, size, "guest exception %u, error code 0x%lx",
			                 e->u.exc.vector, e->u.exc.error_code);
		}
		if (size)
			buf[0] = '\0';
		return 0;
	}
}
