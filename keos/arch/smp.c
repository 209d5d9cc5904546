/* AP start-up. For each CPU in the MADT other than the bootstrap CPU, the
 * trampoline (trampoline.S) is copied to 0x8000 with a fresh stack and the
 * CPU's struct cpu, then INIT-SIPI-SIPI is sent. The AP runs ap_start(),
 * marks itself started and joins the scheduler; the BSP waits for that mark
 * (up to a second) before it reuses the trampoline for the next AP. */
#include "keos/arch/smp.h"
#include "keos/arch/cpu.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/dev/acpi.h"
#include "keos/dev/lapic.h"
#include "keos/dev/pit.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include <string.h>

#define TRAMPOLINE_PA 0x8000
#define AP_STACK_PAGES 4

extern const char ap_trampoline_start[], ap_trampoline_end[];
extern const char ap_trampoline_stack[], ap_trampoline_cpu[];
extern uint64_t kernel_pml4[];

void __attribute__((noreturn)) ap_start(struct cpu *c);

void ap_start(struct cpu *c)
{
	write_cr3((uint64_t)kernel_pml4);   /* .boot symbols are physical addresses */
	cpu_init(c);
	idt_load();
	lapic_init();
	__atomic_store_n(&c->started, true, __ATOMIC_RELEASE);
	sched_start_ap();
}

static void *trampoline_slot(const char *sym)
{
	return (char *)phys_to_virt(TRAMPOLINE_PA) + (sym - ap_trampoline_start);
}

static bool start_one(struct cpu *c)
{
	void *stack = page_alloc_run(AP_STACK_PAGES);
	if (!stack)
		return false;
	memcpy(phys_to_virt(TRAMPOLINE_PA), ap_trampoline_start,
	       ap_trampoline_end - ap_trampoline_start);
	uint64_t top = (uint64_t)stack + AP_STACK_PAGES * PAGE_SIZE;
	memcpy(trampoline_slot(ap_trampoline_stack), &top, 8);
	uint64_t cp = (uint64_t)c;
	memcpy(trampoline_slot(ap_trampoline_cpu), &cp, 8);
	lapic_start_ap(c->apic_id, TRAMPOLINE_PA >> 12);
	for (int waited = 0; waited < 100; waited++) {
		if (__atomic_load_n(&c->started, __ATOMIC_ACQUIRE))
			return true;
		pit_delay_us(10000);
	}
	page_free_run(stack, AP_STACK_PAGES);
	return false;
}

int smp_start_aps(void)
{
	uint32_t ids[MAX_CPUS];
	int n = acpi_cpu_apic_ids(ids, MAX_CPUS);
	uint32_t self = lapic_id();
	for (int i = 0; i < n; i++) {
		if (ids[i] == self)
			continue;
		struct cpu *c = &cpus[ncpus];
		c->id = ncpus;
		c->apic_id = ids[i];
		/* Counted before it starts: its scheduler may see threads pinned to it. */
		ncpus++;
		if (!start_one(c)) {
			ncpus--;
			printk("smp: CPU with APIC id %u did not start\n", ids[i]);
		}
	}
	return ncpus;
}

int guest_smp_start(void)
{
	/* Application vCPUs are started by kev on request (KEV_HC_START_CPU);
	 * until a guest needs more than one, a keos guest runs on its
	 * bootstrap vCPU alone. */
	return ncpus;
}
