/* kev: guests that kev must stop, each with a report a person can act on. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/svm.h"
#include "kev/vmcb.h"
#include "keos/lib/format.h"
#include "keos/thread/thread.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include <string.h>

/* Runs vm, expects it to stop with err, and copies its report into buf. */
static void run_expect_error(struct vm *vm, enum vm_error err, char *buf, size_t size)
{
	kev_test_run(vm);
	enum vm_error got = vm_error(vm);
	ksnprintf(buf, size, "%s", vm_report(vm));
	vm_destroy(vm);
	if (got != err)
		ktest_fail(__FILE__, __LINE__, "VM error '%s', expected '%s'", vm_error_name(got),
		           vm_error_name(err));
}

KTEST(kev_msr_unknown_stops_vm)
{
	char report[KEV_REPORT_SIZE];
	run_expect_error(kev_test_vm(GUEST_IMAGE(msr_unknown), 1), VM_ERR_UNHANDLED_EXIT,
	                 report, sizeof(report));
	KASSERT(kev_contains(report, "unhandled exit 0x7c (MSR)"));
	KASSERT(kev_contains(report, "RDMSR of MSR 0x12345678"));
	KASSERT(kev_contains(report, "at rip 0x10005"));     /* after the 5-byte mov */
	KASSERT(kev_contains(report, "bytes at rip: 0f 32"));
}

KTEST(kev_unmapped_access_reports_gpa)
{
	char report[KEV_REPORT_SIZE];
	run_expect_error(kev_test_vm(GUEST_IMAGE(unmapped), 1), VM_ERR_BAD_GUEST_ACCESS,
	                 report, sizeof(report));
	KASSERT(kev_contains(report, "(NPF)"));
	KASSERT(kev_contains(report, "gpa 0x40000000 read, not present"));
	KASSERT(kev_contains(report, "at rip 0x10007"));
	KASSERT(kev_contains(report, "bytes at rip: 48 8b 03"));   /* mov (%rbx), %rax */
	KASSERT(kev_contains(report, "rbx 0x0000000040000000"));
}

/* The rendezvous guest's hypercall 0x4000 means nothing without the test's controller. */
KTEST(kev_unknown_hypercall_stops_vm)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(rendezvous), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = 0x4000;
	char report[KEV_REPORT_SIZE];
	run_expect_error(vm, VM_ERR_UNHANDLED_EXIT, report, sizeof(report));
	KASSERT(kev_contains(report, "(VMMCALL)"));
	KASSERT(kev_contains(report, "hypercall number 0x4000"));
	KASSERT(kev_contains(report, "bytes at rip: 0f 01 d9"));
}

KTEST(kev_guest_exception_reported)
{
	char report[KEV_REPORT_SIZE];
	run_expect_error(kev_test_vm(GUEST_IMAGE(ud2), 1), VM_ERR_UNHANDLED_EXIT,
	                 report, sizeof(report));
	KASSERT(kev_contains(report, "(EXCP_UD) at rip 0x10001"));
	KASSERT(kev_contains(report, "bytes at rip: 0f 0b"));
}

/* Without the exception intercepts the flat guest has no IDT: #UD, then #GP
 * delivering it, then a double fault, then shutdown. */
KTEST(kev_triple_fault_reported)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(ud2), 1);
	vm->vcpus[0]->vmcb->control.intercept_exceptions = 0;
	char report[KEV_REPORT_SIZE];
	run_expect_error(vm, VM_ERR_TRIPLE_FAULT, report, sizeof(report));
	KASSERT(kev_contains(report, "(SHUTDOWN)"));
}

/* A VMCB that breaks two consistency rules: VMRUN refuses it and kev names both. */
KTEST(kev_vmrun_invalid_lists_rules)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	vm->vcpus[0]->vmcb->control.asid = 0;
	vm->vcpus[0]->state.efer &= ~(uint64_t)(1u << 12);   /* SVME */
	char report[KEV_REPORT_SIZE];
	run_expect_error(vm, VM_ERR_UNHANDLED_EXIT, report, sizeof(report));
	KASSERT(kev_contains(report, "VMRUN failed with exit code INVALID"));
	KASSERT(kev_contains(report, "the ASID must not be 0"));
	KASSERT(kev_contains(report, "guest EFER.SVME must be 1"));
	KASSERT(!kev_contains(report, "VMRUN intercept"));
}

KTEST(kev_vmrun_invalid_without_vmrun_intercept)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	vm->vcpus[0]->vmcb->control.intercept_misc2 &= ~INTERCEPT2_VMRUN;
	char report[KEV_REPORT_SIZE];
	run_expect_error(vm, VM_ERR_UNHANDLED_EXIT, report, sizeof(report));
	KASSERT(kev_contains(report, "the VMRUN intercept bit must be set"));
	KASSERT(!kev_contains(report, "ASID"));
}

/* A guest that never exits is stopped at its deadline, and the host kept
 * scheduling meanwhile (the test thread itself was waiting in vm_join). */
KTEST(kev_timeout_stops_a_busy_guest)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(bench), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = ~0ull;    /* hypercalls forever */
	vm_set_timeout(vm, 30);
	uint64_t start = rdtsc();
	kev_test_run(vm);
	uint64_t took = (rdtsc() - start) / (tsc_khz() * 1000 / TIMER_HZ);   /* the deadline's clock */
	enum vm_error err = vm_error(vm);
	bool named = kev_contains(vm_report(vm), "deadline");
	uint64_t intr = vm->vcpus[0]->stats.intr_exits;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_TIMEOUT);
	KASSERT(named);
	KASSERT(took >= 30);
	KASSERT(intr > 0);          /* timer interrupts exited the guest */
}

KTEST(kev_svm_missing_feature_messages)
{
	KASSERT(svm_missing_feature(0x8000001f, CPUID_EXT1_ECX_SVM, CPUID_SVM_EDX_NP, 0) == NULL);
	const char *m = svm_missing_feature(0x8000001f, 0, 0, 0);
	KASSERT(m && kev_contains(m, "no AMD SVM") && kev_contains(m, SVM_QEMU_CPU_HINT));
	m = svm_missing_feature(0x80000008, CPUID_EXT1_ECX_SVM, 0, 0);
	KASSERT(m && kev_contains(m, "no AMD SVM"));
	m = svm_missing_feature(0x8000001f, CPUID_EXT1_ECX_SVM, 0, 0);
	KASSERT(m && kev_contains(m, "no nested paging") && kev_contains(m, "+npt"));
	m = svm_missing_feature(0x8000001f, CPUID_EXT1_ECX_SVM, CPUID_SVM_EDX_NP, VM_CR_SVMDIS);
	KASSERT(m && kev_contains(m, "SVMDIS"));
}

/* The report of a timed-out vCPU names its guest RIP's symbol, found by the
 * thread that joins the VM once the vCPU's thread is back: finding a symbol
 * may read the guest image from disk, which on a loaded host took the vCPU
 * thread past vm_join's grace and left the VM stuck. */
static struct thread *described_on;

static bool describe_from(struct vm *vm, uint64_t rip, char *buf, size_t size)
{
	(void)vm, (void)rip;
	described_on = thread_current();
	ksnprintf(buf, size, "spin_here+0x2");
	return true;
}

KTEST(kev_timeout_names_the_rip_after_the_vcpu_left)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(bench), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = ~0ull;    /* hypercalls forever */
	vm->describe_rip = describe_from;
	described_on = NULL;
	vm_set_timeout(vm, 10);
	kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	bool named = kev_contains(vm_report(vm), "guest rip 0x") && kev_contains(vm_report(vm), "(spin_here+0x2)");
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_TIMEOUT);
	KASSERT(named);
	KASSERT(described_on == thread_current());
}
