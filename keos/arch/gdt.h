/* Segment selectors of the kernel GDT (keos/arch/cpu.c). The first three
 * match the boot GDT (keos/arch/boot.S), so the selectors stay valid when
 * the per-CPU GDT replaces it. */
#ifndef KEOS_ARCH_GDT_H
#define KEOS_ARCH_GDT_H
#define GDT_KCODE   0x08
#define GDT_KDATA   0x10
#define GDT_KCODE32 0x18
#define GDT_TSS     0x20
#endif
