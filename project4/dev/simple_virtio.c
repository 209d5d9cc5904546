/* The Simple VirtIO Block device ("svirtb"): the host side of a disk that a
 * guest drives through six 32-bit registers and a ring in its own memory.
 *
 * The register page. The device owns one host page (page_alloc). Its first
 * 24 bytes are struct virtio_mmio_header; they ARE the device's register
 * state, and the rest of the page stays zero. attach maps the page at
 * guest-physical 0xcafe0000 with read permission only, so:
 *   - guest reads never exit: the guest loads the page's current contents;
 *   - every guest write exits (#NPF), is decoded by the MMIO controller and
 *     reaches simple_virtio_handle, which validates it and, if accepted,
 *     stores the new value into the page; the guest reads it back from there.
 * The region registered is the whole page, [0xcafe0000, 0xcafe1000), so a
 * write anywhere in it reaches handle (writes outside the six registers are
 * guest errors). Only the device writes the page; stores that publish state
 * are release stores, so a guest vCPU that reads queue_tail sees the data the
 * device wrote before moving it.
 *
 * The status machine (spec 2.1, 3):
 *
 *   MAGIC --DRIVER_OK--> DRIVER_OK --READY--> READY
 *     ^                  (queue_size,         (queue_head is the doorbell)
 *     |                   queue_addr_hi/lo
 *     |                   writable here only)
 *     +------ RESET written by the driver, from any state (queue registers zeroed)
 *
 *   any state --guest error--> RESET (shown until the driver writes RESET)
 *
 * Writing READY validates the queue: 1 <= queue_size <= SVIRTB_QUEUE_MAX_SIZE,
 * ring address arithmetic does not overflow, the ring (queue_size * 28 bytes,
 * it may cross pages) is all guest RAM and does not overlap the register
 * page. Accepted: READY with head = tail = 0.
 *
 * Guest errors. Anything a guest can get wrong gets a defined answer: one
 * console line saying why, then status RESET, and any drain in progress
 * stops. The guest keeps running (handle returns VM_ERR_NONE); the device
 * answers nothing but a RESET write until then. Guest errors are: writes that
 * are not 32-bit and aligned, writes to queue_tail or past the six registers,
 * status values out of order (READY outside DRIVER_OK, DRIVER_OK outside
 * MAGIC, MAGIC written by the driver, values the spec does not define), queue
 * registers written outside DRIVER_OK, a bad queue at READY, queue_head
 * written outside READY or >= queue_size, and bad ring entries (below). A
 * device in the error RESET state does not accept DRIVER_OK: the spec's step 1
 * asks the driver for MAGIC, and only RESET gets the device back to MAGIC.
 * Rejected writes are not stored. A failing disk_file (an I/O error on the
 * host) is handled the same way, reset and a console line, not a VM stop.
 *
 * The drain. A write to queue_head while READY is the doorbell: the device
 * consumes every entry from queue_tail up to the new head, one at a time,
 * before the guest resumes, publishing queue_tail after each. Per entry:
 * cmd is 0 (read: disk_file -> buffer) or 1 (write: buffer -> disk_file); the
 * byte offset sector * 512 does not overflow; [addr, addr + size) does not
 * wrap and is all guest RAM (so it misses the register page, which lies
 * above every VM's RAM), all checked before a byte moves, so a rejected
 * entry has no effect. Data moves in chunks that never cross a guest page,
 * file_read or file_write working straight on the host page behind each
 * guest page (probe_page; contiguous guest pages need not be contiguous on
 * the host). disk_file is only touched inside [0, file_size): a transfer
 * that runs past its end moves the bytes that exist and leaves the rest of
 * the buffer untouched, which is not an error.
 *
 * Locking and bounds. dev->lock, a mutex, is held from the start of handle
 * to its end, so the register state and the fetcher have
 * one owner at a time even when two vCPUs write registers at once (the second
 * sleeps until the first is done). It is a mutex, not a spinlock, because a
 * drain is long: interrupts stay on, the host keeps scheduling other threads
 * on this CPU, and disk_file may block. A drain is bounded: head is
 * < queue_size and the device stops at head, so at most queue_size - 1
 * entries; checking an entry costs the same whatever its size (guest RAM is
 * one known range: vq_guest_range_ok), and only the bytes that exist in
 * disk_file move; and vq_fetcher_pop says VQ_ERR_STOPPED as soon as the VM is
 * ending (its deadline included), at which the drain stops quietly: that is
 * not the guest's error.
 *
 * attach maps the page and registers the region once: a second call returns
 * SIMPLE_VIRTIO_ERR_ATTACHED (KeV attached per vCPU and mapped twice). */
#include "project4/dev/simple_virtio.h"
#include <string.h>
#include "kev/probe.h"
#include "keos/fs/fs.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/mm/kmalloc.h"

struct simple_virtio_dev *simple_virtio_new(void)
{
	struct simple_virtio_dev *dev = kzalloc(sizeof(*dev));
	if (dev == NULL) {
		printk("svirtb: no memory for the device\n");
		return NULL;
	}
	dev->disk = fs_open(SIMPLE_VIRTIO_DISK_FILE);
	if (dev->disk == NULL) {
		printk("svirtb: cannot open %s\n", SIMPLE_VIRTIO_DISK_FILE);
		kfree(dev);
		return NULL;
	}
	dev->regs = page_alloc();
	if (dev->regs == NULL) {
		printk("svirtb: no memory for the register page\n");
		simple_virtio_free(dev);
		return NULL;
	}
	mutex_init(&dev->lock, "svirtb");
	/* page_alloc zeroed the page: every queue register starts at 0. */
	dev->regs->status = VIRTIO_STATUS_MAGIC;
	dev->handler.region.start = SIMPLE_VIRTIO_REGION_START;
	dev->handler.region.end = SIMPLE_VIRTIO_REGION_END;
	dev->handler.handle = simple_virtio_handle;
	dev->handler.priv = dev;
	return dev;
}

void simple_virtio_free(struct simple_virtio_dev *dev)
{
	if (dev == NULL)
		return;
	if (dev->regs != NULL)
		page_free(dev->regs);
	kfree(dev);
}

const char *simple_virtio_strerror(enum simple_virtio_error e)
{
	switch (e) {
	case SIMPLE_VIRTIO_OK: return "success";
	case SIMPLE_VIRTIO_ERR_ATTACHED: return "device already attached";
	case SIMPLE_VIRTIO_ERR_MAP: return "cannot map the register page";
	case SIMPLE_VIRTIO_ERR_REGION: return "cannot register the MMIO region";
	}
	return "unknown error";
}

/* Assignment: attach the device to a VM.
 *
 * Make the register page (dev->regs) visible to the guest at guest-physical
 * SVIRTB_MMIO_BASE (0xcafe0000) with pager_map_page, READ permission only:
 * guest reads then hit the page directly and every guest write faults into
 * the MMIO controller. Then register dev->handler (region
 * [0xcafe0000, 0xcafe1000), prepared by simple_virtio_new) with
 * mmio_ctl_register so those writes reach simple_virtio_handle.
 *
 * Return SIMPLE_VIRTIO_OK, SIMPLE_VIRTIO_ERR_MAP if the pager refuses the
 * page, SIMPLE_VIRTIO_ERR_REGION if the controller refuses the region. A
 * device is attached once: calling attach again after it succeeded must
 * return SIMPLE_VIRTIO_ERR_ATTACHED without mapping anything (record what is
 * done in dev->mapped and dev->registered; a call after a failure finishes
 * the steps not yet done, never repeating one). */
enum simple_virtio_error simple_virtio_attach(struct simple_virtio_dev *dev,
                                              struct kernel_vm_pager *pager,
                                              struct mmio_ctl *mmio_ctl)
{
	/* BEGIN SOLUTION */
	if (dev->mapped && dev->registered)
		return SIMPLE_VIRTIO_ERR_ATTACHED;
	if (!dev->mapped) {
		enum ept_mapping_error err =
			pager_map_page(pager, SVIRTB_MMIO_BASE, dev->regs, EPT_PERM_READ);
		if (err != EPT_OK) {
			printk("svirtb: cannot map the register page at %#llx (ept error %d)\n",
			       SVIRTB_MMIO_BASE, (int)err);
			return SIMPLE_VIRTIO_ERR_MAP;
		}
		dev->mapped = true;
	}
	if (!dev->registered) {
		enum mmio_ctl_error err = mmio_ctl_register(mmio_ctl, &dev->handler);
		if (err != MMIO_CTL_OK) {
			printk("svirtb: cannot register the MMIO region at %#llx (mmio error %d)\n",
			       SVIRTB_MMIO_BASE, (int)err);
			return SIMPLE_VIRTIO_ERR_REGION;
		}
		dev->registered = true;
	}
	return SIMPLE_VIRTIO_OK;
	/* END SOLUTION */
}

/* BEGIN SOLUTION */
/* Publishes one register to the guest: a release store, so everything the
 * device wrote before (guest buffers, other registers) is visible first. */
#define REG_SET(dev, field, v) __atomic_store_n(&(dev)->regs->field, (uint32_t)(v), __ATOMIC_RELEASE)

static const char *status_name(uint32_t s)
{
	switch (s) {
	case VIRTIO_STATUS_MAGIC: return "MAGIC";
	case VIRTIO_STATUS_DRIVER_OK: return "DRIVER_OK";
	case VIRTIO_STATUS_READY: return "READY";
	case VIRTIO_STATUS_RESET: return "RESET";
	}
	return "unknown";
}

/* A guest error: one console line with the reason, then status RESET. A
 * macro, so the line is formatted by a single printk and cannot interleave
 * with another CPU's output. */
#define guest_error(dev, fmt, ...) do { \
	printk("svirtb: " fmt "; device reset\n", ##__VA_ARGS__); \
	REG_SET(dev, status, VIRTIO_STATUS_RESET); \
} while (0)

/* The driver's RESET: back to MAGIC with an empty configuration. The status
 * goes last, so a guest that reads MAGIC also reads the zeroed queue. */
static void reset_to_magic(struct simple_virtio_dev *dev)
{
	REG_SET(dev, queue_size, 0);
	REG_SET(dev, queue_addr_hi, 0);
	REG_SET(dev, queue_addr_lo, 0);
	REG_SET(dev, queue_head, 0);
	REG_SET(dev, queue_tail, 0);
	REG_SET(dev, status, VIRTIO_STATUS_MAGIC);
}

/* READY written in DRIVER_OK: accept the queue the driver configured, or reset. */
static void accept_queue(struct simple_virtio_dev *dev, struct probe *p)
{
	uint32_t size = dev->regs->queue_size;
	gpa_t gpa = ((gpa_t)dev->regs->queue_addr_hi << 32) | dev->regs->queue_addr_lo;
	uint64_t bytes = (uint64_t)size * sizeof(struct virt_queue_entry);
	struct virt_queue q;

	/* The ring checks its size, its address arithmetic and that it is all
	 * guest RAM, which the register page never is (it lies above every
	 * VM's RAM: KEV_MAX_RAM). */
	enum vq_error err = virt_queue_from_guest(&q, p, gpa, size);
	if (err == VQ_ERR_BAD_SIZE) {
		guest_error(dev, "READY with queue_size %u, not in 1..%u", size, SVIRTB_QUEUE_MAX_SIZE);
		return;
	}
	if (err != VQ_OK) {
		guest_error(dev, "READY with a ring [%#llx, +%llu) not all in guest RAM (or wrapping)",
		            (unsigned long long)gpa, (unsigned long long)bytes);
		return;
	}
	vq_fetcher_init(&dev->vq, &q);
	REG_SET(dev, queue_head, 0);
	REG_SET(dev, queue_tail, 0);
	REG_SET(dev, status, VIRTIO_STATUS_READY);
}

static void write_status(struct simple_virtio_dev *dev, struct probe *p, uint32_t v)
{
	uint32_t cur = dev->regs->status;

	switch (v) {
	case VIRTIO_STATUS_RESET:
		reset_to_magic(dev);
		return;
	case VIRTIO_STATUS_DRIVER_OK:
		if (cur != VIRTIO_STATUS_MAGIC) {
			guest_error(dev, "DRIVER_OK written in state %s (needs MAGIC; write RESET first)",
			            status_name(cur));
			return;
		}
		REG_SET(dev, status, VIRTIO_STATUS_DRIVER_OK);
		return;
	case VIRTIO_STATUS_READY:
		if (cur != VIRTIO_STATUS_DRIVER_OK) {
			guest_error(dev, "READY written in state %s (needs DRIVER_OK)", status_name(cur));
			return;
		}
		accept_queue(dev, p);
		return;
	case VIRTIO_STATUS_MAGIC:
		guest_error(dev, "the driver wrote MAGIC to status");
		return;
	default:
		guest_error(dev, "unknown status value %#x", v);
		return;
	}
}

/* Moves one validated request's bytes; false (after reporting) if the probe or
 * disk_file fails part way. Only [0, file_size) of disk_file is touched. */
static bool transfer(struct simple_virtio_dev *dev, struct probe *p,
                     const struct virt_queue_entry *e, uint32_t index)
{
	bool to_disk = e->cmd == VIRT_QUEUE_CMD_WRITE;
	uint64_t pos = e->sector * SVIRTB_SECTOR_SIZE;
	uint64_t fsize = file_size(dev->disk);
	uint64_t n = pos >= fsize ? 0 : fsize - pos;
	if (n > e->size)
		n = e->size;

	for (uint64_t done = 0; done < n;) {
		gpa_t ga = e->addr + done;
		uint64_t chunk = GUEST_PAGE_SIZE - (ga & (GUEST_PAGE_SIZE - 1));
		if (chunk > n - done)
			chunk = n - done;
		/* The host page behind this guest page: disk_file reads straight
		 * into it, or writes straight from it. */
		uint8_t *buf = probe_page(p, ga, !to_disk);
		if (buf == NULL) {
			guest_error(dev, "entry %u: guest buffer at %#llx %s", index, (unsigned long long)ga,
			            to_disk ? "unreadable" : "unwritable");
			return false;
		}
		int64_t moved = to_disk ? file_write(dev->disk, pos + done, buf, chunk)
		                        : file_read(dev->disk, pos + done, buf, chunk);
		if (moved != (int64_t)chunk) {
			guest_error(dev, "entry %u: disk_file %s at byte %llu failed (%lld)", index,
			            to_disk ? "write" : "read", (unsigned long long)(pos + done),
			            (long long)moved);
			return false;
		}
		done += chunk;
	}
	return true;
}

/* Validates one entry before any byte moves, then performs it; false (after
 * reporting) if the guest got it wrong. */
static bool do_request(struct simple_virtio_dev *dev, struct probe *p,
                       const struct virt_queue_entry *e, uint32_t index)
{
	if (e->cmd != VIRT_QUEUE_CMD_READ && e->cmd != VIRT_QUEUE_CMD_WRITE) {
		guest_error(dev, "entry %u: unknown command %u", index, e->cmd);
		return false;
	}
	if (e->sector > UINT64_MAX / SVIRTB_SECTOR_SIZE) {
		guest_error(dev, "entry %u: sector %#llx overflows a byte offset", index,
		            (unsigned long long)e->sector);
		return false;
	}
	if (e->size != 0 && e->addr > UINT64_MAX - (e->size - 1)) {
		guest_error(dev, "entry %u: buffer [%#llx, +%#llx) wraps the address space", index,
		            (unsigned long long)e->addr, (unsigned long long)e->size);
		return false;
	}
	if (!vq_guest_range_ok(p, e->addr, e->size)) {
		guest_error(dev, "entry %u: buffer [%#llx, +%#llx) not all in guest RAM", index,
		            (unsigned long long)e->addr, (unsigned long long)e->size);
		return false;
	}
	return transfer(dev, p, e, index);
}

/* The doorbell: consume every entry up to head, publishing the tail as it moves. */
static void kick(struct simple_virtio_dev *dev, struct probe *p, uint32_t head)
{
	if (dev->regs->status != VIRTIO_STATUS_READY) {
		guest_error(dev, "queue_head written in state %s (needs READY)",
		            status_name(dev->regs->status));
		return;
	}
	if (vq_fetcher_set_head(&dev->vq, head) != VQ_OK) {
		guest_error(dev, "queue_head %u out of range (queue_size %u)", head, dev->vq.q.size);
		return;
	}
	REG_SET(dev, queue_head, head);
	/* The probe is the one of the exit being handled, not the one READY saw. */
	dev->vq.q.ctx = p;

	for (;;) {
		struct virt_queue_entry e;
		uint32_t index = dev->vq.tail;
		enum vq_error err = vq_fetcher_pop(&dev->vq, &e);
		if (err == VQ_ERR_EMPTY || err == VQ_ERR_STOPPED)
			return;
		if (err != VQ_OK) {
			guest_error(dev, "ring entry %u unreadable", index);
			return;
		}
		if (!do_request(dev, p, &e, index))
			return;
		vq_fetcher_ack(&dev->vq);
		REG_SET(dev, queue_tail, dev->vq.tail);
	}
}

static void apply_write(struct simple_virtio_dev *dev, struct probe *p, const struct mmio_info *info)
{
	if (info->addr < SIMPLE_VIRTIO_REGION_START || info->addr >= SIMPLE_VIRTIO_REGION_END) {
		guest_error(dev, "write at %#llx outside the register page", (unsigned long long)info->addr);
		return;
	}
	uint64_t off = info->addr - SIMPLE_VIRTIO_REGION_START;
	if (info->size != 4 || off % 4 != 0) {
		guest_error(dev, "%u-byte write at offset %#llx (registers take aligned 32-bit writes)",
		            info->size, (unsigned long long)off);
		return;
	}
	uint32_t v = (uint32_t)info->value;

	switch (off) {
	case VIRTIO_REG_STATUS:
		write_status(dev, p, v);
		return;
	case VIRTIO_REG_QUEUE_SIZE:
	case VIRTIO_REG_QUEUE_ADDR_HI:
	case VIRTIO_REG_QUEUE_ADDR_LO:
		if (dev->regs->status != VIRTIO_STATUS_DRIVER_OK) {
			guest_error(dev, "queue register at offset %#llx written in state %s (needs DRIVER_OK)",
			            (unsigned long long)off, status_name(dev->regs->status));
			return;
		}
		__atomic_store_n((uint32_t *)((uint8_t *)dev->regs + off), v, __ATOMIC_RELEASE);
		return;
	case VIRTIO_REG_QUEUE_HEAD:
		kick(dev, p, v);
		return;
	case VIRTIO_REG_QUEUE_TAIL:
		guest_error(dev, "the driver wrote queue_tail");
		return;
	default:
		guest_error(dev, "write at offset %#llx past the registers", (unsigned long long)off);
		return;
	}
}

/* Reads do not exit while the page is mapped; one that reaches handle anyway
 * (e.g. before attach mapped the page) gets the page's bytes, zero-extended.
 * Bytes beyond the page, and accesses of a width the decoder never produces,
 * read as zero. Reads never change the device. */
static uint64_t answer_read(struct simple_virtio_dev *dev, const struct mmio_info *info)
{
	uint64_t v = 0;
	if (info->addr < SIMPLE_VIRTIO_REGION_START || info->addr >= SIMPLE_VIRTIO_REGION_END)
		return 0;
	if (info->size != 1 && info->size != 2 && info->size != 4 && info->size != 8)
		return 0;
	uint64_t off = info->addr - SIMPLE_VIRTIO_REGION_START;
	uint64_t len = info->size;
	if (len > SVIRTB_MMIO_PAGE_SIZE - off)
		len = SVIRTB_MMIO_PAGE_SIZE - off;
	memcpy(&v, (const uint8_t *)dev->regs + off, len);
	return v;
}
/* END SOLUTION */

/* Assignment: handle one guest access to the register page.
 *
 * h->priv is the device. The guest's page is read-only, so what arrives here
 * is a decoded write (info->dir == MMIO_WRITE; info->size in bytes,
 * info->addr the guest-physical address, info->value the value); a read that
 * arrives anyway is answered in *read_value from the register page.
 *
 * Take dev->lock (a mutex: mutex_lock / mutex_unlock) for the whole call. For
 * an aligned 32-bit write to one of the six registers, implement the spec's
 * status machine and store accepted values into dev->regs (the guest reads
 * them back from there):
 *   - status: RESET from any state returns to MAGIC with the queue registers
 *     zeroed; DRIVER_OK only from MAGIC; READY only from DRIVER_OK, after
 *     validating the queue (size 1..SVIRTB_QUEUE_MAX_SIZE, ring in guest RAM:
 *     virt_queue_from_guest; guest RAM never reaches the register page),
 *     which sets head = tail = 0;
 *   - queue_size, queue_addr_hi, queue_addr_lo: only in DRIVER_OK;
 *   - queue_head, only in READY and < queue_size: the doorbell. Before
 *     returning, perform every entry from queue_tail up to the new head
 *     (vq_fetcher_pop / vq_fetcher_ack): cmd 0 reads size bytes of disk_file
 *     at sector * 512 into the guest buffer at addr, cmd 1 writes them from
 *     the buffer to disk_file. Check the whole buffer before moving a byte,
 *     without touching it (vq_guest_range_ok: its cost does not grow with
 *     size; an entry past the end of disk_file touches no guest page). Reach
 *     guest memory only through the probe, in chunks that do not cross a
 *     guest page: probe_page gives the host address of the chunk (writable,
 *     when the disk reads into it), and file_read / file_write move the
 *     bytes straight between it and disk_file. Past the end of disk_file,
 *     move only the bytes that exist. Store the new queue_tail in dev->regs.
 *     When vq_fetcher_pop returns VQ_ERR_STOPPED the VM is ending: stop
 *     draining, quietly (no line, status unchanged: not a guest error).
 * Anything else the guest does wrong (other widths, unaligned or other
 * offsets, queue_tail, out-of-order status, a bad queue or entry: unknown
 * cmd, sector * 512 or addr + size overflowing, buffer not all in guest RAM,
 * which includes one over the register page) prints one line saying why and
 * sets status RESET, stopping the drain. Never touch memory outside guest
 * RAM and disk_file, whatever the guest writes.
 * Return VM_ERR_NONE: guest errors do not stop the VM. */
enum vm_error simple_virtio_handle(struct mmio_handler *h, struct probe *p,
                                   const struct mmio_info *info, uint64_t *read_value,
                                   struct vcpu_state *vcpu)
{
	/* BEGIN SOLUTION */
	struct simple_virtio_dev *dev = h->priv;
	(void)vcpu;

	mutex_lock(&dev->lock);
	if (info->dir == MMIO_WRITE)
		apply_write(dev, p, info);
	else if (read_value != NULL)
		*read_value = answer_read(dev, info);
	mutex_unlock(&dev->lock);
	return VM_ERR_NONE;
	/* END SOLUTION */
}
