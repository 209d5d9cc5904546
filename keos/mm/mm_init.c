/* Boot-time memory discovery. Only RAM above the end of the kernel image is
 * used: the first MiB holds the BIOS data and the AP trampoline, and the
 * image itself sits at 1 MiB. The loader's structures may lie in the RAM we
 * are about to hand out (QEMU puts them right after the image), so the map
 * is copied before any region is given to the allocator. RAM above 4 GiB is
 * outside the direct map and ignored. */
#include "keos/mm/mm_init.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/boot/multiboot.h"
#include "keos/lib/printk.h"

#define MAX_RANGES 32

struct range { uint64_t lo, hi; };

extern char _kernel_end[];

static uint64_t add_range(struct range r)
{
	uint64_t floor = virt_to_phys(_kernel_end);
	if (r.lo < floor)
		r.lo = floor;
	if (r.hi > PHYS_MAP_SIZE)
		r.hi = PHYS_MAP_SIZE;
	if (r.hi <= r.lo)
		return 0;
	if (!palloc_add_region(phys_to_virt(r.lo), r.hi - r.lo)) {
		printk("mm: ignoring RAM 0x%lx-0x%lx (too small or too many regions)\n", r.lo, r.hi);
		return 0;
	}
	return r.hi - r.lo;
}

static int read_ranges(const struct multiboot_info *mbi, struct range *out)
{
	int n = 0;
	if (mbi->flags & MULTIBOOT_INFO_MEM_MAP) {
		uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
		while (p < end && n < MAX_RANGES) {
			const struct multiboot_mmap_entry *e = phys_to_virt(p);
			if (e->type == MULTIBOOT_MEMORY_AVAILABLE)
				out[n++] = (struct range){ e->addr, e->addr + e->len };
			p += e->size + sizeof(e->size);
		}
	} else if (mbi->flags & MULTIBOOT_INFO_MEMORY) {
		out[n++] = (struct range){ 0x100000, 0x100000 + (uint64_t)mbi->mem_upper * 1024 };
	} else {
		panic("the boot loader passed no memory map");
	}
	return n;
}

uint64_t mm_init(const struct multiboot_info *mbi)
{
	struct range ranges[MAX_RANGES];
	int n = read_ranges(mbi, ranges);
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += add_range(ranges[i]);
	if (!total)
		panic("no usable RAM above the kernel");
	return total;
}
