/* kev against hostile guests (tests/guests/hostile_*.S).
 *
 * Each test proves three things: the host survives (the test ends, and no
 * host exception fails it), the guest got the architecture's answer (it
 * checks its own exceptions and exits 0, or names the failed check) or the
 * VM stopped with the right error, and the next VM on the same machine runs
 * cleanly (kev_run_next_vm_clean). Where QEMU gives a guest the answer
 * itself before kev's intercept (an instruction of a feature its CPU model
 * lacks, a privilege check), a second test calls kev's controller directly
 * with the exit, so kev's own answer is checked too. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/exit.h"
#include "kev/hypercall.h"
#include "kev/insn.h"
#include "kev/probe.h"
#include "kev/vmcb.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/thread/thread.h"
#include "project3/mmio.h"
#include <string.h>

#define EXC(vector) (EVENT_VALID | EVENT_TYPE_EXCEPT | (vector))
#define EXC_ERR(vector) (EXC(vector) | EVENT_ERROR_VALID)

/* Runs vm to its end; returns the status, *err the error, report a copy of the report. */
static int run(struct vm *vm, enum vm_error *err, char *report, size_t size)
{
	int status = kev_test_run(vm);
	*err = vm_error(vm);
	ksnprintf(report, size, "%s", vm_report(vm));
	return status;
}

/* Fails the test unless a guest that checks its own answers exited 0 without an error. */
static void expect_clean_exit(const char *name, enum vm_error err, const char *report, int status)
{
	if (err != VM_ERR_NONE)
		ktest_fail(__FILE__, __LINE__, "%s: the VM stopped with '%s': %s", name,
		           vm_error_name(err), report);
	if (status >= 200 && status < 232)
		ktest_fail(__FILE__, __LINE__, "%s: the guest took exception %d, which it did not expect",
		           name, status - 200);
	if (status != 0)
		ktest_fail(__FILE__, __LINE__, "%s: the guest's check %d failed (see its source)", name,
		           status);
}

/* Runs a guest that checks its own answers: it must exit 0 without an error. */
static void run_checking_guest(struct vm *vm, const char *name)
{
	char report[KEV_REPORT_SIZE];
	enum vm_error err;
	int status = run(vm, &err, report, sizeof(report));
	vm_destroy(vm);
	expect_clean_exit(name, err, report, status);
}

static void next_vm_clean(void)
{
	vm_destroy(kev_run_next_vm_clean());
}

static uint64_t host_dr7(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

/* --- debug registers ------------------------------------------------------------- */

/* The guest from the security review: DR0 = a host kernel function that every
 * exit runs, DR7 = 0x403 (or general detect), then an exit. The VM stops at
 * the DR7 write; the hardware DR7 never arms anything; the next VM runs
 * through exit_decode unharmed (an armed breakpoint there would fail this
 * test with a host #DB). */
KTEST(kev_hostile_dr_breakpoint_on_host_code)
{
	static const uint64_t dr7_values[] = { 0x403, 0x2400 };
	for (size_t i = 0; i < 2; i++) {
		struct vm *vm = kev_test_vm(GUEST_IMAGE(hostile_dr_breakpoint), 1);
		vm->vcpus[0]->state.gpr[GPR_RDI] = (uint64_t)exit_decode;
		vm->vcpus[0]->state.gpr[GPR_RSI] = dr7_values[i];
		char report[KEV_REPORT_SIZE], expect[64];
		enum vm_error err;
		run(vm, &err, report, sizeof(report));
		uint64_t vmcb_dr7 = vm->vcpus[0]->vmcb->save.dr7;
		uint64_t guest_dr0 = vm->vcpus[0]->dr.db[0];
		vm_destroy(vm);
		KASSERT_EQ(err, VM_ERR_UNHANDLED_EXIT);
		KASSERT(kev_contains(report, "kev does not virtualize hardware breakpoints"));
		ksnprintf(expect, sizeof(expect), "DR7 = 0x%lx", dr7_values[i]);
		KASSERT(kev_contains(report, expect));
		KASSERT(!kev_contains(report, "\n"));              /* one line */
		KASSERT_EQ(vmcb_dr7, 0x400);
		KASSERT_EQ(guest_dr0, (uint64_t)exit_decode);      /* kept, never loaded */
		KASSERT_EQ(host_dr7() & 0x20ff, 0);                 /* no enable bit, no GD */
		next_vm_clean();
	}
}

/* Whatever the VMCB held, the DR7 that VMRUN loads arms nothing. */
KTEST(kev_hostile_vmcb_dr7_never_armed)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	vm->vcpus[0]->vmcb->save.dr7 = 0x403;
	char report[KEV_REPORT_SIZE];
	enum vm_error err;
	int status = run(vm, &err, report, sizeof(report));
	uint64_t dr7 = vm->vcpus[0]->vmcb->save.dr7;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(dr7, 0x400);
	KASSERT_EQ(host_dr7() & 0x20ff, 0);
	next_vm_clean();
}

KTEST(kev_hostile_dr_architecture)
{
	run_checking_guest(kev_test_vm_own_idt(GUEST_IMAGE(hostile_dr)), "hostile_dr");
	KASSERT_EQ(host_dr7() & 0x20ff, 0);
	next_vm_clean();
}

/* --- calling kev's controllers directly, for what QEMU answers first ----------- */

#define AT_GPA 0x20000

/* A flat VM whose vCPU 0 stands in front of a copy of bytes at AT_GPA, in
 * 64-bit mode at CPL 0, for calling the controllers without a VMRUN. */
static struct vm *vm_at(const void *bytes, size_t n)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	if (!probe_write(&vm->probe, AT_GPA, bytes, n)) {
		vm_destroy(vm);
		ktest_fail(__FILE__, __LINE__, "cannot place the instruction bytes");
	}
	vm->vcpus[0]->state.rip = AT_GPA;
	return vm;
}

static enum vmexit_verdict dispatch(struct vm *vm, uint64_t code)
{
	struct vcpu *v = vm->vcpus[0];
	struct exit_reason e = { .code = code, .rip = v->state.rip };
	if (code == SVM_EXIT_MSR)
		e.u.msr.index = (uint32_t)v->state.gpr[GPR_RCX];
	v->vmcb->control.event_inj = 0;
	return vmexit_dispatch(v, &e);
}

/* Sets the U bit on the flat map's entries for AT_GPA, so that a CPL 3
 * vCPU may fetch the instruction there (as it must have, to execute it). */
static void allow_user_fetch(struct vm *vm)
{
	const gpa_t entries[] = { KEV_FLAT_PML4_GPA, KEV_FLAT_PDPT_GPA,
	                          KEV_FLAT_PD_GPA + (AT_GPA >> 21) * 8 };
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		uint64_t e;
		KASSERT(probe_read(&vm->probe, entries[i], &e, sizeof(e)));
		e |= 4;
		KASSERT(probe_write(&vm->probe, entries[i], &e, sizeof(e)));
	}
}

/* Dispatches code to a vCPU in front of bytes; returns the injected event
 * (0: none) and checks that RIP stayed on the instruction. */
static uint32_t injected(const void *bytes, size_t n, uint64_t code, uint8_t cpl)
{
	struct vm *vm = vm_at(bytes, n);
	vm->vcpus[0]->vmcb->save.cpl = cpl;
	if (cpl > 0)
		allow_user_fetch(vm);
	enum vmexit_verdict verdict = dispatch(vm, code);
	uint32_t event = vm->vcpus[0]->vmcb->control.event_inj;
	uint32_t err = vm->vcpus[0]->vmcb->control.event_inj_err;
	uint64_t rip = vm->vcpus[0]->state.rip;
	vm_destroy(vm);
	KASSERT_EQ(verdict, VMEXIT_RESUME);
	KASSERT_EQ(rip, AT_GPA);       /* a fault: the instruction did not complete */
	KASSERT_EQ(err, 0);
	return event;
}

KTEST(kev_hostile_dispatch_hidden_features_ud)
{
	static const uint8_t xsetbv[] = { 0x0f, 0x01, 0xd1 }, monitor[] = { 0x0f, 0x01, 0xc8 },
	                     mwait[] = { 0x0f, 0x01, 0xc9 };
	KASSERT_EQ(injected(xsetbv, 3, SVM_EXIT_XSETBV, 0), EXC(X86_EXC_UD));
	KASSERT_EQ(injected(monitor, 3, SVM_EXIT_MONITOR, 0), EXC(X86_EXC_UD));
	KASSERT_EQ(injected(mwait, 3, SVM_EXIT_MWAIT, 0), EXC(X86_EXC_UD));
	KASSERT_EQ(injected(mwait, 3, SVM_EXIT_MWAIT_COND, 0), EXC(X86_EXC_UD));
	static const uint8_t rdpmc[] = { 0x0f, 0x33 };
	KASSERT_EQ(injected(rdpmc, 2, SVM_EXIT_RDPMC, 3), EXC_ERR(X86_EXC_GP));   /* CPL 3, no PCE */
	/* The intercepts are what makes these exits exist at all. */
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	const struct vmcb_control_area *c = &vm->vcpus[0]->vmcb->control;
	uint32_t misc1 = c->intercept_misc1, misc2 = c->intercept_misc2, dr = c->intercept_dr;
	vm_destroy(vm);
	KASSERT(misc1 & INTERCEPT1_RDPMC);
	KASSERT((misc2 & (INTERCEPT2_XSETBV | INTERCEPT2_MONITOR | INTERCEPT2_MWAIT |
	                  INTERCEPT2_MWAIT_COND)) == (INTERCEPT2_XSETBV | INTERCEPT2_MONITOR |
	                                              INTERCEPT2_MWAIT | INTERCEPT2_MWAIT_COND));
	KASSERT_EQ(dr, 0xffffffffu);
	next_vm_clean();
}

KTEST(kev_hostile_dispatch_dr_faults)
{
	static const uint8_t mov_dr7[] = { 0x0f, 0x21, 0xf8 };          /* mov %dr7, %rax */
	static const uint8_t mov_dr8[] = { 0x44, 0x0f, 0x21, 0xc0 };    /* REX.R: DR8 */
	static const uint8_t lock_dr0[] = { 0xf0, 0x0f, 0x23, 0xc0 };
	KASSERT_EQ(injected(mov_dr7, 3, SVM_EXIT_READ_DR0 + 7, 3), EXC_ERR(X86_EXC_GP));
	KASSERT_EQ(injected(mov_dr8, 4, SVM_EXIT_READ_DR0 + 0, 0), EXC(X86_EXC_UD));
	KASSERT_EQ(injected(mov_dr8, 4, SVM_EXIT_READ_DR0 + 0, 3), EXC_ERR(X86_EXC_GP));
	KASSERT_EQ(injected(lock_dr0, 4, SVM_EXIT_WRITE_DR0 + 0, 0), EXC(X86_EXC_UD));
	static const uint8_t rdmsr[] = { 0x0f, 0x32 };
	KASSERT_EQ(injected(rdmsr, 2, SVM_EXIT_MSR, 3), EXC_ERR(X86_EXC_GP));   /* CPL 3 */
	next_vm_clean();
}

/* Runs one exit at bytes; returns the VM's error and copies its report. */
static enum vm_error stops(const void *bytes, size_t n, uint64_t code, char *report, size_t size)
{
	struct vm *vm = vm_at(bytes, n);
	enum vmexit_verdict verdict = dispatch(vm, code);
	enum vm_error err = vm_error(vm);
	ksnprintf(report, size, "%s", vm_report(vm));
	vm_destroy(vm);
	KASSERT_EQ(verdict, VMEXIT_STOP);
	return err;
}

/* Bytes at RIP that are not the instruction that exited: the guest rewrote
 * its code (or its page tables) under the exit. kev stops with one line. */
KTEST(kev_hostile_changed_instruction_stops_vm)
{
	char report[KEV_REPORT_SIZE];
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	KASSERT_EQ(stops(ud2, 2, SVM_EXIT_CPUID, report, sizeof(report)), VM_ERR_DECODE);
	KASSERT(kev_contains(report, "(0f 0b 00"));
	KASSERT(kev_contains(report, "are not the CPUID that exited: the guest changed its code"));
	KASSERT(!kev_contains(report, "\n"));
	KASSERT_EQ(stops(ud2, 2, SVM_EXIT_VMMCALL, report, sizeof(report)), VM_ERR_DECODE);
	KASSERT(kev_contains(report, "are not the VMMCALL that exited"));
	static const uint8_t mov_dr1[] = { 0x0f, 0x21, 0xc8 };          /* mov %dr1, %rax */
	KASSERT_EQ(stops(mov_dr1, 3, SVM_EXIT_READ_DR0 + 7, report, sizeof(report)), VM_ERR_DECODE);
	KASSERT(kev_contains(report, "not the MOV from a debug register that exited"));
	KASSERT_EQ(stops(mov_dr1, 3, SVM_EXIT_WRITE_DR0 + 1, report, sizeof(report)), VM_ERR_DECODE);
	static const uint8_t prefixes[INSN_MAX_LEN] = { 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	                                                0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x0f };
	KASSERT_EQ(stops(prefixes, sizeof(prefixes), SVM_EXIT_CPUID, report, sizeof(report)),
	           VM_ERR_DECODE);                                   /* longer than 15 bytes */
	next_vm_clean();
}

/* The code segment's mode: 40 is INC outside 64-bit mode, and RIP wraps at
 * 16 bits in a 16-bit segment (whose base the fetch adds). */
KTEST(kev_hostile_insn_length_follows_the_code_segment)
{
	static const uint8_t rex_cpuid[] = { 0x40, 0x0f, 0xa2 };
	struct vm *vm = vm_at(rex_cpuid, sizeof(rex_cpuid));
	enum vmexit_verdict in64 = dispatch(vm, SVM_EXIT_CPUID);
	uint64_t rip64 = vm->vcpus[0]->state.rip;
	vm_destroy(vm);
	KASSERT_EQ(in64, VMEXIT_RESUME);
	KASSERT_EQ(rip64, AT_GPA + 3);

	char report[KEV_REPORT_SIZE];
	vm = vm_at(rex_cpuid, sizeof(rex_cpuid));
	vm->vcpus[0]->vmcb->save.cs.attrib = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb) | SEG_ATTR_DB;
	enum vmexit_verdict in32 = dispatch(vm, SVM_EXIT_CPUID);
	enum vm_error err32 = vm_error(vm);
	vm_destroy(vm);
	KASSERT_EQ(in32, VMEXIT_STOP);             /* "inc %eax; cpuid" cannot exit at the inc */
	KASSERT_EQ(err32, VM_ERR_DECODE);

	static const uint8_t cs_cpuid[] = { 0x2e, 0x0f, 0xa2 };
	vm = vm_at(cs_cpuid, sizeof(cs_cpuid));
	struct vcpu *v = vm->vcpus[0];
	v->vmcb->save.cs = (struct vmcb_seg){ 0x30, SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb), 0xffff,
	                                      AT_GPA - 0xfffd };
	v->state.rip = 0xfffd;                    /* the last three bytes of the segment */
	enum vmexit_verdict in16 = dispatch(vm, SVM_EXIT_CPUID);
	uint64_t rip16 = v->state.rip;
	ksnprintf(report, sizeof(report), "%s", vm_report(vm));
	vm_destroy(vm);
	if (in16 != VMEXIT_RESUME)
		ktest_fail(__FILE__, __LINE__, "16-bit CPUID not completed: %s", report);
	KASSERT_EQ(rip16, 0);                      /* IP wrapped, not 0x10000 */
	next_vm_clean();
}

/* --- a software interrupt whose delivery exits (delivered once) ------------------ */

#define INT_STACK_PAGE 0x80000

struct int_once {
	struct vmexit_controller ctl;
	void *page;              /* the stack page, out of the nested table */
	unsigned faults;
	uint32_t int_info;       /* the event the fault interrupted */
};

/* Puts the stack page back on the guest's first fault on it. */
static enum vmexit_verdict int_once_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                           const struct exit_reason *e)
{
	struct int_once *t = ctl->priv;
	if (e->code != SVM_EXIT_NPF || (e->u.npf.gpa & ~0xfffull) != INT_STACK_PAGE)
		return VMEXIT_PASS;
	t->faults++;
	t->int_info = e->int_info;
	if (vm_npt_map(v->vm, INT_STACK_PAGE, t->page, EPT_PERM_RWX) != EPT_OK) {
		vcpu_fail(v, VM_ERR_NO_MEMORY, "cannot map the stack page back");
		return VMEXIT_STOP;
	}
	return VMEXIT_RESUME;
}

KTEST(kev_hostile_int_delivered_once)
{
	struct vm *vm = kev_test_vm_own_idt(GUEST_IMAGE(hostile_int_once));
	struct int_once t = { .ctl = { "int once", int_once_handle, &t } };
	KASSERT(vm_add_controller(vm, &t.ctl));
	KASSERT_EQ(vm_npt_unmap(vm, INT_STACK_PAGE, &t.page), EPT_OK);
	char report[KEV_REPORT_SIZE];
	enum vm_error err;
	int status = run(vm, &err, report, sizeof(report));
	vm_destroy(vm);        /* frees the page too: it is still RAM page 0x80 */
	if (err != VM_ERR_NONE)
		ktest_fail(__FILE__, __LINE__, "the VM stopped: %s", report);
	KASSERT_EQ(t.faults, 1);
	KASSERT_EQ(t.int_info, EVENT_VALID | EVENT_TYPE_SOFT | 0x40);   /* the path under test */
	if (status != 0)
		ktest_fail(__FILE__, __LINE__, "the INT 0x40 handler ran %d times, not once", status >> 8);
	next_vm_clean();
}

/* --- architectural errors and instruction lengths -------------------------------- */

KTEST(kev_hostile_msr_writes_refused)
{
	run_checking_guest(kev_test_vm_own_idt(GUEST_IMAGE(hostile_msr)), "hostile_msr");
	next_vm_clean();
}

/* Raises vector 0x40 whenever the guest's vCPU halts, until the VM ends:
 * the interrupt that lets the guest's prefixed HLT resume. */
static void wake_halted(void *arg)
{
	struct vm *vm = arg;
	while (!vm_stopping(vm)) {
		if (__atomic_load_n(&vm->vcpus[0]->run_state, __ATOMIC_SEQ_CST) == VCPU_HALTED)
			vcpu_raise_interrupt(vm->vcpus[0], 0x40);
		thread_yield();
	}
}

KTEST(kev_hostile_prefixed_instructions)
{
	struct vm *vm = kev_test_vm_own_idt(GUEST_IMAGE(hostile_prefix));
	struct thread *waker = thread_create("hlt-waker", wake_halted, vm);
	KASSERT(waker != NULL);
	char report[KEV_REPORT_SIZE];
	enum vm_error err;
	int status = run(vm, &err, report, sizeof(report));
	thread_join(waker);
	vm_destroy(vm);
	expect_clean_exit("hostile_prefix", err, report, status);
	next_vm_clean();
}

/* --- hardening ------------------------------------------------------------------------ */

KTEST(kev_hostile_user_mode_refused)
{
	for (uint64_t pce = 0; pce < 2; pce++) {
		struct vm *vm = kev_test_vm_own_idt(GUEST_IMAGE(hostile_user));
		vm->vcpus[0]->state.gpr[GPR_RDI] = pce;
		char report[KEV_REPORT_SIZE];
		enum vm_error err;
		int status = run(vm, &err, report, sizeof(report));
		size_t printed;
		vm_console(vm, &printed);
		vm_destroy(vm);
		if (err != VM_ERR_NONE)
			ktest_fail(__FILE__, __LINE__, "the VM stopped (CR4.PCE %lu): %s", pce, report);
		if (status != 0)
			ktest_fail(__FILE__, __LINE__, "hostile_user (CR4.PCE %lu): check %d failed", pce,
			           status);
		KASSERT_EQ(printed, 0);               /* PUTS from user mode printed nothing */
	}
	next_vm_clean();
}

/* CPUID's edits on a host that offers everything (all bits set): what kev
 * does not virtualize is hidden, whatever CPU model QEMU runs. */
KTEST(kev_hostile_cpuid_hides_features)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 2);
	const struct vcpu *v = vm->vcpus[1];
	const struct cpuid_regs all = { ~0u, ~0u, ~0u, ~0u };
	struct cpuid_regs l1 = cpuid_edit_for_guest(v, 1, 0, all);
	struct cpuid_regs l7 = cpuid_edit_for_guest(v, 7, 0, all);
	struct cpuid_regs l7s1 = cpuid_edit_for_guest(v, 7, 1, all);
	struct cpuid_regs l5 = cpuid_edit_for_guest(v, 5, 0, all);
	struct cpuid_regs ld = cpuid_edit_for_guest(v, 0xd, 0, all);
	struct cpuid_regs e1 = cpuid_edit_for_guest(v, 0x80000001, 0, all);
	struct cpuid_regs ea = cpuid_edit_for_guest(v, 0x8000000a, 0, all);
	struct cpuid_regs l2 = cpuid_edit_for_guest(v, 2, 0, all);
	vm_destroy(vm);
	/* leaf 1 ECX: MONITOR 3, VMX 5, FMA 12, x2APIC 21, TSC-deadline 24, XSAVE 26, OSXSAVE 27,
	 * AVX 28, F16C 29 (a device may add back x2APIC and TSC-deadline: kev/device_hooks.h) */
	KASSERT_EQ(l1.ecx, ~0u & ~((1u << 3) | (1u << 5) | (1u << 12) | (1u << 21) | (1u << 24) | (1u << 26) |
	                           (1u << 27) | (1u << 28) | (1u << 29)));
	KASSERT_EQ(l1.ebx >> 24, 1);                     /* the initial APIC ID: vCPU 1 */
	KASSERT_EQ(l7.eax, 0);                           /* no subleaf past 0 */
	/* leaf 7 EBX: AVX2 5, MPX 14, AVX-512 F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31 */
	KASSERT_EQ(l7.ebx & ((1u << 5) | (1u << 14) | (1u << 16) | (1u << 17) | (1u << 21) |
	                     (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31)), 0);
	KASSERT_EQ(l7.ecx & ((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14)), 0);
	KASSERT_EQ(l7.ebx & (1u << 0), 1);               /* FSGSBASE stays */
	KASSERT_EQ(l7s1.eax | l7s1.ebx | l7s1.ecx | l7s1.edx, 0);
	KASSERT_EQ(l5.eax | l5.ebx | l5.ecx | l5.edx, 0);
	KASSERT_EQ(ld.eax | ld.ebx | ld.ecx | ld.edx, 0);
	KASSERT_EQ(ea.eax | ea.ebx | ea.ecx | ea.edx, 0);
	/* 0x80000001 ECX: SVM 2, XOP 11, FMA4 16, TCE 17, PerfCtrExtCore 23, NB 24, LLC 28, MONITORX 29 */
	KASSERT_EQ(e1.ecx & ((1u << 2) | (1u << 11) | (1u << 16) | (1u << 17) | (1u << 23) |
	                     (1u << 24) | (1u << 28) | (1u << 29)), 0);
	KASSERT_EQ(e1.edx & (1u << 25), 0);              /* FFXSR */
	KASSERT_EQ(e1.edx & (1u << 20), 1u << 20);       /* NX stays */
	KASSERT_EQ(l2.eax & l2.ebx & l2.ecx & l2.edx, ~0u);   /* other leaves untouched */
}

KTEST(kev_hostile_hidden_features)
{
	run_checking_guest(kev_test_vm_own_idt(GUEST_IMAGE(hostile_features)), "hostile_features");
	next_vm_clean();
}

/* The probe writes only where the guest could: not into a page the nested
 * table maps read-only (a device's register page), not even in part. */
KTEST(kev_hostile_probe_refuses_readonly_pages)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	void *page = page_alloc();
	KASSERT(page != NULL);
	memcpy(page, "registers", 10);
	gpa_t ro = KEV_TEST_RAM;                  /* just past RAM */
	KASSERT_EQ(vm_npt_map(vm, ro, page, EPT_PERM_READ), EPT_OK);
	static const char junk[32] = "junk junk junk junk junk junk j";
	char ram_before[16], ram_after[16], back[10];
	bool read_before = probe_read(&vm->probe, ro - 16, ram_before, 16);
	bool wrote = probe_write(&vm->probe, ro, junk, 8);
	bool straddled = probe_write(&vm->probe, ro - 16, junk, 32);
	bool read_after = probe_read(&vm->probe, ro - 16, ram_after, 16);
	bool read_ro = probe_read(&vm->probe, ro, back, 10);
	bool ram_ok = probe_write(&vm->probe, ro - 16, junk, 16);
	void *unmapped;
	vm_npt_unmap(vm, ro, &unmapped);
	vm_destroy(vm);
	bool intact = !strcmp(page, "registers");
	page_free(page);
	KASSERT(read_before && read_after && read_ro && ram_ok);
	KASSERT(!wrote);
	KASSERT(!straddled);
	KASSERT(!memcmp(ram_before, ram_after, 16));   /* all or nothing */
	KASSERT(intact);
	KASSERT(!strcmp(back, "registers"));
	next_vm_clean();
}

/* Two MMIO printers must not share a buffer. The interleaving two CPUs could
 * produce is forced here: device A's copy reaches its second page only after
 * device B has printed (the lazy-pager hook rings B in between). */
static struct {
	struct vm *a_vm, *b_vm;
	struct mmio_printer *b;
	void *page1, *page2;
	int calls;
} race;

#define RACE_P1 0x40000
#define RACE_P2 0x41000

static void ring(struct mmio_printer *dev, struct vm *vm, gpa_t addr, uint64_t len)
{
	struct mmio_info w = { MMIO_WRITE, 8, MMIO_PRINTER_BASE, addr, 0 };
	uint64_t answer;
	dev->handler.handle(&dev->handler, &vm->probe, &w, &answer, NULL);
	w.addr = MMIO_PRINTER_BASE + 8, w.value = len;
	dev->handler.handle(&dev->handler, &vm->probe, &w, &answer, NULL);
	w.addr = MMIO_PRINTER_BASE + 16, w.value = 1;
	dev->handler.handle(&dev->handler, &vm->probe, &w, &answer, NULL);
}

/* A's pages come and go so that its copy takes page 1, then asks for page 2. */
static bool race_npt_miss(struct vm *vm, gpa_t gpa)
{
	switch (race.calls++) {
	case 0:          /* the range check reaches page 2: let page 1 go */
		vm_npt_map(vm, RACE_P2, race.page2, EPT_PERM_RWX);
		vm_npt_unmap(vm, RACE_P1, &race.page1);
		return gpa == RACE_P2;
	case 1:          /* the copy starts with page 1: let page 2 go */
		vm_npt_map(vm, RACE_P1, race.page1, EPT_PERM_RWX);
		vm_npt_unmap(vm, RACE_P2, &race.page2);
		return gpa == RACE_P1;
	default:         /* page 1 is copied: B prints now, then page 2 comes */
		ring(race.b, race.b_vm, RACE_P1, 32);
		vm_npt_map(vm, RACE_P2, race.page2, EPT_PERM_RWX);
		return gpa == RACE_P2;
	}
}

KTEST(kev_hostile_printer_buffers_are_per_device)
{
	static struct mmio_printer a, b;
	mmio_printer_init(&a);
	mmio_printer_init(&b);
	race = (typeof(race)){ .a_vm = kev_test_vm(GUEST_IMAGE(exit), 1),
	                       .b_vm = kev_test_vm(GUEST_IMAGE(exit), 1), .b = &b };
	char as[32], bs[32];
	memset(as, 'a', sizeof(as));
	memset(bs, 'b', sizeof(bs));
	KASSERT(probe_write(&race.a_vm->probe, RACE_P2 - 16, as, 32));
	KASSERT(probe_write(&race.b_vm->probe, RACE_P1, bs, 32));
	KASSERT_EQ(vm_npt_unmap(race.a_vm, RACE_P2, &race.page2), EPT_OK);
	race.a_vm->npt_miss = race_npt_miss;
	ring(&a, race.a_vm, RACE_P2 - 16, 32);
	int calls = race.calls;
	size_t alen, blen;
	bool a_own = !memcmp(vm_console(race.a_vm, &alen), as, 32);
	bool b_own = !memcmp(vm_console(race.b_vm, &blen), bs, 32);
	vm_destroy(race.a_vm);
	vm_destroy(race.b_vm);
	KASSERT_EQ(calls, 3);             /* the interleaving happened */
	KASSERT_EQ(alen, 32);
	KASSERT_EQ(blen, 32);
	KASSERT(b_own);
	KASSERT(a_own);                   /* B's ring did not write into A's copy */
	next_vm_clean();
}

/* --- console floods ----------------------------------------------------------------- */

/* The most lines a budget lets through in ticks: the burst, then rate a second. */
static uint64_t budget_bound(unsigned burst, unsigned rate, uint64_t ticks)
{
	return burst + (rate * ticks + TIMER_HZ - 1) / TIMER_HZ + 1;
}

/* Floods the guest console (mode 0: COM1, 1: PUTS) with lines; checks the
 * host console got at most the budget, one notice covered the rest, and the
 * capture still has every byte it can hold. */
static void guest_flood(uint64_t mode, uint64_t lines)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(hostile_flood), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = mode;
	vm->vcpus[0]->state.gpr[GPR_RSI] = lines;
	uint64_t start = timer_ticks();
	char report[KEV_REPORT_SIZE];
	enum vm_error err;
	int status = run(vm, &err, report, sizeof(report));
	uint64_t took = timer_ticks() - start;
	struct line_budget b = vm->console.guest_lines;
	size_t captured;
	vm_console(vm, &captured);
	bool full = vm->serial.capture_full;
	vm_destroy(vm);
	if (err != VM_ERR_NONE)
		ktest_fail(__FILE__, __LINE__, "the flood stopped the VM: %s", report);
	KASSERT_EQ(status, 0);
	KASSERT(b.printed <= budget_bound(KEV_GUEST_LINES_BURST, KEV_GUEST_LINES_PER_SEC, took));
	KASSERT_EQ(b.printed + b.dropped, lines);
	KASSERT(b.dropped > 0);
	KASSERT_EQ(b.unreported, 0);        /* the end of the VM reported the last drops */
	KASSERT(b.notices >= 1 && b.notices <= took / TIMER_HZ + 2);   /* one a second, one at the end */
	KASSERT_EQ(captured, KEV_SERIAL_CAPTURE - 1);
	KASSERT(full);
	struct vm *next = kev_run_next_vm_clean();
	uint64_t next_printed = next->console.guest_lines.printed;
	vm_destroy(next);
	KASSERT_EQ(next_printed, 1);         /* a fresh budget: its one line went out */
}

KTEST(kev_hostile_com1_flood_bounded)
{
	guest_flood(0, 2500);                /* 100,000 bytes */
}

KTEST(kev_hostile_puts_flood_bounded)
{
	guest_flood(1, 2500);
}

/* A device that prints a host line on each of its guest's requests. */
#define HOSTILE_HC_PRINT 0x4001

static enum vmexit_verdict printing_device(struct vmexit_controller *ctl, struct vcpu *v,
                                           const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_VMMCALL || v->state.gpr[GPR_RAX] != HOSTILE_HC_PRINT)
		return VMEXIT_PASS;
	printk("hostile device: line %lu\n", v->state.gpr[GPR_RDI]);
	return insn_complete(v, &insn_vmmcall) ? VMEXIT_RESUME : VMEXIT_STOP;
}

/* Host lines printed on a VM's behalf are bounded too, the last one is
 * recorded for reports, and kev's own stop report still goes out. */
KTEST(kev_hostile_host_line_flood_bounded)
{
	const uint64_t lines = 300;
	struct vm *vm = kev_test_vm(GUEST_IMAGE(hostile_flood), 1);
	struct vmexit_controller dev = { "printing device", printing_device, NULL };
	KASSERT(vm_add_controller(vm, &dev));
	vm->vcpus[0]->state.gpr[GPR_RDI] = 2;
	vm->vcpus[0]->state.gpr[GPR_RSI] = lines;
	uint64_t start = timer_ticks();
	char report[KEV_REPORT_SIZE], last[KEV_SERIAL_LINE + 1];
	enum vm_error err;
	run(vm, &err, report, sizeof(report));
	uint64_t took = timer_ticks() - start;
	struct line_budget b = vm->console.host_lines;
	ksnprintf(last, sizeof(last), "%s", vm_last_host_line(vm));
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_UNHANDLED_EXIT);         /* the ud2 at the end */
	KASSERT(kev_contains(report, "(EXCP_UD)"));
	KASSERT(b.printed <= budget_bound(KEV_HOST_LINES_BURST, KEV_HOST_LINES_PER_SEC, took));
	KASSERT_EQ(b.printed + b.dropped, lines);
	KASSERT(b.dropped > 0);
	KASSERT_EQ(b.forced, 1);                         /* kev's stop report, printed */
	KASSERT(b.notices >= 1 && b.notices <= took / TIMER_HZ + 2);
	KASSERT(!strcmp(last, "hostile device: line 1")); /* the last, though dropped */
	next_vm_clean();
}

/* The budget itself: a burst, then the rate, whatever the caller's speed. */
KTEST(kev_hostile_line_budget_refills_at_its_rate)
{
	struct line_budget b = { 0 };
	uint64_t unreported = 0, now = 1000;
	unsigned passed = 0;
	for (int i = 0; i < 50; i++)
		passed += line_budget_take(&b, 10, 5, 1, now, &unreported);
	KASSERT_EQ(passed, 10);                  /* the burst */
	KASSERT_EQ(b.dropped, 40);
	KASSERT(!line_budget_take(&b, 10, 5, 1, now + TIMER_HZ / 5 - 1, &unreported));
	KASSERT(line_budget_take(&b, 10, 5, 1, now + TIMER_HZ / 5, &unreported));   /* 5 a second */
	KASSERT_EQ(unreported, 41);              /* everything dropped before it */
	KASSERT(!line_budget_take(&b, 10, 5, 1, now + TIMER_HZ / 5, &unreported));
	KASSERT(line_budget_take(&b, 10, 5, 1, now + 2 * TIMER_HZ / 5, &unreported));
	KASSERT_EQ(unreported, 0);               /* at most one notice a second */
	KASSERT(!line_budget_take(&b, 10, 5, 1, now + 2 * TIMER_HZ / 5, &unreported));
	KASSERT(line_budget_take(&b, 10, 5, 1, now + TIMER_HZ / 5 + TIMER_HZ, &unreported));
	KASSERT_EQ(unreported, 2);               /* a second later: the drops since */
	passed = 0;
	for (int i = 0; i < 50; i++)
		passed += line_budget_take(&b, 10, 5, 1, now + 100 * TIMER_HZ, &unreported);
	KASSERT_EQ(passed, 10);                  /* refilled to the burst, no more */
	KASSERT_EQ(line_budget_unreported(&b), 40);   /* the last notice, at the end */
	KASSERT_EQ(line_budget_unreported(&b), 0);
	KASSERT(line_budget_take(&b, 10, 5, 100, now + 200 * TIMER_HZ, &unreported));  /* capped */
}

/* --- the console hook (keos) --------------------------------------------------------- */

struct counting_hook {
	struct console_hook hook;    /* first: keos calls this struct */
	unsigned calls;
	size_t len;
	char text[CONSOLE_HOOK_PEEK];
	bool admit;
};

static bool count_admit(struct console_hook *hook, const char *text, size_t len)
{
	struct counting_hook *h = (struct counting_hook *)hook;
	h->calls++;
	h->len = len;
	ksnprintf(h->text, sizeof(h->text), "%s", text);
	return h->admit;
}

KTEST(kev_hostile_console_hook_sees_each_printk)
{
	struct counting_hook h = { .hook = { count_admit }, .admit = false };
	struct thread *self = thread_current();
	self->console_hook = &h.hook;
	int dropped = printk("hook test: %d dropped\n", 1);
	printk_unhooked("hook test: past the hook\n");
	unsigned after_unhooked = h.calls;
	h.admit = true;
	printk("hook test: %s\n", "admitted");
	self->console_hook = NULL;
	printk("hook test: no hook\n");
	KASSERT_EQ(after_unhooked, 1);
	KASSERT_EQ(dropped, 21);                 /* a dropped printk still says its length */
	KASSERT_EQ(h.calls, 2);
	KASSERT(!strcmp(h.text, "hook test: admitted\n"));
	KASSERT_EQ(h.len, 20);
}

/* A thread that crashes gets its report out: panics and exceptions drop the
 * hook before they print (a hook that has seen nothing proves it). */
static struct counting_hook crash_hook;

static void crash_with_hook(void *arg)
{
	crash_hook = (struct counting_hook){ .hook = { count_admit }, .admit = false };
	thread_current()->console_hook = &crash_hook.hook;
	if (arg)
		panic("hook test: a panic");
	__asm__ volatile("ud2");
}

KTEST(kev_hostile_console_hook_never_hides_a_crash)
{
	char msg[128];
	KASSERT(ktest_expect_panic(crash_with_hook, (void *)1, msg, sizeof(msg)));
	KASSERT_EQ(crash_hook.calls, 0);
	KASSERT(ktest_expect_panic(crash_with_hook, NULL, msg, sizeof(msg)));
	KASSERT_EQ(crash_hook.calls, 0);
	KASSERT(kev_contains(msg, "invalid opcode") || kev_contains(msg, "exception 6"));
}
