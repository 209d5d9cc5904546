/* The local APIC: this CPU's timer, end-of-interrupt, and inter-processor
 * interrupts (starting application processors, kicking a CPU out of a guest,
 * asking a CPU for its backtrace with an NMI). */
#ifndef KEOS_DEV_LAPIC_H
#define KEOS_DEV_LAPIC_H
#include <stdint.h>

/* Enables this CPU's local APIC (spurious vector, no masking by priority). */
void lapic_init(void);
/* This CPU's APIC id. */
uint32_t lapic_id(void);
/* Signals end of interrupt for the interrupt being handled. */
void lapic_eoi(void);
/* Measures the timer frequency against the PIT (bootstrap CPU, once). */
void lapic_timer_calibrate(void);
/* The TSC frequency in kHz, measured with the timer (0 before calibration). */
uint32_t tsc_khz(void);
/* The timer's count rate in Hz at the divider keos uses (0 before calibration). */
uint64_t lapic_timer_hz(void);
/* Fires VECTOR_TIMER once on this CPU after count timer periods (count >= 1). */
void lapic_timer_oneshot(uint32_t count);
/* Sends INIT then two STARTUP IPIs so the CPU apic_id starts at physical page vector_page. */
void lapic_start_ap(uint32_t apic_id, uint8_t vector_page);
/* Sends a fixed interrupt of vector to every other CPU. */
void lapic_ipi_others(uint8_t vector);
/* Sends a fixed interrupt of vector to the CPU apic_id (callable from interrupt context). */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
/* Sends an NMI to the CPU apic_id: it arrives even while that CPU runs with interrupts off. */
void lapic_send_nmi(uint32_t apic_id);
#endif
