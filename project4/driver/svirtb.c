/* The svirtb guest driver.
 *
 * realize performs the spec's six initialization steps (section 3) against
 * the register page and writes RESET as soon as a check fails, so a failed
 * realize leaves the device in MAGIC for the next attempt. The ring lives in
 * this kernel's memory (the caller's, physically contiguous) and is filled
 * through a virt_queue_fetcher over local memory; the device reads it at its
 * guest-physical address.
 *
 * A batch (read_many/write_many) pushes as many entries as the ring has room
 * for (size - 1), rings the doorbell once by writing the new head to
 * queue_head, and, if entries are left, waits for queue_tail to move and
 * refills. The batch ends when the device has consumed everything. svirtb's
 * device drains synchronously inside the doorbell's VM exit, so the first look
 * at queue_tail normally finds it caught up; the driver still polls (bounded)
 * rather than assume it. A status other than READY, an impossible tail or no
 * progress within the bound makes the driver write RESET and stop being live:
 * the caller realizes again.
 *
 * Registers are reached only through svirtb_reg_read/svirtb_reg_write. In a
 * guest kernel they are volatile 32-bit accesses to the mapped page: reads hit
 * the device's page directly, writes exit to the device. Fences order them
 * against the ring and buffers: ring entries are visible before the doorbell,
 * and buffer contents are read only after the tail that covers them. Host
 * builds (KEOS_HOST) leave both functions to the test that links the driver. */
#include "project4/driver/svirtb.h"

/* Polls of queue_tail before a batch gives up: far more than a synchronous
 * device needs (one), few enough that a broken device fails a test quickly. */
#define SVIRTB_POLL_LIMIT 10000000u

#ifndef KEOS_HOST
uint32_t svirtb_reg_read(struct svirtb *d, uint32_t off)
{
	uint32_t v = *(volatile uint32_t *)((volatile uint8_t *)d->regs + off);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return v;
}

void svirtb_reg_write(struct svirtb *d, uint32_t off, uint32_t value)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*(volatile uint32_t *)((volatile uint8_t *)d->regs + off) = value;
}
#endif

const char *svirtb_strerror(enum svirtb_error e)
{
	switch (e) {
	case SVIRTB_OK: return "success";
	case SVIRTB_ERR_BAD_ARG: return "bad argument";
	case SVIRTB_ERR_NO_DEVICE: return "no svirtb device (status is not MAGIC)";
	case SVIRTB_ERR_DRIVER_OK: return "device did not accept DRIVER_OK";
	case SVIRTB_ERR_CONFIG: return "queue configuration did not read back";
	case SVIRTB_ERR_QUEUE: return "device refused the queue";
	case SVIRTB_ERR_NOT_LIVE: return "driver not live";
	case SVIRTB_ERR_DEVICE: return "device reset itself";
	case SVIRTB_ERR_PROTOCOL: return "device published an impossible tail";
	case SVIRTB_ERR_TIMEOUT: return "device did not consume the requests";
	}
	return "unknown error";
}

/* Any failed check: give the device back to MAGIC and stop. */
static enum svirtb_error fail(struct svirtb *d, enum svirtb_error err)
{
	svirtb_reg_write(d, VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	d->live = false;
	return err;
}

enum svirtb_error svirtb_realize(struct svirtb *d, volatile void *regs, void *ring, uint32_t queue_size)
{
	struct virt_queue q;

	spinlock_init(&d->lock, "svirtb");
	d->regs = regs;
	d->live = false;
	/* A ring of one slot holds nothing (full is size - 1). */
	if (queue_size < 2 || virt_queue_from_local(&q, ring, queue_size) != VQ_OK)
		return SVIRTB_ERR_BAD_ARG;
	vq_fetcher_init(&d->vq, &q);
	gpa_t gpa = svirtb_virt_to_phys(ring);

	/* 1. A device is here. */
	if (svirtb_reg_read(d, VIRTIO_REG_STATUS) != VIRTIO_STATUS_MAGIC)
		return fail(d, SVIRTB_ERR_NO_DEVICE);
	/* 2, 3. Announce the driver; the device must keep it. */
	svirtb_reg_write(d, VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	if (svirtb_reg_read(d, VIRTIO_REG_STATUS) != VIRTIO_STATUS_DRIVER_OK)
		return fail(d, SVIRTB_ERR_DRIVER_OK);
	/* 4. Configure the ring and read the configuration back. */
	svirtb_reg_write(d, VIRTIO_REG_QUEUE_SIZE, queue_size);
	svirtb_reg_write(d, VIRTIO_REG_QUEUE_ADDR_HI, (uint32_t)(gpa >> 32));
	svirtb_reg_write(d, VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)gpa);
	if (svirtb_reg_read(d, VIRTIO_REG_QUEUE_SIZE) != queue_size ||
	    svirtb_reg_read(d, VIRTIO_REG_QUEUE_ADDR_HI) != (uint32_t)(gpa >> 32) ||
	    svirtb_reg_read(d, VIRTIO_REG_QUEUE_ADDR_LO) != (uint32_t)gpa)
		return fail(d, SVIRTB_ERR_CONFIG);
	/* 5, 6. Ask for READY; the device validated the queue if it shows it. */
	svirtb_reg_write(d, VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	if (svirtb_reg_read(d, VIRTIO_REG_STATUS) != VIRTIO_STATUS_READY ||
	    svirtb_reg_read(d, VIRTIO_REG_QUEUE_HEAD) != 0 ||
	    svirtb_reg_read(d, VIRTIO_REG_QUEUE_TAIL) != 0)
		return fail(d, SVIRTB_ERR_QUEUE);
	d->live = true;
	return SVIRTB_OK;
}

void svirtb_finish(struct svirtb *d)
{
	spin_lock(&d->lock);
	svirtb_reg_write(d, VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	d->live = false;
	spin_unlock(&d->lock);
}

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Waits until the device has consumed everything kicked (all) or at least
 * made room for one more entry (!all), following queue_tail. */
static enum svirtb_error wait_tail(struct svirtb *d, bool all)
{
	for (uint32_t polls = 0; polls < SVIRTB_POLL_LIMIT; polls++) {
		if (svirtb_reg_read(d, VIRTIO_REG_STATUS) != VIRTIO_STATUS_READY)
			return fail(d, SVIRTB_ERR_DEVICE);
		if (vq_fetcher_update_tail(&d->vq, svirtb_reg_read(d, VIRTIO_REG_QUEUE_TAIL)) != VQ_OK)
			return fail(d, SVIRTB_ERR_PROTOCOL);
		if (all ? vq_fetcher_pending(&d->vq) == 0 : vq_fetcher_space(&d->vq) > 0)
			return SVIRTB_OK;
		cpu_relax();
	}
	return fail(d, SVIRTB_ERR_TIMEOUT);
}

static enum svirtb_error submit(struct svirtb *d, const struct svirtb_request *reqs, size_t n,
                                enum virt_queue_cmd cmd)
{
	enum svirtb_error err = SVIRTB_OK;
	size_t next = 0;

	for (size_t i = 0; i < n; i++)
		if (reqs[i].buf == NULL && reqs[i].size != 0)
			return SVIRTB_ERR_BAD_ARG;
	spin_lock(&d->lock);
	if (!d->live) {
		err = SVIRTB_ERR_NOT_LIVE;
		goto out;
	}
	while (next < n) {
		while (next < n && vq_fetcher_space(&d->vq) > 0) {
			struct virt_queue_entry e = {
				.addr = reqs[next].size != 0 ? svirtb_virt_to_phys(reqs[next].buf) : 0,
				.size = reqs[next].size,
				.sector = reqs[next].sector,
				.cmd = cmd,
			};
			/* Local memory cannot fail, and space was checked. */
			vq_fetcher_push(&d->vq, &e);
			next++;
		}
		svirtb_reg_write(d, VIRTIO_REG_QUEUE_HEAD, vq_fetcher_kick(&d->vq));
		if (next < n && (err = wait_tail(d, false)) != SVIRTB_OK)
			goto out;
	}
	err = wait_tail(d, true);
out:
	spin_unlock(&d->lock);
	return err;
}

enum svirtb_error svirtb_read(struct svirtb *d, uint64_t sector, void *buf, uint64_t size)
{
	struct svirtb_request r = { .buf = buf, .size = size, .sector = sector };
	return submit(d, &r, 1, VIRT_QUEUE_CMD_READ);
}

enum svirtb_error svirtb_write(struct svirtb *d, uint64_t sector, const void *buf, uint64_t size)
{
	/* The device only reads the buffer of a write; the cast serves the shared request type. */
	struct svirtb_request r = { .buf = (void *)(uintptr_t)buf, .size = size, .sector = sector };
	return submit(d, &r, 1, VIRT_QUEUE_CMD_WRITE);
}

enum svirtb_error svirtb_read_many(struct svirtb *d, const struct svirtb_request *reqs, size_t n)
{
	return submit(d, reqs, n, VIRT_QUEUE_CMD_READ);
}

enum svirtb_error svirtb_write_many(struct svirtb *d, const struct svirtb_request *reqs, size_t n)
{
	return submit(d, reqs, n, VIRT_QUEUE_CMD_WRITE);
}
