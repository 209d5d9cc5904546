/* The physical page allocator: 4 KiB frames from the multiboot memory map.
 * Pages are handed out as kernel virtual addresses in the direct map
 * (keos/mm/vm.h converts between physical and virtual). */
#ifndef KEOS_MM_PALLOC_H
#define KEOS_MM_PALLOC_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define PAGE_SIZE 4096ul

/* A zero-filled page, or NULL when physical memory is exhausted. */
void *page_alloc(void);
/* Returns a page from page_alloc(); panics on a double free or a foreign address. */
void page_free(void *page);
/* Number of free pages right now (tests use it to detect leaks). */
size_t page_free_count(void);
#endif
