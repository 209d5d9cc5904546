/* The virtio-blk driver: QEMU's virtio-blk-pci through its legacy (virtio
 * 0.9.5) I/O-port interface, exposed as a struct blockdev for keos/fs.
 * One device is supported: the first one PCI enumeration finds. */
#ifndef KEOS_DEV_VIRTIO_BLK_H
#define KEOS_DEV_VIRTIO_BLK_H
#include <stdbool.h>
#include <stdint.h>
#include "keos/fs/blockdev.h"

#define VIRTIO_PCI_VENDOR          0x1af4
#define VIRTIO_PCI_DEVICE_BLK_LEGACY 0x1001   /* transitional virtio-blk */
#define VIRTIO_PCI_DEVICE_BLK_MODERN 0x1042   /* modern-only: not supported */

/* Request types (the header's type field). */
#define VIRTIO_BLK_T_IN     0u
#define VIRTIO_BLK_T_OUT    1u
#define VIRTIO_BLK_T_FLUSH  4u
#define VIRTIO_BLK_T_GET_ID 8u
/* The device's serial number is at most this long (not NUL-terminated when full). */
#define VIRTIO_BLK_ID_BYTES 20u

/* What a request or the set-up can fail with; every one is negative, so a
 * blockdev caller sees "negative means error". */
enum virtio_blk_error {
	VBLK_OK = 0,
	VBLK_ERR_NO_DEVICE = -1,   /* no virtio-blk-pci device on the PCI bus */
	VBLK_ERR_SETUP = -2,       /* the device refused the configuration the driver needs */
	VBLK_ERR_IOERR = -3,       /* the device completed the request with VIRTIO_BLK_S_IOERR */
	VBLK_ERR_UNSUPP = -4,      /* the device completed the request with VIRTIO_BLK_S_UNSUPP */
	VBLK_ERR_BAD_STATUS = -5,  /* the device wrote no known status byte */
	VBLK_ERR_RANGE = -6,       /* sectors outside the device, or a bad length */
	VBLK_ERR_READ_ONLY = -7,   /* a write to a device that offers VIRTIO_BLK_F_RO */
	VBLK_ERR_TIMEOUT = -8,     /* no completion in time: the device was reset and is now broken */
	VBLK_ERR_BROKEN = -9,      /* an earlier failure disabled the device */
};

/* Counters for tests and benchmarks. */
struct virtio_blk_stats {
	uint64_t requests;         /* requests completed (any status) */
	uint32_t max_in_flight;    /* most requests the device held at once */
	uint32_t queue_size;       /* descriptors in the virtqueue */
	uint32_t slots;            /* requests that can be in flight at once */
	uint32_t max_request_sectors;  /* largest single request the driver builds */
	bool flush_supported;      /* VIRTIO_BLK_F_FLUSH negotiated */
};

/* Finds and initializes the device (once; later calls return the first result); *out is its blockdev. */
int virtio_blk_init(struct blockdev **out);
/* Sends a request of any type: buf goes out (T_OUT) or comes in (others); T_IN/T_OUT take whole sectors inside the device, other types at most 4096 bytes. 0 or an error. */
int virtio_blk_request(uint32_t type, uint64_t sector, void *buf, uint32_t bytes);
/* Asks the device to make completed writes durable; 0 when it has no write cache. */
int virtio_blk_flush(void);
/* Copies the counters into *out. */
void virtio_blk_get_stats(struct virtio_blk_stats *out);
/* A short English description of an error code. */
const char *virtio_blk_strerror(int err);
#endif
