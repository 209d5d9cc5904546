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
/* n physically contiguous zero-filled pages, or NULL. */
void *page_alloc_run(size_t n);
/* Returns a run from page_alloc_run(); panics on misuse like page_free(). */
void page_free_run(void *first, size_t n);
/* Hands the memory [start, start + bytes) (kernel virtual) to the allocator; false if it cannot be used. */
bool palloc_add_region(void *start, size_t bytes);
/* Number of free pages right now (tests use it to detect leaks). */
size_t page_free_count(void);
#endif
