/* The local APIC: this CPU's timer, end-of-interrupt, and inter-processor
 * interrupts (used to start application processors). */
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
/* Starts this CPU's periodic timer at hz interrupts per second on VECTOR_TIMER. */
void lapic_timer_start(unsigned hz);
/* Sends INIT then two STARTUP IPIs so the CPU apic_id starts at physical page vector_page. */
void lapic_start_ap(uint32_t apic_id, uint8_t vector_page);
/* Sends a fixed interrupt of vector to every other CPU. */
void lapic_ipi_others(uint8_t vector);
#endif
