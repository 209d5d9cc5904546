/* The lazy guest pager: guest RAM is mapped page by page on first touch.
 * (Full description in pager.c.) Devices use pager_map_page() to place a host
 * page into the guest, e.g. svirtb's register page. */
#ifndef PROJECT3_KEOS_VM_PAGER_H
#define PROJECT3_KEOS_VM_PAGER_H
#include "kev/types.h"
#include "project3/ept.h"    /* enum ept_perm, enum ept_mapping_error */

struct kernel_vm_pager;

/* Maps the host page at kernel virtual address page (page-aligned) at gpa with perm. */
enum ept_mapping_error pager_map_page(struct kernel_vm_pager *pager, gpa_t gpa,
                                      void *page, unsigned perm);
#endif
