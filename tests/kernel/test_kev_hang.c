/* A VM whose vCPU thread does not come back: an exit handler that loops
 * (with interrupts on, and off) past the deadline, and one that faults or
 * panics. The test controller's hypercalls (tests/guests/hang.S):
 *   0x4110 loop with interrupts on, 0x4111 loop with interrupts off (both
 *   until the test releases them), 0x4120 page fault, 0x4121 panic. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"
#include <string.h>

#define HC_LOOP_IRQS_ON  0x4110
#define HC_LOOP_IRQS_OFF 0x4111
#define HC_PAGE_FAULT    0x4120
#define HC_PANIC         0x4121

static volatile bool released;
static uint64_t *volatile null_page;   /* NULL, hidden from the compiler */

static void __attribute__((noinline)) hang_spin(void)
{
	while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE))
		pause();
}

static enum vmexit_verdict hang_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                       const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_VMMCALL)
		return VMEXIT_PASS;
	switch (v->state.gpr[GPR_RAX]) {
	case HC_LOOP_IRQS_ON:
		hang_spin();
		break;
	case HC_LOOP_IRQS_OFF:
		intr_push();
		hang_spin();
		intr_pop();
		break;
	case HC_PAGE_FAULT:
		null_page[1] = 1;
		break;
	case HC_PANIC:
		panic("device model gave up");
	default:
		return VMEXIT_PASS;
	}
	vcpu_skip(v, INSN_LEN_VMMCALL);
	return VMEXIT_RESUME;
}

static struct vmexit_controller hang_ctl = { "hang", hang_handle, NULL };

static bool name_guest_rip(struct vm *vm, uint64_t rip, char *buf, size_t size)
{
	(void)vm;
	if (rip < KEV_FLAT_LOAD_GPA || rip >= KEV_FLAT_LOAD_GPA + 0x1000)
		return false;
	ksnprintf(buf, size, "hang_guest+0x%lx", rip - KEV_FLAT_LOAD_GPA);
	return true;
}

static struct vm *hang_vm(uint64_t hypercall)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(hang), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = hypercall;
	if (ncpus >= 2)
		vm_pin_vcpu(vm, 0, 1);
	KASSERT(vm_add_controller(vm, &hang_ctl));
	vm->describe_rip = name_guest_rip;
	return vm;
}

static void expect_stuck(uint64_t hypercall, const char *irq_state)
{
	released = false;
	struct vm *vm = hang_vm(hypercall);
	vm_set_timeout(vm, 20);                  /* 200 ms */
	uint64_t start = rdtsc();
	int status = kev_test_run(vm);
	uint64_t ms = hrtimer_tsc_to_us(rdtsc() - start) / 1000;
	bool stuck = vm_is_stuck(vm);
	enum vm_error err = vm_error(vm);
	static char report[KEV_REPORT_SIZE];
	ksnprintf(report, sizeof(report), "%s", vm_report(vm));
	__atomic_store_n(&released, true, __ATOMIC_RELEASE);
	int again = vm_join(vm);                 /* the thread comes back now */
	bool stuck_after = vm_is_stuck(vm);
	vm_destroy(vm);
	printk("kev: hang report after %lu ms:\n%s\n", ms, report);
	KASSERT_EQ(status, -1);
	KASSERT(stuck);
	KASSERT_EQ(err, VM_ERR_TIMEOUT);
	KASSERT(ms >= 200 + KEV_STUCK_GRACE_MS);
	KASSERT(kev_contains(report, "vm "));
	KASSERT(kev_contains(report, " vcpu 0 did not stop"));
	KASSERT(kev_contains(report, "inside the exit handler for VMMCALL"));
	KASSERT(kev_contains(report, "guest rip 0x10003 (hang_guest+0x3)"));
	KASSERT(kev_contains(report, irq_state));
	KASSERT(kev_contains(report, "hang_spin+0x"));
	KASSERT(kev_contains(report, "hang_handle+0x"));
	KASSERT(kev_contains(report, "last host line: "));
	KASSERT_EQ(again, -1);                   /* still the timeout's status */
	KASSERT(!stuck_after);
}

KTEST(kev_hang_handler_looping_with_interrupts_on)
{
	expect_stuck(HC_LOOP_IRQS_ON, "interrupts on");
}

KTEST(kev_hang_handler_looping_with_interrupts_off)
{
	KASSERT(ncpus >= 2);
	expect_stuck(HC_LOOP_IRQS_OFF, "interrupts off");
}

static void expect_host_fault(uint64_t hypercall, const char *what)
{
	struct vm *vm = hang_vm(hypercall);
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	static char report[KEV_REPORT_SIZE];
	ksnprintf(report, sizeof(report), "%s", vm_report(vm));
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_HOST_FAULT);
	KASSERT(status != 0);
	KASSERT(kev_contains(report, "the vCPU thread died while handling exit VMMCALL"));
	KASSERT(kev_contains(report, what));
	/* The next VM on that CPU runs cleanly. */
	struct vm *next = kev_test_vm(GUEST_IMAGE(exit), 1);
	if (ncpus >= 2)
		vm_pin_vcpu(next, 0, 1);
	next->vcpus[0]->state.gpr[GPR_RDI] = 5;
	int s = kev_test_run(next);
	enum vm_error e = vm_error(next);
	vm_destroy(next);
	KASSERT_EQ(e, VM_ERR_NONE);
	KASSERT_EQ(s, 5);
}

KTEST(kev_vcpu_thread_page_fault_stops_the_vm)
{
	expect_host_fault(HC_PAGE_FAULT, "exception 14 (page fault) at rip 0x");
	expect_host_fault(HC_PAGE_FAULT, "(hang_handle+0x");
}

KTEST(kev_vcpu_thread_panic_stops_the_vm)
{
	expect_host_fault(HC_PANIC, "device model gave up");
}
