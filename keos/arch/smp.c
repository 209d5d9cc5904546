/* AP start-up (under kev, guest_smp_start asks kev for the vCPUs). For each CPU in the MADT other than the bootstrap CPU, the
 * trampoline (trampoline.S) is copied to 0x8000 with a fresh stack and the
 * CPU's struct cpu, then INIT-SIPI-SIPI is sent. The AP runs ap_start(),
 * marks itself started and joins the scheduler; the BSP waits for that mark
 * (up to a second) before it reuses the trampoline for the next AP. */
#include "keos/arch/smp.h"
#include "keos/arch/cpu.h"
#include "keos/arch/guest.h"
#include "kev/hypercall.h"
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

/* Under kev, an application vCPU starts in 64-bit mode with the bootstrap
 * vCPU's paging (KEV_HC_START_VCPU), directly here, on the stack the
 * bootstrap vCPU prepared. */
void __attribute__((noreturn)) guest_ap_start(void);

void guest_ap_start(void)
{
	long id = guest_hypercall(KEV_HC_VCPU_ID, 0, 0, 0);
	if (id <= 0 || id >= ncpus)
		panic("guest vCPU started with index %ld", id);
	struct cpu *c = &cpus[id];
	cpu_init(c);
	idt_load();
	__atomic_store_n(&c->started, true, __ATOMIC_RELEASE);
	sched_start_ap();
}

int guest_smp_start(void)
{
	int want = guest_vcpu_count() < MAX_CPUS ? guest_vcpu_count() : MAX_CPUS;
	for (int i = 1; i < want; i++) {
		struct cpu *c = &cpus[i];
		c->id = i;
		c->apic_id = (uint32_t)i;
		uint64_t *stack = page_alloc_run(AP_STACK_PAGES);
		if (!stack)
			break;
		uint64_t *top = stack + AP_STACK_PAGES * PAGE_SIZE / 8;
		*--top = 0;                  /* guest_ap_start's return address: none */
		ncpus++;
		long r = guest_hypercall(KEV_HC_START_VCPU, i, (long)guest_ap_start, (long)top);
		uint64_t deadline = timer_ticks() + TIMER_HZ;
		while (r == 0 && !__atomic_load_n(&c->started, __ATOMIC_ACQUIRE) && timer_ticks() < deadline)
			pause();
		if (!__atomic_load_n(&c->started, __ATOMIC_ACQUIRE)) {
			/* A vCPU that never arrived may still run later: keep its
			 * stack and stop here rather than reuse its struct cpu. */
			ncpus--;
			printk("smp: vCPU %d did not start (hypercall returned %ld)\n", i, r);
			break;
		}
	}
	return ncpus;
}
