/* The lazy guest pager: guest RAM is mapped page by page on first touch.
 *
 * kernel_vm_pager_from_image() validates a keos ELF image (the file gKeOS)
 * for a VM with ram_kib KiB of RAM; pager_attach() gives it a VM created with
 * vm_create_lazy(). From then on a nested page fault (or a probe access) on a
 * RAM page that is not mapped yet loads it: bytes of the image's segments
 * read from the file, zeros elsewhere. RAM ends below the MMIO hole at
 * PAGER_MMIO_HOLE (3 GiB): guest-physical addresses there belong to devices,
 * which place their pages with pager_map_page(). */
#ifndef PROJECT3_KEOS_VM_PAGER_H
#define PROJECT3_KEOS_VM_PAGER_H
#include "kev/types.h"
#include "project3/ept.h"    /* enum ept_perm, enum ept_mapping_error */
#include "project3/keos_vm/elf.h"

#define PAGER_MMIO_HOLE      0xc0000000ull
#define PAGER_MULTIBOOT_GPA  0x9000ull      /* the multiboot information page */
#define PAGER_MIN_RAM_KIB    (4u * 1024)

struct kernel_vm_pager;
struct file;
struct vm;

enum pager_error {
	PAGER_OK = 0,
	PAGER_ERR_RAM_SIZE,       /* RAM too small, or reaching into the MMIO hole */
	PAGER_ERR_ELF,            /* the image is not a valid keos ELF (see elf_error) */
	PAGER_ERR_SEGMENT,        /* a segment lies outside RAM or below 1 MiB */
	PAGER_ERR_NO_MEMORY,
	PAGER_ERR_CMDLINE,        /* the command line does not fit the information page */
};

/* A pager for image in a VM of ram_kib KiB; NULL on error (*err, and *elf_err for PAGER_ERR_ELF). */
struct kernel_vm_pager *kernel_vm_pager_from_image(struct file *image, uint64_t ram_kib,
                                                   enum pager_error *err, enum elf_error *elf_err);
/* Frees the pager (not the VM, nor the pages it loaded: vm_destroy frees those). */
void pager_free(struct kernel_vm_pager *p);
/* Binds the pager to vm (created with vm_create_lazy and the pager's RAM size). */
void pager_attach(struct kernel_vm_pager *p, struct vm *vm);
/* Writes the multiboot information (memory map, cmdline) into guest RAM; false if it does not fit. */
bool pager_write_multiboot(struct kernel_vm_pager *p, const char *cmdline);
/* The guest-physical entry point of the image (32-bit). */
uint32_t pager_entry(const struct kernel_vm_pager *p);
/* Loads and maps the RAM page holding gpa if it is not mapped yet; true once it is mapped, false if gpa is not RAM or loading failed. */
bool try_lazy_paging(struct kernel_vm_pager *p, gpa_t gpa);
/* Guest RAM size in bytes. */
uint64_t pager_ram_bytes(const struct kernel_vm_pager *p);
/* Pages loaded from the image and pages zero-filled so far. */
void pager_stats(const struct kernel_vm_pager *p, uint64_t *loaded, uint64_t *zeroed);
/* A short English description of an error code. */
const char *pager_strerror(enum pager_error e);
/* Maps the host page at kernel virtual address page (page-aligned) at gpa with perm; gpa must be outside RAM. */
enum ept_mapping_error pager_map_page(struct kernel_vm_pager *pager, gpa_t gpa,
                                      void *page, unsigned perm);
#endif
