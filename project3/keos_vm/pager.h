/* The lazy guest pager: guest RAM is mapped page by page on first touch.
 * (Full description in pager.c.) Devices use pager_map_page() to place a host
 * page into the guest, e.g. svirtb's register page. */
#ifndef PROJECT3_KEOS_VM_PAGER_H
#define PROJECT3_KEOS_VM_PAGER_H
#include "kev/types.h"

struct kernel_vm_pager;

/* Nested-table permissions (course name: EPT permissions). */
enum ept_perm {
	EPT_PERM_READ  = 1 << 0,
	EPT_PERM_WRITE = 1 << 1,
	EPT_PERM_EXEC  = 1 << 2,
};

enum ept_mapping_error {
	EPT_OK = 0,
	EPT_ERR_DUPLICATED,    /* gpa already mapped */
	EPT_ERR_UNALIGNED,     /* gpa or page not page-aligned */
	EPT_ERR_NOT_EXIST,     /* unmap/walk of an unmapped gpa */
	EPT_ERR_NO_MEMORY,     /* no page for an intermediate table */
	EPT_ERR_BAD_PERM,      /* no read permission, or an unknown bit */
	EPT_ERR_OUT_OF_RANGE,  /* gpa beyond the guest-physical address width */
};

/* Maps the host page at kernel virtual address page (page-aligned) at gpa with perm. */
enum ept_mapping_error pager_map_page(struct kernel_vm_pager *pager, gpa_t gpa,
                                      void *page, unsigned perm);
#endif
