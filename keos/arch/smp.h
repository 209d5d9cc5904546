/* Starting the application processors. */
#ifndef KEOS_ARCH_SMP_H
#define KEOS_ARCH_SMP_H
/* Starts every CPU listed by ACPI, one at a time; returns the number of CPUs running. */
int smp_start_aps(void);
/* Under kev: starts the other vCPUs kev offers; returns the number of CPUs running. */
int guest_smp_start(void);
#endif
