/* Running as a guest of kev (gKeOS): detection and the paravirtual clock.
 * Under kev there is no xAPIC, PIT, ACPI or PCI device: boot skips them and
 * time comes from the TSC, whose rate kev reports. A VM with an x2APIC
 * (CPUID leaf 1: x2APIC and TSC-deadline) gets the scheduler tick from its
 * TSC-deadline timer (keos/dev/x2apic_timer.c) and runs preemptively;
 * without one, threads switch only when they block or yield. */
#ifndef KEOS_ARCH_GUEST_H
#define KEOS_ARCH_GUEST_H
#include <stdbool.h>
#include <stdint.h>

/* Checks the kev CPUID signature once; true if keos runs under kev. */
bool guest_detect(void);
/* The result of guest_detect(). */
bool keos_is_guest(void);
/* TSC ticks per scheduler tick (guest only; 0 on the host). */
uint64_t guest_tsc_per_tick(void);
/* True if kev gave this guest an x2APIC with the TSC-deadline timer (guest only). */
bool guest_has_x2apic_timer(void);
/* Number of vCPUs kev gave this guest (guest only). */
int guest_vcpu_count(void);
/* VMMCALL with number nr and three arguments (kev/hypercall.h); returns RAX. */
long guest_hypercall(long nr, long a0, long a1, long a2);
#endif
