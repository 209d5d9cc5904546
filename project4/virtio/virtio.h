/* The Simple VirtIO Block ("svirtb") wire format: what device and driver share.
 *
 * Everything here is fixed by the spec (docs/ and shared/seeds/simple_virtio.rs):
 * the 24-byte register block at guest-physical 0xcafe0000, the status values,
 * and the 28-byte ring entry. The spec forbids padding, so the entry is packed
 * and 28 bytes (KeV's Rust struct had a 32-byte stride; this project follows
 * the spec). All fields are little-endian; x86 is little-endian, so a native
 * integer is the wire value and no byte swapping appears anywhere.
 *
 * Entries live in guest memory at any alignment: host code copies them out
 * with memcpy (or the probe) and never dereferences a pointer to a packed
 * entry in guest memory. */
#ifndef PROJECT4_VIRTIO_VIRTIO_H
#define PROJECT4_VIRTIO_VIRTIO_H
#include <stdint.h>
#include <stddef.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "svirtb fields are little-endian and used as native integers");

/* Where the register block lives in every guest, and the page that holds it. */
#define SVIRTB_MMIO_BASE 0xcafe0000ull
#define SVIRTB_MMIO_PAGE_SIZE 4096ull

/* The largest queue_size the device accepts. The spec sets no bound; this one
 * keeps a ring within 28 KiB of guest memory and a drain within 1023 entries. */
#define SVIRTB_QUEUE_MAX_SIZE 1024u

/* Bytes per sector: an entry's sector addresses disk_file at sector * 512. */
#define SVIRTB_SECTOR_SIZE 512ull

/* The register block (spec section 4), every field a 32-bit register. */
struct virtio_mmio_header {
	uint32_t status;         /* enum virtio_status */
	uint32_t queue_size;     /* entries in the ring; written by the driver in DRIVER_OK */
	uint32_t queue_addr_hi;  /* ring guest-physical address, bits 63..32 */
	uint32_t queue_addr_lo;  /* ring guest-physical address, bits 31..0 */
	uint32_t queue_head;     /* next slot the driver fills; a write is the doorbell */
	uint32_t queue_tail;     /* next slot the device consumes; device-written only */
};

_Static_assert(sizeof(struct virtio_mmio_header) == 24, "svirtb register block is 24 bytes");
_Static_assert(offsetof(struct virtio_mmio_header, status) == 0x00, "status at 0x00");
_Static_assert(offsetof(struct virtio_mmio_header, queue_size) == 0x04, "queue_size at 0x04");
_Static_assert(offsetof(struct virtio_mmio_header, queue_addr_hi) == 0x08, "queue_addr_hi at 0x08");
_Static_assert(offsetof(struct virtio_mmio_header, queue_addr_lo) == 0x0c, "queue_addr_lo at 0x0c");
_Static_assert(offsetof(struct virtio_mmio_header, queue_head) == 0x10, "queue_head at 0x10");
_Static_assert(offsetof(struct virtio_mmio_header, queue_tail) == 0x14, "queue_tail at 0x14");

/* Byte offsets of the registers, for code that addresses them by offset. */
#define VIRTIO_REG_STATUS        offsetof(struct virtio_mmio_header, status)
#define VIRTIO_REG_QUEUE_SIZE    offsetof(struct virtio_mmio_header, queue_size)
#define VIRTIO_REG_QUEUE_ADDR_HI offsetof(struct virtio_mmio_header, queue_addr_hi)
#define VIRTIO_REG_QUEUE_ADDR_LO offsetof(struct virtio_mmio_header, queue_addr_lo)
#define VIRTIO_REG_QUEUE_HEAD    offsetof(struct virtio_mmio_header, queue_head)
#define VIRTIO_REG_QUEUE_TAIL    offsetof(struct virtio_mmio_header, queue_tail)

/* Device status (spec 2.1), in the order a driver normally sees them. */
enum virtio_status {
	VIRTIO_STATUS_DRIVER_OK = 0,          /* the driver is initializing the device */
	VIRTIO_STATUS_READY = 1,              /* queue accepted: the device is live */
	VIRTIO_STATUS_RESET = 2,              /* start over (driver) / error, reset needed (device) */
	VIRTIO_STATUS_MAGIC = 0x74726976,     /* "virt": a device is here, no driver yet */
};

/* One request in the ring (spec 2.2.1): packed, 28 bytes. */
struct virt_queue_entry {
	uint64_t addr;     /* guest-physical address of the buffer */
	uint64_t size;     /* buffer length in bytes */
	uint64_t sector;   /* disk position: byte offset sector * 512 */
	uint32_t cmd;      /* enum virt_queue_cmd */
} __attribute__((packed));

_Static_assert(sizeof(struct virt_queue_entry) == 28, "svirtb ring entry is 28 bytes, no padding");
_Static_assert(offsetof(struct virt_queue_entry, addr) == 0, "addr at 0");
_Static_assert(offsetof(struct virt_queue_entry, size) == 8, "size at 8");
_Static_assert(offsetof(struct virt_queue_entry, sector) == 16, "sector at 16");
_Static_assert(offsetof(struct virt_queue_entry, cmd) == 24, "cmd at 24");

/* Entry commands, seen from the driver: read moves disk -> buffer. */
enum virt_queue_cmd {
	VIRT_QUEUE_CMD_READ = 0,
	VIRT_QUEUE_CMD_WRITE = 1,
};
#endif
