/* The legacy 8254 programmable interval timer, used only as a known clock to
 * calibrate the local APIC timer and to wait during AP start-up. */
#ifndef KEOS_DEV_PIT_H
#define KEOS_DEV_PIT_H
#include <stdint.h>
/* Busy-waits about us microseconds (at most 50000 per call), measured by PIT channel 2. */
void pit_delay_us(uint32_t us);
#endif
