/* The kernel's address space.
 *
 * The kernel image is linked at KERNBASE (the top 2 GiB) and loaded at
 * physical 1 MiB. The first 4 GiB of physical memory (RAM and the local
 * APIC) are mapped again at PHYS_MAP_BASE: any physical address below 4 GiB
 * is reachable as phys_to_virt(pa). Both maps use 2 MiB pages built at boot
 * (keos/arch/boot.S). */
#ifndef KEOS_MM_VM_H
#define KEOS_MM_VM_H
#include <stdint.h>

#define KERNBASE       0xffffffff80000000ull
#define PHYS_MAP_BASE  0xffff800000000000ull
#define PHYS_MAP_SIZE  (4ull << 30)

/* Kernel virtual address of physical address pa (pa < 4 GiB). */
static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)(pa + PHYS_MAP_BASE); }

/* Physical address of a direct-map or kernel-image virtual address. */
static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)(uintptr_t)va;
	return v >= KERNBASE ? v - KERNBASE : v - PHYS_MAP_BASE;
}
#endif
