/* The svirtb ring, shared by the guest driver and the device.
 *
 * The ring is size entries of 28 bytes at base. Two indices, both in
 * [0, size), divide it:
 *
 *   tail: the next entry the device consumes; only the device moves it
 *         (published in the queue_tail register);
 *   head: the next slot the driver fills; only the driver moves it
 *         (published by writing the queue_head register, the doorbell).
 *
 * Slots tail, tail+1, ..., head-1 (mod size) are pending. head == tail means
 * empty, so the driver never fills the last free slot: a full ring holds
 * size - 1 entries and full is distinguishable from empty without a counter
 * either side would have to share. Every index moves by (i + 1) % size and the
 * pending count is (head - tail) mod size computed with size added first, so
 * unsigned arithmetic never underflows when head has wrapped and tail has not
 * (KeV computed head - tail and broke on the first wrap).
 *
 * Memory is reached only through q->ops: the device's ring is in guest RAM,
 * copied through the probe page by page (the ring may cross pages, and
 * contiguous guest-physical pages need not be contiguous on the host), never
 * through a host pointer to it. Entries are packed and may be unaligned, so
 * they are always copied whole into a local struct.
 *
 * This file is pure C over <string.h>: it builds into the kernel and into the
 * host tests unchanged. */
#include "project4/virtio/virt_queue.h"
#include <string.h>
#include "kev/probe.h"

#define ENTRY_SIZE ((uint64_t)sizeof(struct virt_queue_entry))

enum vq_error virt_queue_init(struct virt_queue *q, const struct virt_queue_mem_ops *ops, void *ctx,
                              uint64_t base, uint32_t size)
{
	if (size == 0 || size > SVIRTB_QUEUE_MAX_SIZE)
		return VQ_ERR_BAD_SIZE;
	/* Checked once here, so base + i * 28 never overflows for any i < size. */
	if (base > UINT64_MAX - (uint64_t)size * ENTRY_SIZE)
		return VQ_ERR_BAD_ADDR;
	q->base = base;
	q->size = size;
	q->ops = ops;
	q->ctx = ctx;
	return VQ_OK;
}

static bool guest_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return probe_read(ctx, addr, buf, len);
}

static bool guest_write(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	return probe_write(ctx, addr, buf, len);
}

static bool guest_stopping(void *ctx)
{
	return probe_vm_stopping(ctx);
}

static const struct virt_queue_mem_ops guest_ops = { guest_read, guest_write, guest_stopping };

bool vq_guest_range_ok(struct probe *p, gpa_t gpa, uint64_t len)
{
	return probe_range_is_ram(p, gpa, len);
}

enum vq_error virt_queue_from_guest(struct virt_queue *q, struct probe *p, gpa_t gpa, uint32_t size)
{
	enum vq_error err = virt_queue_init(q, &guest_ops, p, gpa, size);
	if (err != VQ_OK)
		return err;
	if (!vq_guest_range_ok(p, gpa, (uint64_t)size * ENTRY_SIZE))
		return VQ_ERR_BAD_ADDR;
	return VQ_OK;
}

static bool local_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, (const void *)(uintptr_t)addr, len);
	return true;
}

static bool local_write(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	(void)ctx;
	memcpy((void *)(uintptr_t)addr, buf, len);
	return true;
}

static const struct virt_queue_mem_ops local_ops = { local_read, local_write, NULL };

enum vq_error virt_queue_from_local(struct virt_queue *q, void *ring, uint32_t size)
{
	if (ring == NULL)
		return VQ_ERR_BAD_ADDR;
	return virt_queue_init(q, &local_ops, NULL, (uint64_t)(uintptr_t)ring, size);
}

enum vq_error virt_queue_read(const struct virt_queue *q, uint32_t i, struct virt_queue_entry *e)
{
	if (i >= q->size)
		return VQ_ERR_BAD_INDEX;
	if (!q->ops->read(q->ctx, q->base + i * ENTRY_SIZE, e, sizeof(*e)))
		return VQ_ERR_ACCESS;
	return VQ_OK;
}

enum vq_error virt_queue_write(const struct virt_queue *q, uint32_t i, const struct virt_queue_entry *e)
{
	if (i >= q->size)
		return VQ_ERR_BAD_INDEX;
	if (!q->ops->write(q->ctx, q->base + i * ENTRY_SIZE, e, sizeof(*e)))
		return VQ_ERR_ACCESS;
	return VQ_OK;
}

void vq_fetcher_init(struct virt_queue_fetcher *f, const struct virt_queue *q)
{
	f->q = *q;
	f->head = 0;
	f->tail = 0;
	f->kicked = 0;
}

/* (to - from) mod size, for indices already known to be < size. */
static uint32_t distance(const struct virt_queue_fetcher *f, uint32_t from, uint32_t to)
{
	return (to + f->q.size - from) % f->q.size;
}

uint32_t vq_fetcher_pending(const struct virt_queue_fetcher *f)
{
	return distance(f, f->tail, f->head);
}

uint32_t vq_fetcher_space(const struct virt_queue_fetcher *f)
{
	return f->q.size - 1 - vq_fetcher_pending(f);
}

enum vq_error vq_fetcher_set_head(struct virt_queue_fetcher *f, uint32_t head)
{
	/* Any head < size is consistent: the device cannot tell a driver that
	 * pushed k entries from one that pushed k + size, and never needs to. */
	if (head >= f->q.size)
		return VQ_ERR_BAD_INDEX;
	f->head = head;
	f->kicked = head;
	return VQ_OK;
}

enum vq_error vq_fetcher_pop(struct virt_queue_fetcher *f, struct virt_queue_entry *e)
{
	/* Checked before anything else, so a drain of any length ends within one
	 * entry of the VM's end (its deadline included). */
	if (f->q.ops->stopping && f->q.ops->stopping(f->q.ctx))
		return VQ_ERR_STOPPED;
	if (f->tail == f->head)
		return VQ_ERR_EMPTY;
	return virt_queue_read(&f->q, f->tail, e);
}

enum vq_error vq_fetcher_ack(struct virt_queue_fetcher *f)
{
	if (f->tail == f->head)
		return VQ_ERR_EMPTY;
	f->tail = (f->tail + 1) % f->q.size;
	return VQ_OK;
}

enum vq_error vq_fetcher_push(struct virt_queue_fetcher *f, const struct virt_queue_entry *e)
{
	if (vq_fetcher_space(f) == 0)
		return VQ_ERR_FULL;
	enum vq_error err = virt_queue_write(&f->q, f->head, e);
	if (err != VQ_OK)
		return err;
	f->head = (f->head + 1) % f->q.size;
	return VQ_OK;
}

uint32_t vq_fetcher_kick(struct virt_queue_fetcher *f)
{
	f->kicked = f->head;
	return f->head;
}

enum vq_error vq_fetcher_update_tail(struct virt_queue_fetcher *f, uint32_t tail)
{
	/* The device may only consume what was kicked: the new tail lies in
	 * [tail, kicked] going forward around the ring. */
	if (tail >= f->q.size)
		return VQ_ERR_BAD_INDEX;
	if (distance(f, f->tail, tail) > distance(f, f->tail, f->kicked))
		return VQ_ERR_BAD_INDEX;
	f->tail = tail;
	return VQ_OK;
}
