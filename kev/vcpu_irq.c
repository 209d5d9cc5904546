/* Virtual interrupts: the local APIC's IRR/ISR/TPR rules, injection and kicks.
 *
 * Ownership: IRR bits are set by any thread or interrupt handler with an
 * atomic OR and cleared only by the vCPU's thread (atomic AND) when it
 * injects; ISR and TPR belong to the vCPU's thread (the loop and the exit
 * handlers it calls), so they need no lock.
 *
 * No lost wake-up: a raiser sets the IRR bit, then reads run_state; the
 * vCPU's thread sets run_state (VCPU_IN_GUEST before VMRUN, VCPU_HALTED
 * before sleeping), then reads the IRR. Both are sequentially consistent, so
 * at least one side sees the other: either the vCPU finds the vector itself,
 * or the raiser kicks it. The kick IPI may arrive before VMRUN (the CPU has
 * interrupts off from run_state = IN_GUEST on); it then stays pending and
 * makes VMRUN exit at once with INTR. A halted vCPU sleeps on halt_wq with
 * halt_lock released atomically, and a raiser wakes it under that lock, so a
 * wake-up cannot fall between the check and the sleep.
 *
 * Priority (the APIC's): a vector's class is vector >> 4; it is delivered
 * only if its class is above both TPR >> 4 and the class of the highest
 * vector in service. Injecting moves the vector from IRR to ISR; EOI clears
 * the highest ISR bit.
 *
 * The window: under QEMU 7.2's SVM, with V_IRQ set and the VINTR intercept
 * on, the guest exits with VINTR at the first instruction boundary where it
 * has RFLAGS.IF set and no interrupt shadow; the loop then injects through
 * event_inj. (QEMU does not reload int_state's shadow at VMRUN, so after an
 * exit inside an STI shadow the window opens one instruction early.) */
#include "kev/vcpu_irq.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/vmcb.h"
#include "keos/arch/cpu.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"
#include <string.h>

#define V_IGN_TPR (1u << 20)
#define INT_STATE_SHADOW 1u
#define FIRST_VECTOR 16

void vcpu_irq_init(struct vcpu *v)
{
	memset(&v->irq, 0, sizeof(v->irq));
	spinlock_init(&v->irq.halt_lock, "vcpu-halt");
	waitq_init(&v->irq.halt_wq);
}

/* The highest vector set in a 256-bit set, or -1. */
static int highest(const uint64_t set[4])
{
	for (int w = 3; w >= 0; w--) {
		uint64_t bits = __atomic_load_n(&set[w], __ATOMIC_SEQ_CST);
		if (bits)
			return w * 64 + 63 - __builtin_clzll(bits);
	}
	return -1;
}

/* The highest pending vector the priority rules let through now, or -1. */
static int deliverable(const struct vcpu *v)
{
	int vec = highest(v->irq.irr);
	if (vec < 0)
		return -1;
	int in_service = highest(v->irq.isr);
	int ppr_class = v->irq.tpr >> 4;
	if (in_service >= 0 && (in_service >> 4) > ppr_class)
		ppr_class = in_service >> 4;
	return (vec >> 4) > ppr_class ? vec : -1;
}

static uint64_t bit(uint8_t vector)
{
	return 1ull << (vector % 64);
}

bool vcpu_raise_interrupt(struct vcpu *v, uint8_t vector)
{
	if (vector < FIRST_VECTOR)
		return false;
	uint64_t old = __atomic_fetch_or(&v->irq.irr[vector / 64], bit(vector), __ATOMIC_SEQ_CST);
	vcpu_kick(v);
	return !(old & bit(vector));
}

void vcpu_kick(struct vcpu *v)
{
	int state = __atomic_load_n(&v->run_state, __ATOMIC_SEQ_CST);
	if (state == VCPU_IN_GUEST) {
		/* Never this CPU: the vCPU's thread keeps interrupts off from
		 * IN_GUEST until it has left it, so a raiser here is elsewhere. */
		lapic_send_ipi(cpus[v->cpu].apic_id, VECTOR_KICK);
	} else if (state == VCPU_HALTED) {
		spin_lock(&v->irq.halt_lock);
		waitq_wake_all(&v->irq.halt_wq);
		spin_unlock(&v->irq.halt_lock);
	}
}

void vcpu_eoi(struct vcpu *v)
{
	int vec = highest(v->irq.isr);
	if (vec >= 0)
		v->irq.isr[vec / 64] &= ~bit((uint8_t)vec);
}

void vcpu_set_tpr(struct vcpu *v, uint8_t tpr)
{
	v->irq.tpr = tpr;
}

uint8_t vcpu_get_tpr(const struct vcpu *v)
{
	return v->irq.tpr;
}

bool vcpu_interrupt_pending(const struct vcpu *v, uint8_t vector)
{
	return __atomic_load_n(&v->irq.irr[vector / 64], __ATOMIC_SEQ_CST) & bit(vector);
}

bool vcpu_interrupt_in_service(const struct vcpu *v, uint8_t vector)
{
	return v->irq.isr[vector / 64] & bit(vector);
}

static void set_window(struct vcpu *v, bool on)
{
	struct vmcb_control_area *c = &v->vmcb->control;
	if (on) {
		c->int_ctl |= V_IRQ | V_IGN_TPR;
		c->int_vector = 0;
		c->intercept_misc1 |= INTERCEPT1_VINTR;
	} else {
		c->int_ctl &= ~(V_IRQ | V_IGN_TPR);
		c->intercept_misc1 &= ~INTERCEPT1_VINTR;
	}
	v->irq.window = on;
}

void vcpu_irq_before_vmrun(struct vcpu *v)
{
	int vec = deliverable(v);
	if (vec < 0) {
		if (v->irq.window)
			set_window(v, false);
		return;
	}
	struct vmcb_control_area *c = &v->vmcb->control;
	bool open = (v->state.rflags & RFLAGS_IF) && !(c->int_state & INT_STATE_SHADOW) &&
	            !(c->event_inj & EVENT_VALID);
	if (!open) {
		if (!v->irq.window)
			set_window(v, true);
		return;
	}
	uint8_t vector = (uint8_t)vec;
	__atomic_fetch_and(&v->irq.irr[vector / 64], ~bit(vector), __ATOMIC_SEQ_CST);
	v->irq.isr[vector / 64] |= bit(vector);
	c->event_inj = EVENT_VALID | EVENT_TYPE_INTR | vector;
	c->event_inj_err = 0;
	v->stats.injected++;
	if (v->irq.window)
		set_window(v, false);
}

void vcpu_irq_redeliver(struct vcpu *v, const struct exit_reason *e)
{
	if (!(e->int_info & EVENT_VALID) || (e->int_info & EVENT_TYPE_MASK) != EVENT_TYPE_INTR)
		return;
	struct vmcb_control_area *c = &v->vmcb->control;
	uint8_t vector = e->int_info & EVENT_VECTOR_MASK;
	if (!(c->event_inj & EVENT_VALID)) {
		c->event_inj = e->int_info & ~EVENT_ERROR_VALID;
		c->event_inj_err = 0;
		return;
	}
	/* A handler's exception goes first; the interrupt waits its turn. */
	v->irq.isr[vector / 64] &= ~bit(vector);
	__atomic_fetch_or(&v->irq.irr[vector / 64], bit(vector), __ATOMIC_SEQ_CST);
}

static void halt_deadline(void *arg)
{
	vcpu_kick(arg);
}

void vcpu_halt(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct hrtimer deadline = HRTIMER_INIT;
	if (vm->deadline_tsc)
		hrtimer_start(&deadline, vm->deadline_tsc, halt_deadline, v);
	v->stats.halts++;
	spin_lock(&v->irq.halt_lock);
	__atomic_store_n(&v->run_state, VCPU_HALTED, __ATOMIC_SEQ_CST);
	while (deliverable(v) < 0 && !vm_stopping(vm) &&
	       !vm_past_deadline(vm))
		waitq_wait(&v->irq.halt_wq, &v->irq.halt_lock);
	__atomic_store_n(&v->run_state, VCPU_IN_HANDLER, __ATOMIC_SEQ_CST);
	spin_unlock(&v->irq.halt_lock);
	hrtimer_cancel(&deadline);
}
