/* Starting the application processors. */
#ifndef KEOS_ARCH_SMP_H
#define KEOS_ARCH_SMP_H
/* Starts every CPU listed by ACPI, one at a time; returns the number of CPUs running. */
int smp_start_aps(void);
#endif
