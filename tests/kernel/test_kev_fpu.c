/* Each vCPU has its own x87/SSE registers: two VMs on one CPU fill XMM0-15
 * with different patterns and check them after every one of many exits,
 * while the scheduler switches between their threads; each starts from the
 * power-on state even though the other dirtied the registers first. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "keos/arch/cpu.h"
#include "keos/lib/printk.h"

#define FPU_EXITS 60000   /* several scheduler ticks at any speed seen: the VMs must take turns */

KTEST(kev_fpu_isolated_between_vms_on_one_cpu)
{
	int cpu = ncpus >= 2 ? 1 : 0;
	struct vm *vm[2];
	for (int i = 0; i < 2; i++) {
		vm[i] = kev_test_vm(GUEST_IMAGE(fpu), 1);
		vm[i]->vcpus[0]->state.gpr[GPR_RDI] = 0x1111111100000000ull * (uint64_t)(i + 1);
		vm[i]->vcpus[0]->state.gpr[GPR_RSI] = FPU_EXITS;
		vm_pin_vcpu(vm[i], 0, cpu);
	}
	KASSERT(vm_run(vm[0]));
	KASSERT(vm_run(vm[1]));
	int status[2];
	enum vm_error err[2];
	uint64_t switches[2];
	for (int i = 0; i < 2; i++) {
		status[i] = vm_join(vm[i]);
		err[i] = vm_error(vm[i]);
		switches[i] = vm[i]->vcpus[0]->stats.fpu_switches;
	}
	for (int i = 0; i < 2; i++)
		vm_destroy(vm[i]);
	printk("kev: fpu: two VMs on cpu %d, %d exits each: %lu and %lu register switches\n", cpu,
	       FPU_EXITS, switches[0], switches[1]);
	KASSERT_EQ(err[0], VM_ERR_NONE);
	KASSERT_EQ(err[1], VM_ERR_NONE);
	KASSERT_EQ(status[0], 0);
	KASSERT_EQ(status[1], 0);
	/* They took turns on the CPU: each had its registers put back. */
	KASSERT(switches[0] >= 2 && switches[1] >= 2);

	/* A third VM on the same CPU, after both: the power-on state again. */
	struct vm *third = kev_test_vm(GUEST_IMAGE(fpu), 1);
	third->vcpus[0]->state.gpr[GPR_RDI] = 7;
	third->vcpus[0]->state.gpr[GPR_RSI] = 10;
	vm_pin_vcpu(third, 0, cpu);
	int s = kev_test_run(third);
	enum vm_error e = vm_error(third);
	vm_destroy(third);
	KASSERT_EQ(e, VM_ERR_NONE);
	KASSERT_EQ(s, 0);
}
