/* The lazy pager for a keos guest.
 *
 * Nothing of the guest is loaded up front but the multiboot information
 * page. The first touch of a RAM page, by a vCPU (a nested page fault that
 * project3/vmexit/mmio.c routes here) or by the host (the probe, through
 * vm->npt_miss), allocates a zeroed host page, copies into it the bytes of
 * every ELF segment that overlaps it (segment file bytes; the rest of a
 * segment, its .bss, stays zero), records it in vm->ram[] and maps it RWX in
 * the nested table.
 *
 * Two vCPUs may fault on the same page at once: loads run under the pager's
 * lock and a page already in vm->ram[] is not loaded again, so a page is
 * never mapped twice nor leaked. The lock is a spinlock because the probe
 * may ask for a page from inside a device handler that holds its own
 * spinlock; the file is read with interrupts off (the disk driver polls). */
#include "project3/keos_vm/pager.h"
#include "keos/boot/multiboot.h"
#include "keos/fs/fs.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/sync/spinlock.h"
#include "kev/vm.h"
#include <string.h>

struct kernel_vm_pager {
	struct vm *vm;
	struct file *image;
	struct elf_image elf;
	uint64_t ram_bytes;
	struct spinlock lock;
	uint64_t loaded, zeroed;
};

/* Layout of the multiboot information page at PAGER_MULTIBOOT_GPA. */
#define MBI_MMAP_OFFSET    0x100
#define MBI_CMDLINE_OFFSET 0x200

static int read_image(void *ctx, uint64_t off, void *buf, size_t len)
{
	int64_t n = file_read(ctx, off, buf, len);
	return n == (int64_t)len ? 0 : -1;
}

struct kernel_vm_pager *kernel_vm_pager_from_image(struct file *image, uint64_t ram_kib,
                                                   enum pager_error *err, enum elf_error *elf_err)
{
	*err = PAGER_OK;
	if (elf_err)
		*elf_err = ELF_OK;
	uint64_t ram = ram_kib * 1024;
	if (ram_kib < PAGER_MIN_RAM_KIB || ram_kib > PAGER_MMIO_HOLE / 1024 || ram % GUEST_PAGE_SIZE) {
		*err = PAGER_ERR_RAM_SIZE;
		return NULL;
	}
	struct kernel_vm_pager *p = kzalloc(sizeof(*p));
	if (!p) {
		*err = PAGER_ERR_NO_MEMORY;
		return NULL;
	}
	enum elf_error e = elf_parse(read_image, image, file_size(image), &p->elf);
	if (e != ELF_OK) {
		if (elf_err)
			*elf_err = e;
		*err = PAGER_ERR_ELF;
		kfree(p);
		return NULL;
	}
	for (unsigned i = 0; i < p->elf.nsegments; i++) {
		const struct elf_segment *s = &p->elf.segments[i];
		if (s->paddr < 0x100000 || s->paddr + s->memsz > ram) {
			*err = PAGER_ERR_SEGMENT;
			kfree(p);
			return NULL;
		}
	}
	p->image = image;
	p->ram_bytes = ram;
	spinlock_init(&p->lock, "pager");
	return p;
}

void pager_free(struct kernel_vm_pager *p)
{
	kfree(p);
}

static bool npt_miss(struct vm *vm, gpa_t gpa)
{
	return try_lazy_paging(vm->pager, gpa);
}

void pager_attach(struct kernel_vm_pager *p, struct vm *vm)
{
	if (vm->ram_bytes != p->ram_bytes)
		panic("pager for %lu bytes of RAM attached to a VM with %lu", p->ram_bytes, vm->ram_bytes);
	p->vm = vm;
	vm->pager = p;
	vm->npt_miss = npt_miss;
}

uint32_t pager_entry(const struct kernel_vm_pager *p)
{
	return (uint32_t)p->elf.entry_paddr;
}

uint64_t pager_ram_bytes(const struct kernel_vm_pager *p)
{
	return p->ram_bytes;
}

void pager_stats(const struct kernel_vm_pager *p, uint64_t *loaded, uint64_t *zeroed)
{
	*loaded = p->loaded;
	*zeroed = p->zeroed;
}

/* Copies into page (guest-physical pg) the file bytes of every segment that overlaps it. */
static bool fill_from_image(struct kernel_vm_pager *p, gpa_t pg, uint8_t *page, bool *touched)
{
	*touched = false;
	for (unsigned i = 0; i < p->elf.nsegments; i++) {
		const struct elf_segment *s = &p->elf.segments[i];
		uint64_t lo = s->paddr > pg ? s->paddr : pg;
		uint64_t file_end = s->paddr + s->filesz;
		uint64_t hi = file_end < pg + GUEST_PAGE_SIZE ? file_end : pg + GUEST_PAGE_SIZE;
		if (lo >= hi)
			continue;
		if (read_image(p->image, s->offset + (lo - s->paddr), page + (lo - pg), hi - lo))
			return false;
		*touched = true;
	}
	return true;
}

bool try_lazy_paging(struct kernel_vm_pager *p, gpa_t gpa)
{
	struct vm *vm = p->vm;
	if (gpa >= p->ram_bytes)
		return false;
	gpa_t pg = gpa & ~(GUEST_PAGE_SIZE - 1);
	size_t i = pg / GUEST_PAGE_SIZE;
	bool ok = true;
	spin_lock(&p->lock);
	if (!vm->ram[i]) {
		uint8_t *page = page_alloc();
		bool from_image = false;
		if (!page || !fill_from_image(p, pg, page, &from_image) ||
		    vm_npt_map(vm, pg, page, EPT_PERM_RWX) != EPT_OK) {
			if (page)
				page_free(page);
			printk("pager: cannot load guest page 0x%lx (%s)\n", pg,
			       page ? "image read or mapping failed" : "out of memory");
			ok = false;
		} else {
			vm->ram[i] = page;
			if (from_image)
				p->loaded++;
			else
				p->zeroed++;
		}
	}
	spin_unlock(&p->lock);
	return ok;
}

bool pager_write_multiboot(struct kernel_vm_pager *p, const char *cmdline)
{
	size_t cmdlen = strlen(cmdline);
	if (cmdlen + 1 > GUEST_PAGE_SIZE - MBI_CMDLINE_OFFSET)
		return false;
	if (!try_lazy_paging(p, PAGER_MULTIBOOT_GPA))
		return false;
	uint8_t *page = p->vm->ram[PAGER_MULTIBOOT_GPA / GUEST_PAGE_SIZE];
	/* Conventional memory below the page itself, then RAM from 1 MiB. The
	 * information page and everything below 1 MiB above it is reserved. */
	struct multiboot_mmap_entry map[] = {
		{ 20, 0, PAGER_MULTIBOOT_GPA, MULTIBOOT_MEMORY_AVAILABLE },
		{ 20, PAGER_MULTIBOOT_GPA, 0x100000 - PAGER_MULTIBOOT_GPA, 2 },
		{ 20, 0x100000, p->ram_bytes - 0x100000, MULTIBOOT_MEMORY_AVAILABLE },
	};
	struct multiboot_info mbi = {
		.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MEM_MAP,
		.mem_lower = PAGER_MULTIBOOT_GPA / 1024,
		.mem_upper = (uint32_t)((p->ram_bytes - 0x100000) / 1024),
		.cmdline = (uint32_t)(PAGER_MULTIBOOT_GPA + MBI_CMDLINE_OFFSET),
		.mmap_length = sizeof(map),
		.mmap_addr = (uint32_t)(PAGER_MULTIBOOT_GPA + MBI_MMAP_OFFSET),
	};
	memset(page, 0, GUEST_PAGE_SIZE);
	memcpy(page, &mbi, sizeof(mbi));
	memcpy(page + MBI_MMAP_OFFSET, map, sizeof(map));
	memcpy(page + MBI_CMDLINE_OFFSET, cmdline, cmdlen + 1);
	return true;
}

enum ept_mapping_error pager_map_page(struct kernel_vm_pager *pager, gpa_t gpa,
                                      void *page, unsigned perm)
{
	if (gpa < pager->ram_bytes)
		return EPT_ERR_DUPLICATED;       /* RAM pages are the pager's own */
	return vm_npt_map(pager->vm, gpa, page, perm);
}

const char *pager_strerror(enum pager_error e)
{
	switch (e) {
	case PAGER_OK: return "ok";
	case PAGER_ERR_RAM_SIZE: return "guest RAM size is too small, not page-sized or reaches the MMIO hole";
	case PAGER_ERR_ELF: return "the guest image is not a valid keos ELF file";
	case PAGER_ERR_SEGMENT: return "a segment of the guest image lies outside guest RAM or below 1 MiB";
	case PAGER_ERR_NO_MEMORY: return "out of memory";
	case PAGER_ERR_CMDLINE: return "the guest command line is too long";
	}
	return "unknown pager error";
}
