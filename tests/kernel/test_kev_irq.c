/* kev's virtual interrupts: guests with an IDT (tests/guests/irq.h) check
 * what they receive and exit 0, or the number of the check that failed.
 * The test controller plays the x2APIC's part: EOI and TPR MSR writes call
 * vcpu_eoi and vcpu_set_tpr; test hypercalls raise vectors; a #NPF on the
 * stack pages of irq_redeliver is mapped on demand. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/vmcb.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"
#include <string.h>

#define HC_TEST_RAISE        0x4101
#define HC_TEST_RAISE_AND_GP 0x4102
#define MSR_X2APIC_TPR       0x808
#define MSR_X2APIC_EOI       0x80b
#define IRQ_COUNTS_GPA       0x9000
#define STACK_HOLE_GPA       0x200000    /* 4 pages the nested table lacks at first */
#define STACK_HOLE_PAGES     4
#define GP_HOLE_GPA          0x202000    /* a fault here also injects #GP */

struct apic_ctl {
	struct vmexit_controller ctl;
	void *pages[STACK_HOLE_PAGES];
	uint32_t npf_int_info[STACK_HOLE_PAGES];
};

static enum vmexit_verdict apic_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                       const struct exit_reason *e)
{
	struct apic_ctl *a = ctl->priv;
	if (e->code == SVM_EXIT_MSR && e->u.msr.write) {
		if (e->u.msr.index == MSR_X2APIC_EOI)
			vcpu_eoi(v);
		else if (e->u.msr.index == MSR_X2APIC_TPR)
			vcpu_set_tpr(v, (uint8_t)v->state.gpr[GPR_RAX]);
		else
			return VMEXIT_PASS;
		vcpu_skip(v, INSN_LEN_WRMSR);
		return VMEXIT_RESUME;
	}
	if (e->code == SVM_EXIT_VMMCALL) {
		uint64_t nr = v->state.gpr[GPR_RAX];
		if (nr != HC_TEST_RAISE && nr != HC_TEST_RAISE_AND_GP)
			return VMEXIT_PASS;
		vcpu_raise_interrupt(v, (uint8_t)v->state.gpr[GPR_RDI]);
		if (nr == HC_TEST_RAISE_AND_GP) {
			vcpu_inject_exception(v, 13, true, 0);     /* RIP stays on the VMMCALL */
			return VMEXIT_RESUME;
		}
		vcpu_skip(v, INSN_LEN_VMMCALL);
		return VMEXIT_RESUME;
	}
	if (e->code == SVM_EXIT_NPF && e->u.npf.gpa >= STACK_HOLE_GPA &&
	    e->u.npf.gpa < STACK_HOLE_GPA + STACK_HOLE_PAGES * GUEST_PAGE_SIZE) {
		unsigned i = (unsigned)((e->u.npf.gpa - STACK_HOLE_GPA) / GUEST_PAGE_SIZE);
		gpa_t page = STACK_HOLE_GPA + i * GUEST_PAGE_SIZE;
		a->pages[i] = page_alloc();
		if (!a->pages[i] || vm_npt_map(v->vm, page, a->pages[i], EPT_PERM_RWX) != EPT_OK)
			return VMEXIT_PASS;
		a->npf_int_info[i] = e->int_info;
		if (page == GP_HOLE_GPA)
			vcpu_inject_exception(v, 13, true, 0);
		return VMEXIT_RESUME;
	}
	return VMEXIT_PASS;
}

static struct vm *irq_vm(struct guest_image img, struct apic_ctl *a)
{
	memset(a, 0, sizeof(*a));
	a->ctl = (struct vmexit_controller){ "test-apic", apic_handle, a };
	struct vm *vm = kev_test_vm(img, 1);
	KASSERT(vm_add_controller(vm, &a->ctl));
	/* The guests handle their own #GP (injected by the test). */
	vm->vcpus[0]->vmcb->control.intercept_exceptions &= ~(1u << 13);
	return vm;
}

static void free_holes(struct apic_ctl *a)
{
	for (int i = 0; i < STACK_HOLE_PAGES; i++)
		if (a->pages[i])
			page_free(a->pages[i]);
}

/* Runs vm to its end, expects a clean exit 0, and returns vCPU 0's stats. */
static struct vcpu_stats run_ok(struct vm *vm, struct apic_ctl *a)
{
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	char report[200];
	ksnprintf(report, sizeof(report), "%s", vm_report(vm));
	struct vcpu_stats st = vm->vcpus[0]->stats;
	bool clean_apic = true;
	for (int w = 0; w < 4; w++)
		if (vm->vcpus[0]->irq.irr[w] || vm->vcpus[0]->irq.isr[w])
			clean_apic = false;
	vm_destroy(vm);
	free_holes(a);
	if (err != VM_ERR_NONE)
		ktest_fail(__FILE__, __LINE__, "the VM stopped with '%s': %s", vm_error_name(err), report);
	if (status != 0)
		ktest_fail(__FILE__, __LINE__, "the guest failed its check %d", status);
	KASSERT(clean_apic);          /* nothing left pending or in service */
	return st;
}

KTEST(kev_irq_held_until_sti)
{
	struct apic_ctl a;
	struct vcpu_stats st = run_ok(irq_vm(GUEST_IMAGE(irq_window), &a), &a);
	KASSERT_EQ(st.injected, 1);
	KASSERT(st.window_exits >= 1);    /* delivered through the interrupt window */
}

KTEST(kev_irq_priority_isr_tpr_eoi)
{
	struct apic_ctl a;
	struct vcpu_stats st = run_ok(irq_vm(GUEST_IMAGE(irq_priority), &a), &a);
	KASSERT_EQ(st.injected, 8);
}

KTEST(kev_irq_redelivered_after_exit_and_exception_first)
{
	struct apic_ctl a;
	struct vm *vm = irq_vm(GUEST_IMAGE(irq_redeliver), &a);
	int status = kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	uint32_t info0 = a.npf_int_info[0], info2 = a.npf_int_info[2];
	uint64_t injected = vm->vcpus[0]->stats.injected;
	vm_destroy(vm);
	free_holes(&a);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	/* Both stack faults interrupted an external interrupt's delivery. */
	KASSERT_EQ(info0, EVENT_VALID | EVENT_TYPE_INTR | 0x60);
	KASSERT_EQ(info2, EVENT_VALID | EVENT_TYPE_INTR | 0x61);
	/* 0x50, 0x60 (delivered again, not injected again), 0x61 twice (put
	 * back pending behind the #GP, then injected anew). */
	KASSERT_EQ(injected, 4);
}

/* --- the flood ------------------------------------------------------------ */

#define FLOOD_FIRST   0x30
#define FLOOD_VECTORS 0xc0        /* 0x30 .. 0xef */
#define FLOOD_RAISES  6000
#define FLOOD_TIMER_RAISES 400

struct flood {
	struct vcpu *v;
	uint32_t newly[256];          /* raises that found the vector not pending */
	uint32_t raises;
	struct hrtimer timer;
	int timer_left;
	struct spinlock lock;
	struct waitq done;
	int finished;                 /* the raiser thread and the timer */
};

static void flood_count(struct flood *f, uint8_t vector)
{
	if (vcpu_raise_interrupt(f->v, vector))
		__atomic_add_fetch(&f->newly[vector], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->raises, 1, __ATOMIC_RELAXED);
}

static void flood_finished(struct flood *f)
{
	spin_lock(&f->lock);
	f->finished++;
	waitq_wake_all(&f->done);
	spin_unlock(&f->lock);
}

/* From interrupt context: a raise every 100 us. */
static void flood_tick(void *arg)
{
	struct flood *f = arg;
	flood_count(f, (uint8_t)(FLOOD_FIRST + (f->timer_left * 7) % FLOOD_VECTORS));
	if (--f->timer_left > 0)
		hrtimer_start(&f->timer, rdtsc() + hrtimer_us_to_tsc(100), flood_tick, f);
	else
		flood_finished(f);
}

static void flood_thread(void *arg)
{
	struct flood *f = arg;
	hrtimer_start(&f->timer, rdtsc() + hrtimer_us_to_tsc(100), flood_tick, f);
	for (int i = 0; i < FLOOD_RAISES; i++)
		flood_count(f, (uint8_t)(FLOOD_FIRST + (i * 13) % FLOOD_VECTORS));
	flood_finished(f);
}

KTEST(kev_irq_flood_from_another_cpu_loses_and_duplicates_nothing)
{
	KASSERT(ncpus >= 2);
	static struct flood f;
	struct apic_ctl a;
	memset(&f, 0, sizeof(f));
	spinlock_init(&f.lock, "flood");
	waitq_init(&f.done);
	f.timer_left = FLOOD_TIMER_RAISES;
	struct vm *vm = irq_vm(GUEST_IMAGE(irq_flood), &a);
	vm_pin_vcpu(vm, 0, 1);
	f.v = vm->vcpus[0];
	KASSERT(vm_run(vm));
	struct thread *t = thread_create_on("flood", 0, flood_thread, &f);
	KASSERT(t);
	spin_lock(&f.lock);
	while (f.finished < 2)
		waitq_wait(&f.done, &f.lock);
	spin_unlock(&f.lock);
	thread_join(t);
	vcpu_raise_interrupt(f.v, 0x21);     /* the lowest class: after every other */
	int status = vm_join(vm);
	enum vm_error err = vm_error(vm);
	const uint64_t *counts = vm_gpa_to_hva(vm, IRQ_COUNTS_GPA);
	int wrong = -1;
	uint64_t delivered = 0;
	for (int v = FLOOD_FIRST; v < FLOOD_FIRST + FLOOD_VECTORS; v++) {
		delivered += counts[v];
		if (counts[v] != f.newly[v] && wrong < 0)
			wrong = v;
	}
	uint64_t got = wrong >= 0 ? counts[wrong] : 0, want = wrong >= 0 ? f.newly[wrong] : 0;
	struct vcpu_stats st = vm->vcpus[0]->stats;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	printk("kev: flood: %u raises (%lu from timer interrupts), %lu deliveries, %lu exits, "
	       "%lu halts, %lu window exits\n", f.raises, (uint64_t)FLOOD_TIMER_RAISES, delivered,
	       st.exits, st.halts, st.window_exits);
	if (wrong >= 0)
		ktest_fail(__FILE__, __LINE__, "vector 0x%x delivered %lu times for %lu raises that found it not pending",
		           wrong, got, want);
	KASSERT_EQ(st.injected, delivered + 1);
}

/* --- HLT ------------------------------------------------------------------ */

static void raise_0x71(void *arg)
{
	vcpu_raise_interrupt(arg, 0x71);
}

/* Waits (a tick at a time) until v sleeps in HLT. */
static void wait_halted(struct vcpu *v)
{
	for (int i = 0; i < 20 * TIMER_HZ && v->run_state != VCPU_HALTED; i++)
		thread_sleep(1);
	KASSERT_EQ(v->run_state, VCPU_HALTED);
}

KTEST(kev_hlt_sleeps_until_a_raise_or_a_timer)
{
	struct apic_ctl a;
	struct vm *vm = irq_vm(GUEST_IMAGE(irq_hlt), &a);
	struct vcpu *v = vm->vcpus[0];
	KASSERT(vm_run(vm));
	wait_halted(v);
	uint64_t exits_halted = v->stats.exits;
	thread_sleep(5);                       /* a halted vCPU makes no exits meanwhile */
	KASSERT_EQ(v->stats.exits, exits_halted);
	vcpu_raise_interrupt(v, 0x70);
	while (v->stats.halts < 2 || v->run_state != VCPU_HALTED)
		thread_sleep(1);
	struct hrtimer t = HRTIMER_INIT;
	hrtimer_start(&t, rdtsc() + hrtimer_us_to_tsc(2000), raise_0x71, v);
	int status = vm_join(vm);
	hrtimer_cancel(&t);
	enum vm_error err = vm_error(vm);
	struct vcpu_stats st = v->stats;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(st.halts, 2);
	KASSERT_EQ(st.injected, 2);
}

KTEST(kev_hlt_ends_at_the_deadline)
{
	struct apic_ctl a;
	struct vm *vm = irq_vm(GUEST_IMAGE(irq_hlt), &a);
	vm->vcpus[0]->state.gpr[GPR_RDI] = 1;     /* halt forever */
	vm_set_timeout(vm, 30);
	uint64_t start = rdtsc();
	kev_test_run(vm);
	uint64_t ms = hrtimer_tsc_to_us(rdtsc() - start) / 1000;
	enum vm_error err = vm_error(vm);
	bool named = kev_contains(vm_report(vm), "deadline");
	bool stuck = vm_is_stuck(vm);
	uint64_t exits = vm->vcpus[0]->stats.exits, halts = vm->vcpus[0]->stats.halts;
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_TIMEOUT);
	KASSERT(named);
	KASSERT(!stuck);
	KASSERT(ms >= 300);
	KASSERT_EQ(halts, 1);             /* one HLT slept the whole time */
	KASSERT(exits < 20);
}

KTEST(kev_hlt_with_interrupts_off_stops_the_vm)
{
	struct apic_ctl a;
	struct vm *vm = irq_vm(GUEST_IMAGE(irq_hlt), &a);
	vm->vcpus[0]->state.gpr[GPR_RDI] = 2;
	kev_test_run(vm);
	enum vm_error err = vm_error(vm);
	char report[KEV_REPORT_SIZE];
	ksnprintf(report, sizeof(report), "%s", vm_report(vm));
	vm_destroy(vm);
	KASSERT_EQ(err, VM_ERR_UNHANDLED_EXIT);
	KASSERT(kev_contains(report, "HLT with interrupts disabled at rip 0x"));
	KASSERT(!kev_contains(report, "\n"));       /* one line */
}

KTEST(kev_irq_vectors_below_16_refused)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	struct vcpu *v = vm->vcpus[0];
	KASSERT(!vcpu_raise_interrupt(v, 2));
	KASSERT(!vcpu_interrupt_pending(v, 2));
	KASSERT(vcpu_raise_interrupt(v, 16));
	KASSERT(!vcpu_raise_interrupt(v, 16));      /* merges with the pending one */
	KASSERT(vcpu_interrupt_pending(v, 16));
	vcpu_set_tpr(v, 0x20);
	KASSERT_EQ(vcpu_get_tpr(v), 0x20);
	vm_destroy(vm);
}

/* A vCPU running in the guest on another CPU (a loop without exits) gets a
 * raise through the kick IPI, which ends its guest run; without the kick it
 * would wait for that CPU's next timer interrupt. QEMU's TCG takes a few
 * milliseconds to deliver an IPI between its CPUs, so the latency is printed
 * and the kicks that CPU received are counted, not timed. */
KTEST(kev_irq_kick_reaches_a_running_guest)
{
	KASSERT(ncpus >= 2);
	struct apic_ctl a;
	struct vm *vm = irq_vm(GUEST_IMAGE(irq_hlt), &a);
	vm->vcpus[0]->state.gpr[GPR_RDI] = 3;
	vm_pin_vcpu(vm, 0, 1);
	struct vcpu *v = vm->vcpus[0];
	KASSERT(vm_run(vm));
	const volatile uint64_t *count = vm_gpa_to_hva(vm, IRQ_COUNTS_GPA + 0x70 * 8);
	int before_tick = 0, delivered = 0;
	uint64_t kicks = cpus[1].kicks, total_us = 0;
	for (int i = 0; i < 20; i++) {
		while (v->run_state != VCPU_IN_GUEST)
			thread_yield();
		uint64_t ticks = cpus[1].ticks, start = rdtsc();
		vcpu_raise_interrupt(v, 0x70);
		while (*count == (uint64_t)i && rdtsc() - start < hrtimer_us_to_tsc(1000000))
			pause();
		if (*count == (uint64_t)i + 1)
			delivered++;
		total_us += hrtimer_tsc_to_us(rdtsc() - start);
		if (*count == (uint64_t)i + 1 && cpus[1].ticks == ticks)
			before_tick++;
	}
	kicks = cpus[1].kicks - kicks;
	vcpu_raise_interrupt(v, 0x21);
	int status = vm_join(vm);
	enum vm_error err = vm_error(vm);
	vm_destroy(vm);
	printk("kev: kick: 20 raises to a guest running on cpu 1: %lu kicks taken there, mean delivery "
	       "%lu us, %d delivered before that CPU's next tick\n", kicks, total_us / 20, before_tick);
	KASSERT_EQ(err, VM_ERR_NONE);
	KASSERT_EQ(status, 0);
	KASSERT_EQ(delivered, 20);
	KASSERT(kicks >= 10);     /* a raise finds the vCPU between runs now and then */
}
