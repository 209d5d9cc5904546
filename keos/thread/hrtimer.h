/* High-resolution one-shot timers on the TSC (host keos only).
 *
 * A timer runs its callback once, in interrupt context, on the CPU it was
 * armed on, as soon as that CPU's TSC reaches the deadline. Each CPU runs its
 * local APIC timer in one-shot mode, programmed for the earlier of its next
 * scheduler tick (TIMER_HZ, unchanged) and its earliest armed timer, so the
 * tick and the timers share one interrupt (see hrtimer.c).
 *
 *     struct hrtimer t = HRTIMER_INIT;
 *     hrtimer_start(&t, rdtsc() + hrtimer_us_to_tsc(500), fn, arg);
 *     ...
 *     hrtimer_cancel(&t);        // before t's memory goes away
 *
 * Callbacks run with interrupts off: they may take spinlocks, wake threads
 * (waitq_wake_*), raise vCPU interrupts, and re-arm their own timer; they
 * must not block. Under kev (gKeOS) there is no local APIC: arming panics. */
#ifndef KEOS_THREAD_HRTIMER_H
#define KEOS_THREAD_HRTIMER_H
#include "keos/thread/hrtimer_list.h"
#include <stdbool.h>
#include <stdint.h>

#define HRTIMER_INIT { 0 }

/* Arms t on the calling CPU: fn(arg) runs there once the TSC reaches tsc_deadline (at once if it already has); an armed t is re-armed. */
void hrtimer_start(struct hrtimer *t, uint64_t tsc_deadline, void (*fn)(void *arg), void *arg);
/* Arms t on CPU cpu; from another CPU, fn may run up to one scheduler tick after the deadline (that CPU reprograms at its next tick). */
void hrtimer_start_on(int cpu, struct hrtimer *t, uint64_t tsc_deadline, void (*fn)(void *arg), void *arg);
/* Disarms t; true if it was armed (fn will not run for it). Waits while fn runs on another CPU; never call it from t's own callback. */
bool hrtimer_cancel(struct hrtimer *t);
/* True while t is armed. */
bool hrtimer_armed(const struct hrtimer *t);
/* TSC cycles in us microseconds (0 before the local APIC timer is calibrated). */
uint64_t hrtimer_us_to_tsc(uint64_t us);
/* Microseconds in tsc TSC cycles. */
uint64_t hrtimer_tsc_to_us(uint64_t tsc);
/* Starts this CPU's timer interrupt: the first scheduler tick is one period away (called by the scheduler). */
void hrtimer_cpu_start(void);
#endif
