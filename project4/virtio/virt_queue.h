/* The svirtb ring: a circular array of struct virt_queue_entry shared by the
 * guest driver (producer) and the device (consumer).
 *
 * The same code serves both sides because the ring is reached through a
 * memory accessor (struct virt_queue_mem_ops): the device copies entries out
 * of guest-physical memory through the probe, the driver writes its own
 * memory. See virt_queue.c for the index rules. */
#ifndef PROJECT4_VIRTIO_VIRT_QUEUE_H
#define PROJECT4_VIRTIO_VIRT_QUEUE_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "kev/types.h"
#include "project4/virtio/virtio.h"

struct probe;

/* How the ring's bytes are reached. addr is in the accessor's own address
 * space (guest-physical for the probe, a host pointer for local memory). Each
 * returns false when any byte of the range cannot be accessed. */
struct virt_queue_mem_ops {
	bool (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	bool (*write)(void *ctx, uint64_t addr, const void *buf, size_t len);
	/* Optional: true once the other side is going away (the VM is stopping),
	 * so a consumer should stop taking entries. NULL: never. */
	bool (*stopping)(void *ctx);
};

/* Where the ring is: size entries of 28 bytes from base, no gaps. */
struct virt_queue {
	uint64_t base;
	uint32_t size;                          /* 1 .. SVIRTB_QUEUE_MAX_SIZE */
	const struct virt_queue_mem_ops *ops;
	void *ctx;                              /* the accessor's state (e.g. the probe) */
};

enum vq_error {
	VQ_OK = 0,
	VQ_ERR_EMPTY,       /* pop/ack: no entry pending */
	VQ_ERR_FULL,        /* push: size - 1 entries already pending */
	VQ_ERR_BAD_SIZE,    /* size 0 or above SVIRTB_QUEUE_MAX_SIZE */
	VQ_ERR_BAD_ADDR,    /* the ring's address arithmetic overflows, or it is not all memory */
	VQ_ERR_BAD_INDEX,   /* an index >= size, or a tail beyond the published entries */
	VQ_ERR_ACCESS,      /* the accessor failed to copy an entry */
	VQ_ERR_STOPPED,     /* pop: the VM is stopping; take no more entries */
};

/* One side's view of the two indices. Slots tail .. head-1 (mod size) are
 * pending; kicked is the head last published to the other side. */
struct virt_queue_fetcher {
	struct virt_queue q;
	uint32_t head;      /* next slot the driver fills */
	uint32_t tail;      /* next slot the device consumes */
	uint32_t kicked;    /* head as of the last kick (driver) or doorbell (device) */
};

/* Describes a ring at base in ops' space; checks the size and that base + size * 28 does not overflow. */
enum vq_error virt_queue_init(struct virt_queue *q, const struct virt_queue_mem_ops *ops, void *ctx,
                              uint64_t base, uint32_t size);
/* Device: a ring at guest-physical gpa, reached through probe p; VQ_ERR_BAD_ADDR unless all of it is guest RAM. */
enum vq_error virt_queue_from_guest(struct virt_queue *q, struct probe *p, gpa_t gpa, uint32_t size);
/* Driver: a ring in the caller's own memory at ring (size * 28 bytes). */
enum vq_error virt_queue_from_local(struct virt_queue *q, void *ring, uint32_t size);
/* Copies entry i out of the ring; VQ_ERR_BAD_INDEX if i >= size. */
enum vq_error virt_queue_read(const struct virt_queue *q, uint32_t i, struct virt_queue_entry *e);
/* Copies e into entry i of the ring; VQ_ERR_BAD_INDEX if i >= size. */
enum vq_error virt_queue_write(const struct virt_queue *q, uint32_t i, const struct virt_queue_entry *e);

/* True if every byte of [gpa, gpa + len) is guest RAM, in constant time whatever len is; false on overflow. */
bool vq_guest_range_ok(struct probe *p, gpa_t gpa, uint64_t len);

/* Starts a fetcher over q with an empty ring (head = tail = kicked = 0). */
void vq_fetcher_init(struct virt_queue_fetcher *f, const struct virt_queue *q);
/* Entries pushed and not yet consumed, counted modulo the size (never underflows on wrap). */
uint32_t vq_fetcher_pending(const struct virt_queue_fetcher *f);
/* Entries that can still be pushed: size - 1 - pending. */
uint32_t vq_fetcher_space(const struct virt_queue_fetcher *f);

/* Device: takes a doorbell value as the new head; VQ_ERR_BAD_INDEX if head >= size. */
enum vq_error vq_fetcher_set_head(struct virt_queue_fetcher *f, uint32_t head);
/* Device: copies the oldest pending entry without consuming it; VQ_ERR_EMPTY if none,
 * VQ_ERR_STOPPED (checked first) once the VM is stopping. */
enum vq_error vq_fetcher_pop(struct virt_queue_fetcher *f, struct virt_queue_entry *e);
/* Device: consumes the oldest pending entry (tail advances, wrapping); VQ_ERR_EMPTY if none. */
enum vq_error vq_fetcher_ack(struct virt_queue_fetcher *f);

/* Driver: writes e at head and advances head (not yet visible to the device); VQ_ERR_FULL at size - 1 pending. */
enum vq_error vq_fetcher_push(struct virt_queue_fetcher *f, const struct virt_queue_entry *e);
/* Driver: publishes every pushed entry; returns the value to write to the queue_head register. */
uint32_t vq_fetcher_kick(struct virt_queue_fetcher *f);
/* Driver: takes the device's queue_tail; VQ_ERR_BAD_INDEX if >= size or past the kicked entries. */
enum vq_error vq_fetcher_update_tail(struct virt_queue_fetcher *f, uint32_t tail);
#endif
