/* The exit-controller chain and the report of an exit nobody handled
 * (see vmexit.h). */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/svm.h"
#include "keos/lib/format.h"

/* Appends to a report buffer, keeping it NUL-terminated when it fills up. */
struct report {
	char *buf;
	size_t size, len;
};

static void add(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct report *r, const char *fmt, ...)
{
	if (r->len + 1 >= r->size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(r->buf + r->len, r->size - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < r->size - r->len ? (size_t)n : r->size - r->len - 1;
}

static void add_bytes_at_rip(struct report *r, struct vcpu *v)
{
	uint8_t insn[15];
	size_t n = vcpu_fetch_insn(v, insn, sizeof(insn));
	if (n == 0) {
		add(r, "\n  bytes at rip: unreadable (not mapped in the guest's or the nested page table)");
		return;
	}
	add(r, "\n  bytes at rip:");
	for (size_t i = 0; i < n; i++)
		add(r, " %02x", insn[i]);
}

static void add_registers(struct report *r, const struct vcpu_state *s)
{
	static const char *const names[GPR_COUNT] = {
		"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};
	for (int i = 0; i < GPR_COUNT; i++)
		add(r, "%s%-3s 0x%016lx", i % 4 ? "  " : "\n  ", names[i], s->gpr[i]);
	add(r, "\n  rflags 0x%lx  cr0 0x%lx  cr3 0x%lx  cr4 0x%lx  efer 0x%lx",
	    s->rflags, s->cr0, s->cr3, s->cr4, s->efer);
}

int vmexit_report(struct vcpu *v, const struct exit_reason *e, char *buf, size_t size)
{
	struct report r = { buf, size, 0 };
	if (size)
		buf[0] = '\0';
	if (e->code == SVM_EXIT_INVALID) {
		char rules[600];
		svm_explain_invalid(v->vmcb, rules, sizeof(rules));
		add(&r, "VMRUN failed with exit code INVALID (%ld) at rip 0x%lx: the VMCB breaks "
		    "the consistency checks:\n%s", (long)e->code, e->rip, rules);
		if (r.len && buf[r.len - 1] == '\n')
			buf[--r.len] = '\0';
		return (int)r.len;
	}
	add(&r, "unhandled exit 0x%lx (%s) at rip 0x%lx", e->code, exit_code_name(e->code), e->rip);
	add(&r, "\n  exit_info_1 0x%lx  exit_info_2 0x%lx  exit_int_info 0x%x",
	    e->info1, e->info2, e->int_info);
	char what[160];
	if (exit_describe(e, what, sizeof(what)) > 0)
		add(&r, "\n  %s", what);
	if (e->code == SVM_EXIT_VMMCALL)
		add(&r, "\n  hypercall number 0x%lx (rax): no controller knows it", v->state.gpr[GPR_RAX]);
	add_bytes_at_rip(&r, v);
	add_registers(&r, &v->state);
	return (int)r.len;
}

enum vm_error vmexit_unhandled_error(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_NPF: return VM_ERR_BAD_GUEST_ACCESS;
	case SVM_EXIT_SHUTDOWN: return VM_ERR_TRIPLE_FAULT;
	default: return VM_ERR_UNHANDLED_EXIT;
	}
}

enum vmexit_verdict vmexit_dispatch(struct vcpu *v, const struct exit_reason *e)
{
	struct vm *vm = v->vm;
	for (unsigned i = 0; i < vm->ncontrollers; i++) {
		struct vmexit_controller *ctl = vm->controllers[i];
		enum vmexit_verdict verdict = ctl->handle(ctl, v, e);
		if (verdict != VMEXIT_PASS)
			return verdict;
	}
	char report[KEV_REPORT_SIZE - 64];
	vmexit_report(v, e, report, sizeof(report));
	vcpu_fail(v, vmexit_unhandled_error(e->code), "%s", report);
	return VMEXIT_STOP;
}
