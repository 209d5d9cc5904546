/* The cost of an exit: a guest makes 100,000 null hypercalls. The numbers are
 * printed, never asserted (tests must not depend on the machine's speed); the
 * exit count is. Expect about 95,000 exits/s under QEMU TCG on two cores. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"

#define BENCH_EXITS 100000

KTEST(kev_bench_hypercall_exits)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(bench), 1);
	vm->vcpus[0]->state.gpr[GPR_RDI] = BENCH_EXITS;
	uint64_t start = timer_ticks();
	int status = kev_test_run(vm);
	uint64_t ticks = timer_ticks() - start;
	enum vm_error err = vm_error(vm);
	struct vcpu_stats st = vm->vcpus[0]->stats;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(st.hypercalls, BENCH_EXITS);
	uint64_t ms = ticks * 1000 / TIMER_HZ;
	if (ms == 0)
		ms = 1;
	printk("kev: %lu exits in %lu ms: %lu exits/s (%lu hypercalls, %lu host interrupts, 1 exit port)\n",
	       st.exits, ms, st.exits * 1000 / ms, st.hypercalls, st.intr_exits);
}
