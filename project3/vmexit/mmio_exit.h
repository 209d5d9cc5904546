/* The nested-page-fault controller of a keos VM: lazy paging first, then MMIO
 * devices. (The decoder is mmio_decode.h, the region set mmio.h.) */
#ifndef PROJECT3_VMEXIT_MMIO_EXIT_H
#define PROJECT3_VMEXIT_MMIO_EXIT_H
#include "kev/vmexit.h"
#include "project3/vmexit/mmio.h"

struct kernel_vm_pager;

struct npf_controller {
	struct vmexit_controller ctl;
	struct kernel_vm_pager *pager;   /* may be NULL: no lazy RAM */
	struct mmio_ctl *mmio;           /* may be NULL: no devices */
	uint64_t mmio_exits;             /* accesses handed to devices */
	uint64_t ram_faults;             /* faults on RAM not loaded yet */
};

/* Prepares the controller; add &npf->ctl to the VM with vm_add_controller(). */
void npf_controller_init(struct npf_controller *npf, struct kernel_vm_pager *pager,
                         struct mmio_ctl *mmio);
#endif
