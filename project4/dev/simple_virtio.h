/* The Simple VirtIO Block device ("svirtb"): a disk backed by the host file
 * disk_file, driven by a guest through a register page at 0xcafe0000 and a
 * ring of requests in guest memory. Mechanism and rules in simple_virtio.c;
 * the wire format in project4/virtio/virtio.h. */
#ifndef PROJECT4_DEV_SIMPLE_VIRTIO_H
#define PROJECT4_DEV_SIMPLE_VIRTIO_H
#include <stdbool.h>
#include "kev/types.h"
#include "keos/sync/mutex.h"
#include "project3/vmexit/mmio.h"
#include "project3/keos_vm/pager.h"
#include "project4/virtio/virtio.h"
#include "project4/virtio/virt_queue.h"

struct file;

/* The name of the backing file in the host's file system. */
#define SIMPLE_VIRTIO_DISK_FILE "disk_file"

/* The register page is one guest page at SVIRTB_MMIO_BASE; every write to any
 * byte of it reaches the device. */
#define SIMPLE_VIRTIO_REGION_START SVIRTB_MMIO_BASE
#define SIMPLE_VIRTIO_REGION_END   (SVIRTB_MMIO_BASE + SVIRTB_MMIO_PAGE_SIZE)

struct simple_virtio_dev {
	/* Held for every register write and the whole drain that may follow:
	 * two vCPUs may write registers at once. */
	struct mutex lock;
	/* The register page (a host page, page_alloc): its first 24 bytes are the
	 * registers and the device's register state, mapped read-only into the
	 * guest. Only the device writes it. */
	struct virtio_mmio_header *regs;
	/* The ring as validated when READY was accepted; meaningful only while
	 * regs->status is READY. */
	struct virt_queue_fetcher vq;
	struct file *disk;
	/* attach's steps done so far, so that attach never maps the page twice. */
	bool mapped;
	bool registered;
	/* region [0xcafe0000, +4096), handle, priv = this device */
	struct mmio_handler handler;
};

enum simple_virtio_error {
	SIMPLE_VIRTIO_OK = 0,
	SIMPLE_VIRTIO_ERR_ATTACHED,   /* attach called again on an attached device */
	SIMPLE_VIRTIO_ERR_MAP,        /* pager_map_page refused the register page */
	SIMPLE_VIRTIO_ERR_REGION,     /* mmio_ctl_register refused the region */
};

/* A device in MAGIC state over disk_file; NULL (with a console line) if disk_file is missing or memory is short. */
struct simple_virtio_dev *simple_virtio_new(void);
/* Frees a device; only once no VM can reach it any more (the mapping and region are not undone). */
void simple_virtio_free(struct simple_virtio_dev *dev);
/* Maps the register page read-only at 0xcafe0000 and registers the MMIO region; once per device. */
enum simple_virtio_error simple_virtio_attach(struct simple_virtio_dev *dev,
                                              struct kernel_vm_pager *pager,
                                              struct mmio_ctl *mmio_ctl);
/* The MMIO handler (dev->handler.handle): applies one guest access to the device. */
enum vm_error simple_virtio_handle(struct mmio_handler *h, struct probe *p,
                                   const struct mmio_info *info, uint64_t *read_value,
                                   struct vcpu_state *vcpu);
/* A short English name for an attach error. */
const char *simple_virtio_strerror(enum simple_virtio_error e);
#endif
