/* The second-level page table: guest-physical -> host-physical.
 *
 * The course calls it the EPT (Intel's name); kev runs on AMD SVM, where the
 * hardware format is AMD's nested page table (NPT): an ordinary x86-64
 * 4-level table (PML4, PDPT, PD, PT; 4 KiB leaves) whose root goes into the
 * VMCB's nested_cr3. The differences from a normal page table:
 *
 *   - every entry has U=1: the hardware treats nested walks as user accesses;
 *   - "read" is the present bit: a page cannot be writable or executable
 *     without being readable (EPT_ERR_BAD_PERM);
 *   - "no execute" is bit 63 (NX), honoured only with the host's EFER.NXE
 *     (kev sets it when it enables SVM).
 *
 * The table owns its intermediate table pages only: ept_unmap() hands the
 * mapped page back to the caller, and ept_destroy() frees the tables, never
 * the pages they map. Nothing here locks: the VM that owns the table
 * serializes changes (kev/vm.h: vm_npt_map/vm_npt_unmap). */
#ifndef PROJECT3_EPT_H
#define PROJECT3_EPT_H
#include "kev/types.h"

/* Nested-table permissions (course name: EPT permissions). */
enum ept_perm {
	EPT_PERM_READ  = 1 << 0,
	EPT_PERM_WRITE = 1 << 1,
	EPT_PERM_EXEC  = 1 << 2,
};
#define EPT_PERM_RWX (EPT_PERM_READ | EPT_PERM_WRITE | EPT_PERM_EXEC)

enum ept_mapping_error {
	EPT_OK = 0,
	EPT_ERR_DUPLICATED,    /* gpa already mapped */
	EPT_ERR_UNALIGNED,     /* gpa or page not page-aligned */
	EPT_ERR_NOT_EXIST,     /* unmap/walk of an unmapped gpa */
	EPT_ERR_NO_MEMORY,     /* no page for an intermediate table */
	EPT_ERR_BAD_PERM,      /* no read permission, or an unknown bit */
	EPT_ERR_OUT_OF_RANGE,  /* gpa beyond the guest-physical address width */
};

/* Guest-physical addresses are 48 bits wide (4 levels). */
#define EPT_GPA_BITS 48
/* Host-physical addresses an entry can hold (bits 12..51). */
#define EPT_HPA_BITS 52

struct ept {
	uint64_t *pml4;        /* the root table (host virtual) */
};

/* Allocates an empty root table. */
enum ept_mapping_error ept_init(struct ept *ept);
/* The root's host-physical address, for the VMCB's nested_cr3. */
hpa_t ept_root_pa(const struct ept *ept);
/* Maps the 4 KiB host page at hpa at gpa with perm (enum ept_perm bits).
 * Checks, in order: perm, alignment, range, then builds missing tables; a gpa
 * already mapped gives EPT_ERR_DUPLICATED and leaves the table unchanged. */
enum ept_mapping_error ept_map(struct ept *ept, gpa_t gpa, hpa_t hpa, unsigned perm);
/* Removes the mapping of gpa (page-aligned); the page it mapped goes to *hpa
 * (if not NULL). Tables left empty are freed. The caller flushes the guest TLB. */
enum ept_mapping_error ept_unmap(struct ept *ept, gpa_t gpa, hpa_t *hpa);
/* Translates any gpa: *hpa receives the host-physical address of that very
 * byte (page address + offset), *perm the page's permissions (either may be NULL). */
enum ept_mapping_error ept_walk(const struct ept *ept, gpa_t gpa, hpa_t *hpa, unsigned *perm);
/* Frees every table page (not the mapped pages); the ept is empty afterwards. */
void ept_destroy(struct ept *ept);
/* "duplicated", "unaligned", ... for messages. */
const char *ept_strerror(enum ept_mapping_error e);

/* The memory ept.c needs, defined in ept.c for the kernel and by a host test
 * for its fake physical memory. */
void *ept_table_alloc(void);              /* a zeroed 4 KiB page, or NULL */
void ept_table_free(void *table);
hpa_t ept_table_pa(const void *table);    /* host-physical address of a table page */
void *ept_table_va(hpa_t pa);             /* and back */
#endif
