/* gKeOS's scheduler tick from kev's x2APIC (the guest side of the device
 * in project4/dev/x2apic.c): each vCPU switches its local APIC to x2APIC
 * mode and runs its timer in TSC-deadline mode with VECTOR_TIMER, one tick
 * (TIMER_HZ) ahead, re-armed from every timer interrupt. Used only under kev
 * when CPUID shows x2APIC and TSC-deadline (guest_has_x2apic_timer). */
#ifndef KEOS_DEV_X2APIC_TIMER_H
#define KEOS_DEV_X2APIC_TIMER_H
#include <stdint.h>

/* Called from each timer interrupt, interrupts off, on the CPU that took it:
 * the deadline the tick was armed for and the TSC when the handler ran. */
typedef void (*x2apic_timer_observer)(uint64_t deadline, uint64_t now);

/* This CPU: x2APIC mode, software-enabled, LINT0/1 masked, TPR 0, the LVT timer in TSC-deadline mode with VECTOR_TIMER, first tick one period away. Again to restart it. */
void x2apic_timer_cpu_start(void);
/* Signals end of interrupt (the EOI MSR) for the interrupt being handled. */
void x2apic_timer_eoi(void);
/* TSC cycles between two ticks. */
uint64_t x2apic_timer_period(void);
/* Installs fn (NULL: none) to see every tick on every CPU (tests, the benchmark). */
void x2apic_timer_observe(x2apic_timer_observer fn);
#endif
