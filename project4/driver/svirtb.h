/* The svirtb guest driver: what a guest kernel uses to read and write the
 * Simple VirtIO Block disk. Built into the guest kernel; the host tests build
 * it too and route its register writes into the device model. Mechanism and
 * rules in svirtb.c. */
#ifndef PROJECT4_DRIVER_SVIRTB_H
#define PROJECT4_DRIVER_SVIRTB_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "kev/types.h"
#include "keos/sync/spinlock.h"
#include "project4/virtio/virtio.h"
#include "project4/virtio/virt_queue.h"

struct svirtb {
	struct spinlock lock;       /* one request batch at a time */
	volatile void *regs;        /* the register page as this kernel maps it */
	struct virt_queue_fetcher vq; /* the ring, in this kernel's memory */
	bool live;                  /* realized and not reset since */
};

/* One transfer of a batch. buf must be physically contiguous for size bytes. */
struct svirtb_request {
	void *buf;
	uint64_t size;
	uint64_t sector;            /* disk byte offset sector * 512 */
};

enum svirtb_error {
	SVIRTB_OK = 0,
	SVIRTB_ERR_BAD_ARG,         /* queue size, ring or buffer the driver cannot use */
	SVIRTB_ERR_NO_DEVICE,       /* step 1: status was not MAGIC */
	SVIRTB_ERR_DRIVER_OK,       /* step 3: the device did not show DRIVER_OK */
	SVIRTB_ERR_CONFIG,          /* step 4: queue registers did not read back */
	SVIRTB_ERR_QUEUE,           /* step 6: the device refused the queue */
	SVIRTB_ERR_NOT_LIVE,        /* a request before realize, after finish or after an error */
	SVIRTB_ERR_DEVICE,          /* the device reset itself during a request */
	SVIRTB_ERR_PROTOCOL,        /* the device published a tail it cannot have reached */
	SVIRTB_ERR_TIMEOUT,         /* the device did not consume the requests */
};

/* Initializes the device (spec section 3) with a ring of queue_size entries at ring (physically contiguous). */
enum svirtb_error svirtb_realize(struct svirtb *d, volatile void *regs, void *ring, uint32_t queue_size);
/* Writes RESET: the device returns to MAGIC and the driver stops being live. */
void svirtb_finish(struct svirtb *d);
/* Reads size bytes of the disk at sector * 512 into buf (bytes past the disk's end are left as they were). */
enum svirtb_error svirtb_read(struct svirtb *d, uint64_t sector, void *buf, uint64_t size);
/* Writes size bytes from buf to the disk at sector * 512 (bytes past the disk's end are dropped). */
enum svirtb_error svirtb_write(struct svirtb *d, uint64_t sector, const void *buf, uint64_t size);
/* Performs n reads with as few doorbells as the ring allows (one when n < queue_size). */
enum svirtb_error svirtb_read_many(struct svirtb *d, const struct svirtb_request *reqs, size_t n);
/* Performs n writes with as few doorbells as the ring allows (one when n < queue_size). */
enum svirtb_error svirtb_write_many(struct svirtb *d, const struct svirtb_request *reqs, size_t n);
/* A short English description of an error code. */
const char *svirtb_strerror(enum svirtb_error e);

/* Reads the 32-bit register at byte offset off (guest: a volatile load; host tests provide their own). */
uint32_t svirtb_reg_read(struct svirtb *d, uint32_t off);
/* Writes the 32-bit register at byte offset off (guest: a volatile store that exits to the device). */
void svirtb_reg_write(struct svirtb *d, uint32_t off, uint32_t value);
/* Provided by the kernel that links the driver: the guest-physical address of a kernel address. */
gpa_t svirtb_virt_to_phys(const void *va);
#endif
