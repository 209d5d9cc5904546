/* The cost of an exit: the bench guest makes null hypercalls (VMMCALL), run
 * both through kev's full path (the vCPU loop, interrupt and x87/SSE checks,
 * the controller chain) and through a bare VMRUN loop that only steps RIP
 * past each VMMCALL, on the same CPU in the same run, alternating, best of
 * BENCH_ROUNDS each. The numbers and their ratio are printed, never asserted
 * (tests must not depend on the machine's speed); the exit counts are. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/svm.h"
#include "kev/vmcb.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/printk.h"
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"

#define BENCH_EXITS 100000
#define BENCH_ROUNDS 3
#define BENCH_CPU 0

struct bare_run {
	struct vm *vm;
	uint64_t hypercalls, tsc;
	bool ended_at_exit_port;
};

/* The guest under a minimal hypervisor: VMRUN, step over VMMCALL, repeat. */
static void bare_loop(void *arg)
{
	struct bare_run *b = arg;
	struct vcpu *v = b->vm->vcpus[0];
	struct vmcb *vmcb = v->vmcb;
	svm_cpu_enable();
	hpa_t host_vmcb = svm_cpu_host_vmcb_pa();
	vmcb->save.rax = v->state.gpr[GPR_RAX];
	vmcb->save.rsp = v->state.gpr[GPR_RSP];
	vmcb->save.rip = v->state.rip;
	vmcb->save.rflags = v->state.rflags;
	vmcb->save.cr0 = v->state.cr0;
	vmcb->save.cr3 = v->state.cr3;
	vmcb->save.cr4 = v->state.cr4;
	vmcb->save.efer = v->state.efer;
	vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	uint64_t start = rdtsc();
	for (;;) {
		intr_push();
		svm_vmrun(v->state.gpr, v->vmcb_pa, host_vmcb);
		intr_pop();
		vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
		uint64_t code = vmcb->control.exit_code;
		if (code == SVM_EXIT_VMMCALL) {
			vmcb->save.rip += INSN_LEN_VMMCALL;
			b->hypercalls++;
		} else if (code != SVM_EXIT_INTR) {
			b->ended_at_exit_port = code == SVM_EXIT_IOIO;
			break;
		}
	}
	b->tsc = rdtsc() - start;
}

static uint64_t run_bare(void)
{
	struct bare_run b = { .vm = kev_test_vm(GUEST_IMAGE(bench), 1) };
	b.vm->vcpus[0]->state.gpr[GPR_RDI] = BENCH_EXITS;
	struct thread *t = thread_create_on("bare-vmrun", BENCH_CPU, bare_loop, &b);
	KASSERT(t);
	thread_join(t);
	vm_destroy(b.vm);
	KASSERT(b.ended_at_exit_port);
	KASSERT_EQ(b.hypercalls, BENCH_EXITS);
	return b.tsc;
}

static uint64_t run_kev(struct vcpu_stats *st)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(bench), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = BENCH_EXITS;
	vm_pin_vcpu(vm, 0, BENCH_CPU);
	uint64_t start = rdtsc();
	int status = kev_test_run(vm);
	uint64_t tsc = rdtsc() - start;
	enum vm_error err = vm_error(vm);
	*st = vm->vcpus[0]->stats;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(st->hypercalls, BENCH_EXITS);
	return tsc;
}

KTEST(kev_bench_hypercall_exits)
{
	uint64_t bare = UINT64_MAX, kev = UINT64_MAX;
	struct vcpu_stats st = { 0 };
	for (int round = 0; round < BENCH_ROUNDS; round++) {
		uint64_t b = run_bare(), k = run_kev(&st);
		bare = b < bare ? b : bare;
		kev = k < kev ? k : kev;
	}
	uint64_t bare_ns = hrtimer_tsc_to_us(bare * 1000 / BENCH_EXITS);
	uint64_t kev_ns = hrtimer_tsc_to_us(kev * 1000 / BENCH_EXITS);
	uint64_t ms = hrtimer_tsc_to_us(kev) / 1000;
	if (ms == 0)
		ms = 1;
	printk("kev: %lu exits in %lu ms: %lu exits/s (%lu hypercalls, %lu host interrupts, 1 exit port)\n",
	       st.exits, ms, st.exits * 1000 / ms, st.hypercalls, st.intr_exits);
	uint64_t permille = kev * 1000 / bare;
	long added = (long)permille - 1000;     /* in tenths of a percent */
	long added_abs = added < 0 ? -added : added;
	printk("kev-bench: one VMMCALL exit on cpu %d, best of %d runs of %d: bare VMRUN loop %lu ns, "
	       "kev's full path %lu ns, ratio %lu.%03lu (kev adds %s%ld.%ld %%)\n", BENCH_CPU, BENCH_ROUNDS,
	       BENCH_EXITS, bare_ns, kev_ns, permille / 1000, permille % 1000, added < 0 ? "-" : "",
	       added_abs / 10, added_abs % 10);
}
