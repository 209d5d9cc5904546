/* kev on several CPUs: two VMs at once, and one VM with two vCPUs. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"

/* The rendezvous: a test-only hypercall that answers 1 once both VMs' vCPUs
 * are inside it at the same time, which can only happen if they run on two
 * CPUs at once (each vCPU spins in its own pinned thread). */
#define HC_RENDEZVOUS 0x4000

struct rendezvous {
	volatile int arrived;
	struct vmexit_controller ctl;
};

static enum vmexit_verdict rendezvous_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                             const struct exit_reason *e)
{
	struct rendezvous *r = ctl->priv;
	if (e->code != SVM_EXIT_VMMCALL || v->state.gpr[GPR_RAX] != HC_RENDEZVOUS)
		return VMEXIT_PASS;
	__atomic_add_fetch(&r->arrived, 1, __ATOMIC_SEQ_CST);
	uint64_t start = timer_ticks();
	bool met = false;
	while (timer_ticks() - start < 500) {      /* 5 s */
		if (__atomic_load_n(&r->arrived, __ATOMIC_SEQ_CST) >= 2) {
			met = true;
			break;
		}
		pause();
	}
	v->state.gpr[GPR_RAX] = met;
	vcpu_skip(v, INSN_LEN_VMMCALL);
	return VMEXIT_RESUME;
}

KTEST(kev_two_vms_on_two_cpus)
{
	KASSERT(ncpus >= 2);
	struct rendezvous r = { .arrived = 0 };
	r.ctl = (struct vmexit_controller){ "rendezvous", rendezvous_handle, &r };
	struct vm *vm[2];
	for (int i = 0; i < 2; i++) {
		vm[i] = kev_test_vm(GUEST_IMAGE(rendezvous), 1);
		vm[i]->vcpus[0]->state.gpr[GPR_RDI] = HC_RENDEZVOUS;
		vm_pin_vcpu(vm[i], 0, i);
		KASSERT(vm_add_controller(vm[i], &r.ctl));
	}
	KASSERT(vm_run(vm[0]));
	KASSERT(vm_run(vm[1]));
	int status[2];
	uint64_t cpus[2];
	enum vm_error err[2];
	for (int i = 0; i < 2; i++) {
		status[i] = vm_join(vm[i]);
		err[i] = vm_error(vm[i]);
		cpus[i] = vm[i]->vcpus[0]->stats.runs_by_cpu_mask;
		KASSERT(kev_contains(vm_console(vm[i], NULL), "rendezvous guest running\n"));
	}
	for (int i = 0; i < 2; i++)
		vm_destroy(vm[i]);
	KASSERT_EQ(err[0], VM_ERR_NONE);
	KASSERT_EQ(err[1], VM_ERR_NONE);
	KASSERT_EQ(cpus[0], 1u << 0);      /* each VM ran on its own CPU only */
	KASSERT_EQ(cpus[1], 1u << 1);
	KASSERT_EQ(status[0], 101);         /* 100 + "met the other VM" */
	KASSERT_EQ(status[1], 101);
}

KTEST(kev_guest_starts_a_second_vcpu)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(smp), 2);
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	uint64_t cpu0 = vm->vcpus[0]->stats.runs_by_cpu_mask;
	uint64_t cpu1 = vm->vcpus[1]->stats.runs_by_cpu_mask;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(cpu0, 1u << 0);
	if (ncpus >= 2)
		KASSERT_EQ(cpu1, 1u << 1);
}
