/* The MMIO exit controller: devices that live at guest-physical addresses.
 *
 * A guest access to a device register faults in the nested page table (#NPF).
 * The controller finds the region that holds the faulting address, decodes
 * the instruction at the guest's RIP (project3/vmexit/mmio_decode.h) into a
 * struct mmio_info, and calls the device's handle(). Regions never overlap. */
#ifndef PROJECT3_VMEXIT_MMIO_H
#define PROJECT3_VMEXIT_MMIO_H
#include "kev/types.h"

struct probe;

/* [start, end) in guest-physical space. */
struct mmio_region {
	gpa_t start, end;
};

/* Direction and width of one decoded access. A write carries its value; a read
 * names the register that receives the device's answer. */
enum mmio_direction {
	MMIO_READ,
	MMIO_WRITE,
};

struct mmio_info {
	enum mmio_direction dir;
	uint8_t size;          /* bytes: 1, 2, 4 or 8 */
	gpa_t addr;            /* guest-physical address accessed */
	uint64_t value;        /* MMIO_WRITE: the value stored (zero-extended) */
	uint8_t dst_reg;       /* MMIO_READ: destination register (enum gpr) */
};

struct mmio_handler {
	struct mmio_region region;
	/* Applies one access. Returns VM_ERR_NONE to resume the guest, or the
	 * error that stops the VM. For a read, store the answer in *read_value. */
	enum vm_error (*handle)(struct mmio_handler *h, struct probe *p,
	                        const struct mmio_info *info, uint64_t *read_value,
	                        struct vcpu_state *vcpu);
	void *priv;            /* the device */
};

enum mmio_ctl_error {
	MMIO_CTL_OK = 0,
	MMIO_CTL_OVERLAP,      /* the region overlaps one already registered */
	MMIO_CTL_EMPTY,        /* start >= end */
	MMIO_CTL_FULL,         /* no room for another region */
};

#define MMIO_CTL_MAX_REGIONS 16

/* The set of regions of one VM, sorted by start address. */
struct mmio_ctl {
	struct mmio_handler *handlers[MMIO_CTL_MAX_REGIONS];
	unsigned count;
};

/* Empties the set. */
void mmio_ctl_init(struct mmio_ctl *ctl);
/* Adds a handler's region; fails without changing the set if it overlaps another. */
enum mmio_ctl_error mmio_ctl_register(struct mmio_ctl *ctl, struct mmio_handler *h);
/* The handler whose region holds gpa, or NULL. */
struct mmio_handler *mmio_ctl_lookup(struct mmio_ctl *ctl, gpa_t gpa);
#endif
