/* Memory set-up at boot, from the multiboot memory map. */
#ifndef KEOS_MM_MM_INIT_H
#define KEOS_MM_MM_INIT_H
#include <stdint.h>
struct multiboot_info;
/* Gives every available RAM range above the kernel and below 4 GiB to the page allocator; returns bytes handed over. */
uint64_t mm_init(const struct multiboot_info *mbi);
#endif
