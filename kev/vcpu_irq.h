/* The run loop's side of virtual interrupts (kev/vcpu_irq.c); the public
 * side (raise, EOI, TPR) is in kev/vcpu.h. */
#ifndef KEV_VCPU_IRQ_H
#define KEV_VCPU_IRQ_H
#include "kev/types.h"
#include "kev/exit.h"

struct vcpu;

/* Empty IRR and ISR, TPR 0 (power-on). */
void vcpu_irq_init(struct vcpu *v);
/* Right before VMRUN, interrupts off, run_state already VCPU_IN_GUEST: injects
 * the highest deliverable vector if the guest can take it now (RFLAGS.IF, no
 * interrupt shadow, no event in event_inj), else asks for the interrupt
 * window (V_IRQ with the VINTR intercept); clears the window request when
 * nothing is deliverable. */
void vcpu_irq_before_vmrun(struct vcpu *v);
/* After an exit's handling: an external interrupt the exit interrupted
 * (exit_int_info of type INTR) is delivered again, unless a handler injected
 * an exception, which takes precedence: then the vector goes back to
 * pending (IRR) and out of service (ISR). */
void vcpu_irq_redeliver(struct vcpu *v, const struct exit_reason *e);
#endif
