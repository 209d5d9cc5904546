/* The kernel heap: kmalloc/kfree for objects of any size.
 * Small sizes come from per-size-class slabs of pages; large ones take whole
 * page runs. (Design and invariants in kmalloc.c.) */
#ifndef KEOS_MM_KMALLOC_H
#define KEOS_MM_KMALLOC_H
#include <stddef.h>

/* size bytes, 16-byte aligned, uninitialized; NULL when memory is exhausted or size is 0. */
void *kmalloc(size_t size);
/* Like kmalloc but zero-filled. */
void *kzalloc(size_t size);
/* Frees a kmalloc block; NULL is ignored; panics on a double free or a foreign pointer. */
void kfree(void *p);
/* Number of blocks allocated and not yet freed (tests use it to detect leaks). */
size_t kmalloc_live_count(void);
#endif
