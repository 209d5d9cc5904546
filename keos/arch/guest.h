/* Running as a guest of kev (gKeOS): detection and the paravirtual clock.
 * Under kev there is no local APIC, PIT, ACPI or PCI device: boot skips
 * them, the scheduler has no timer interrupt (threads switch when they
 * block or yield) and time comes from the TSC, whose rate kev reports. */
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
/* Number of vCPUs kev gave this guest (guest only). */
int guest_vcpu_count(void);
/* VMMCALL with number nr and three arguments (kev/hypercall.h); returns RAX. */
long guest_hypercall(long nr, long a0, long a1, long a2);
#endif
