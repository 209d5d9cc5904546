/* KeV's MMIO printer: a device that prints a guest buffer on the console.
 *
 *   0xcafe0000  buffer guest-physical address (8 bytes, or two 4-byte halves)
 *   0xcafe0008  length in bytes (at most MMIO_PRINTER_MAX)
 *   0xcafe0010  doorbell: any write prints the buffer
 *
 * Nothing is mapped there, so every access exits; reads return the
 * registers. */
#ifndef PROJECT3_MMIO_H
#define PROJECT3_MMIO_H
#include "project3/vmexit/mmio.h"
#include "keos/sync/spinlock.h"

#define MMIO_PRINTER_BASE 0xcafe0000ull
#define MMIO_PRINTER_SIZE 0x18ull
#define MMIO_PRINTER_MAX  4096u

struct mmio_printer {
	struct mmio_handler handler;
	struct spinlock lock;
	uint64_t regs[3];          /* address, length, doorbell count */
	uint64_t printed;          /* bytes printed so far */
	char buf[MMIO_PRINTER_MAX]; /* the guest's buffer, copied out under lock */
};

/* Prepares the device; register &dev->handler with mmio_ctl_register(). */
void mmio_printer_init(struct mmio_printer *dev);
#endif
