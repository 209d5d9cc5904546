/* ACPI, as far as keos needs it: the CPUs listed in the MADT. */
#ifndef KEOS_DEV_ACPI_H
#define KEOS_DEV_ACPI_H
#include <stdint.h>
/* Fills apic_ids with the local APIC ids of enabled CPUs (at most max); returns the count, 0 without ACPI. */
int acpi_cpu_apic_ids(uint32_t *apic_ids, int max);
#endif
