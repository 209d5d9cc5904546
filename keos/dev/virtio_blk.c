/* The virtio-blk driver, legacy interface (virtio 0.9.5 over PCI I/O ports).
 *
 * QEMU's virtio-blk-pci is transitional: device 1af4:1001 answers the legacy
 * register layout in its I/O BAR0, which needs no capability walking and no
 * MMIO mapping. Set-up is the legacy dance: reset, ACKNOWLEDGE, DRIVER,
 * feature negotiation, queue 0's page frame number, DRIVER_OK.
 *
 * The virtqueue. The legacy device fixes the queue size and expects the three
 * parts of the split ring in one physically contiguous area: the descriptor
 * table, the avail ring right after it, the used ring on the next 4096-byte
 * boundary. The area is a static array in the kernel image (which is
 * physically contiguous) sized for QEMU's largest queue (1024): the driver
 * allocates nothing, so a kernel test that initializes it leaks no page.
 *
 * Requests. The descriptor table is cut into `nslots` fixed slots of
 * `slot_descs` descriptors; slot i owns descriptors [i*slot_descs, ...), so a
 * used-ring id names its slot by division and no free list is needed. A
 * request is a chain: header (device-readable), the data one descriptor per
 * physically contiguous piece (the caller's buffer is split at page
 * boundaries, since consecutive virtual pages need not be consecutive
 * physical pages), and the status byte (device-writable). Header and status
 * live in a static per-slot array. A buffer outside the direct map and the
 * kernel image has no physical address the driver can compute: it goes
 * through the slot's bounce page, one page per request.
 *
 * Completion is by polling the used ring (the legacy PIC is masked and the
 * IOAPIC is not programmed, so there is no interrupt to wait for; the avail
 * ring says NO_INTERRUPT). A waiting thread yields between polls when it
 * holds no spinlock and interrupts are on; otherwise (the exit path, a panic)
 * it spins with pause. Whoever polls reaps every finished request under the
 * lock and marks its slot done; the slot's owner then reads the status byte,
 * releases the slot and wakes threads that wait for a free slot.
 * A caller splits a large transfer into requests of at most
 * max_req_sectors and keeps up to PER_CALLER of them in flight at once;
 * several threads share the slots, so the device may hold up to nslots
 * requests.
 *
 * Errors are returned, never ignored: a status byte other than OK, a request
 * outside the device's capacity, a write to a read-only device. A request
 * that does not complete within REQUEST_TIMEOUT_TICKS resets the device
 * (QEMU finishes or drops in-flight requests on reset, so no buffer is
 * written after the caller gives up) and marks it broken: every later
 * request fails at once instead of hanging.
 *
 * Locking: `lock` (a spinlock) protects the ring indices, the slots and the
 * counters. It is never held while waiting; the waits are the caller's own
 * loop or waitq_wait, which releases it. Lock order: vblk.lock, then the
 * scheduler's lock (inside waitq_*). */
#include "keos/dev/virtio_blk.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/dev/pci.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"
#include <stddef.h>
#include <string.h>

/* Legacy virtio-pci registers: offsets in I/O BAR0. */
#define REG_HOST_FEATURES  0x00   /* 32 bits */
#define REG_GUEST_FEATURES 0x04   /* 32 bits */
#define REG_QUEUE_PFN      0x08   /* 32 bits: physical address >> 12 */
#define REG_QUEUE_SIZE     0x0c   /* 16 bits, read-only in legacy */
#define REG_QUEUE_SELECT   0x0e   /* 16 bits */
#define REG_QUEUE_NOTIFY   0x10   /* 16 bits */
#define REG_STATUS         0x12   /* 8 bits */
#define REG_CONFIG         0x14   /* device config, while MSI-X is disabled */

/* virtio-blk device config. */
#define CFG_CAPACITY 0x00   /* 64 bits, in 512-byte sectors */
#define CFG_SIZE_MAX 0x08   /* 32 bits */
#define CFG_SEG_MAX  0x0c   /* 32 bits */

#define STATUS_ACKNOWLEDGE 0x01
#define STATUS_DRIVER      0x02
#define STATUS_DRIVER_OK   0x04
#define STATUS_FAILED      0x80

#define VIRTIO_BLK_F_SIZE_MAX (1u << 1)
#define VIRTIO_BLK_F_SEG_MAX  (1u << 2)
#define VIRTIO_BLK_F_RO       (1u << 5)
#define VIRTIO_BLK_F_FLUSH    (1u << 9)
/* Every feature the driver understands; the rest (EVENT_IDX, INDIRECT_DESC,
 * ANY_LAYOUT, ...) stays off, which keeps the ring in its simplest form. */
#define DRIVER_FEATURES (VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_RO | \
			 VIRTIO_BLK_F_FLUSH)

#define VRING_DESC_F_NEXT  1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
/* Written into the status byte before submission: a device that completes a
 * request without writing a status is caught. */
#define STATUS_UNWRITTEN 0xff

#define MAX_QUEUE 1024u             /* QEMU's VIRTQUEUE_MAX_SIZE */
#define VRING_ALIGN 4096u
#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))
#define RING_USED_OFFSET(n) ALIGN_UP(16u * (n) + 6u + 2u * (n), VRING_ALIGN)
#define RING_BYTES(n) (RING_USED_OFFSET(n) + ALIGN_UP(6u + 8u * (n), VRING_ALIGN))

#define MAX_SLOTS 8u
#define PER_CALLER 4u
#define MAX_REQ_SECTORS 128u
/* A 64 KiB buffer that does not start on a page boundary touches 17 pages. */
#define MAX_DATA_SEGS (MAX_REQ_SECTORS * SECTOR_SIZE / PAGE_SIZE + 1)
#define MAX_SLOT_DESCS (MAX_DATA_SEGS + 2)

/* How long one request may take before the device is declared dead. Time
 * comes from the timer tick where it advances, and from the TSC where
 * interrupts are off (the exit path): a generous cycle count, since the TSC
 * rate is unknown. */
#define REQUEST_TIMEOUT_TICKS (20u * TIMER_HZ)
#define REQUEST_TIMEOUT_TSC   (60ull * 1000 * 1000 * 1000)

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

_Static_assert(sizeof(struct vring_desc) == 16, "descriptor layout");
_Static_assert(sizeof(struct blk_req_hdr) == 16, "request header layout");

/* What the device reads and writes for a slot besides the data; aligned so
 * neither field straddles a page. */
struct slot_dma {
	struct blk_req_hdr hdr;
	volatile uint8_t status;
} __attribute__((aligned(32)));

struct slot {
	bool busy;                /* owned by a caller */
	bool done;                /* the device returned it (set by reap_locked) */
	void *bounce_to;          /* a read through the bounce page: copy here when done */
	uint32_t bounce_bytes;
};

/* A physically contiguous piece of a buffer. */
struct seg {
	uint64_t pa;
	uint32_t len;
};

static uint8_t ring_mem[RING_BYTES(MAX_QUEUE)] __attribute__((aligned(VRING_ALIGN)));
static struct slot_dma slot_dma[MAX_SLOTS];
static uint8_t bounce[MAX_SLOTS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static struct {
	struct spinlock lock;
	struct waitq slot_wait;
	bool ready;
	int init_result;
	bool init_done;
	bool broken;
	uint16_t iobase;
	uint32_t features;
	uint64_t capacity;
	uint32_t qsize;
	uint32_t slot_descs, nslots, max_segs, max_req_bytes;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t avail_idx;       /* next free avail ring position (free-running) */
	uint16_t last_used;       /* next used ring entry to reap (free-running) */
	uint32_t in_flight;
	struct slot slot[MAX_SLOTS];
	struct virtio_blk_stats stats;
	struct blockdev bdev;
} vblk = { .lock = SPINLOCK_INIT("virtio-blk") };

static inline void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }

static uint32_t cfg32(uint16_t off) { return inl(vblk.iobase + REG_CONFIG + off); }

/* Yielding is allowed only with no spinlock held and interrupts on;
 * thread_yield would panic otherwise. */
static bool may_sleep(void)
{
	return interrupts_enabled() && cpu_intr_depth() == 0;
}

static void relax(bool sleep_ok)
{
	if (sleep_ok)
		thread_yield();
	else
		pause();
}

struct deadline {
	uint64_t tick0, tsc0;
};

static struct deadline deadline_start(void)
{
	return (struct deadline){ timer_ticks(), rdtsc() };
}

static bool deadline_passed(const struct deadline *d)
{
	return timer_ticks() - d->tick0 > REQUEST_TIMEOUT_TICKS ||
	       rdtsc() - d->tsc0 > REQUEST_TIMEOUT_TSC;
}

/* Stops the device for good. Resetting it makes QEMU finish or drop what it
 * holds, so no buffer of a caller that gave up is written later. */
static void break_device_locked(const char *why)
{
	if (vblk.broken)
		return;
	vblk.broken = true;
	outb(vblk.iobase + REG_STATUS, 0);
	printk("virtio-blk: %s; device reset, all further requests fail\n", why);
	waitq_wake_all(&vblk.slot_wait);
}

/* Marks every request the device has returned since the last call. */
static void reap_locked(void)
{
	uint16_t idx = vblk.used->idx;

	/* The used entries are read after the index that publishes them (x86
	 * keeps loads in order; the compiler must too). */
	compiler_barrier();
	while (vblk.last_used != idx) {
		struct vring_used_elem e = vblk.used->ring[vblk.last_used % vblk.qsize];
		uint32_t s = e.id / vblk.slot_descs;

		if (e.id % vblk.slot_descs || s >= vblk.nslots || !vblk.slot[s].busy ||
		    vblk.slot[s].done) {
			break_device_locked("the device returned a descriptor it was not given");
			return;
		}
		vblk.slot[s].done = true;
		vblk.in_flight--;
		vblk.stats.requests++;
		vblk.last_used++;
	}
}

/* take_slot's answer when no slot is free and the caller would not wait; it
 * is no virtio_blk_error, so it never escapes this file. */
#define NO_FREE_SLOT (-100)

/* Takes a free slot; with wait, sleeps (or spins, if !sleep_ok) until one
 * is free. Returns the slot, NO_FREE_SLOT, or a virtio_blk_error. */
static int take_slot(bool wait, bool sleep_ok)
{
	struct deadline dl = deadline_start();

	spin_lock(&vblk.lock);
	for (;;) {
		if (vblk.broken) {
			spin_unlock(&vblk.lock);
			return VBLK_ERR_BROKEN;
		}
		for (uint32_t i = 0; i < vblk.nslots; i++) {
			if (!vblk.slot[i].busy) {
				vblk.slot[i] = (struct slot){ .busy = true };
				spin_unlock(&vblk.lock);
				return (int)i;
			}
		}
		if (!wait) {
			spin_unlock(&vblk.lock);
			return NO_FREE_SLOT;
		}
		if (sleep_ok) {
			waitq_wait(&vblk.slot_wait, &vblk.lock);
			continue;
		}
		/* No sleeping here (exit path): the owners release their slots
		 * on other CPUs, or never, and then the deadline ends the wait. */
		reap_locked();
		spin_unlock(&vblk.lock);
		if (deadline_passed(&dl))
			return VBLK_ERR_TIMEOUT;
		pause();
		spin_lock(&vblk.lock);
	}
}

static bool translatable(const void *buf, uint64_t bytes)
{
	uint64_t v = (uint64_t)(uintptr_t)buf;

	if (v + bytes < v)
		return false;
	if (v >= KERNBASE)
		return true;
	return v >= PHYS_MAP_BASE && v + bytes <= PHYS_MAP_BASE + PHYS_MAP_SIZE;
}

/* Splits a translatable buffer into physically contiguous pieces, merging
 * neighbours that happen to be contiguous. The caller has sized it to fit. */
static uint32_t split_buffer(uint8_t *buf, uint32_t bytes, struct seg *segs)
{
	uint32_t n = 0;

	while (bytes) {
		uint64_t pa = virt_to_phys(buf);
		uint32_t len = PAGE_SIZE - (uint32_t)((uintptr_t)buf % PAGE_SIZE);

		if (len > bytes)
			len = bytes;
		if (n && segs[n - 1].pa + segs[n - 1].len == pa &&
		    (!(vblk.features & VIRTIO_BLK_F_SIZE_MAX) || segs[n - 1].len + len <= PAGE_SIZE))
			segs[n - 1].len += len;
		else
			segs[n++] = (struct seg){ pa, len };
		buf += len;
		bytes -= len;
	}
	return n;
}

/* Chooses how much of buf (bytes left) slot s carries and where it lives.
 * Returns the bytes it carries; fills segs. */
static uint32_t prepare_data(uint32_t s, uint32_t type, uint8_t *buf, uint64_t left,
			     struct seg *segs, uint32_t *nsegs)
{
	uint32_t n = left < vblk.max_req_bytes ? (uint32_t)left : vblk.max_req_bytes;

	*nsegs = 0;
	if (n == 0)
		return 0;
	if (translatable(buf, n) && vblk.max_segs >= 2) {
		*nsegs = split_buffer(buf, n, segs);
		return n;
	}
	if (n > PAGE_SIZE)
		n = PAGE_SIZE;
	if (type == VIRTIO_BLK_T_OUT) {
		memcpy(bounce[s], buf, n);
	} else {
		vblk.slot[s].bounce_to = buf;
		vblk.slot[s].bounce_bytes = n;
	}
	segs[0] = (struct seg){ virt_to_phys(bounce[s]), n };
	*nsegs = 1;
	return n;
}

/* Writes slot s's chain and publishes it, then tells the device. */
static void submit(uint32_t s, uint32_t type, uint64_t sector, const struct seg *segs, uint32_t nsegs)
{
	uint16_t head = (uint16_t)(s * vblk.slot_descs), d = head;
	uint16_t data_flags = VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE);

	slot_dma[s].hdr = (struct blk_req_hdr){ .type = type, .sector = sector };
	slot_dma[s].status = STATUS_UNWRITTEN;
	vblk.desc[d] = (struct vring_desc){ virt_to_phys(&slot_dma[s].hdr), sizeof(struct blk_req_hdr),
					     VRING_DESC_F_NEXT, (uint16_t)(d + 1) };
	d++;
	for (uint32_t i = 0; i < nsegs; i++, d++)
		vblk.desc[d] = (struct vring_desc){ segs[i].pa, segs[i].len, data_flags, (uint16_t)(d + 1) };
	vblk.desc[d] = (struct vring_desc){ virt_to_phys((const void *)(uintptr_t)&slot_dma[s].status), 1, VRING_DESC_F_WRITE, 0 };

	spin_lock(&vblk.lock);
	vblk.avail->ring[vblk.avail_idx % vblk.qsize] = head;
	/* The chain and the ring entry must be visible before the index that
	 * hands them to the device (x86 keeps stores in order). */
	compiler_barrier();
	vblk.avail->idx = ++vblk.avail_idx;
	if (++vblk.in_flight > vblk.stats.max_in_flight)
		vblk.stats.max_in_flight = vblk.in_flight;
	spin_unlock(&vblk.lock);
	/* The index store must be globally visible before the device's flag is
	 * read, or a device about to go idle could miss this request. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(vblk.used->flags & VRING_USED_F_NO_NOTIFY))
		outw(vblk.iobase + REG_QUEUE_NOTIFY, 0);
}

/* Polls until slot s is done. On a timeout the device is broken and the
 * slot is never reused (the device may have touched it last). */
static int wait_done(uint32_t s, bool sleep_ok)
{
	struct deadline dl = deadline_start();

	for (;;) {
		bool done, broken;

		/* A lock-free peek first: most polls see nothing new. */
		if (vblk.used->idx != vblk.last_used || vblk.slot[s].done || vblk.broken) {
			spin_lock(&vblk.lock);
			reap_locked();
			done = vblk.slot[s].done;
			broken = vblk.broken;
			spin_unlock(&vblk.lock);
			if (done)
				return VBLK_OK;
			if (broken)
				return VBLK_ERR_BROKEN;
		}
		if (deadline_passed(&dl)) {
			spin_lock(&vblk.lock);
			reap_locked();
			done = vblk.slot[s].done;
			if (!done)
				break_device_locked("a request did not complete in time");
			spin_unlock(&vblk.lock);
			return done ? VBLK_OK : VBLK_ERR_TIMEOUT;
		}
		relax(sleep_ok);
	}
}

/* Reads slot s's status, copies a bounced read out, frees the slot. */
static int finish(uint32_t s)
{
	uint8_t st = slot_dma[s].status;
	struct slot *sl = &vblk.slot[s];
	int r = st == VIRTIO_BLK_S_OK ? VBLK_OK
	      : st == VIRTIO_BLK_S_IOERR ? VBLK_ERR_IOERR
	      : st == VIRTIO_BLK_S_UNSUPP ? VBLK_ERR_UNSUPP : VBLK_ERR_BAD_STATUS;

	if (r == VBLK_OK && sl->bounce_to)
		memcpy(sl->bounce_to, bounce[s], sl->bounce_bytes);
	spin_lock(&vblk.lock);
	*sl = (struct slot){ 0 };
	waitq_wake_all(&vblk.slot_wait);
	spin_unlock(&vblk.lock);
	return r;
}

/* Moves bytes between buf and the device in as many requests as it takes,
 * up to PER_CALLER at once. Sector transfers advance the sector per request;
 * other types carry at most one request's worth. On an error no new request
 * is started, but those in flight are waited for: the device may still be
 * writing into buf. The first error is returned. */
static int transfer(uint32_t type, uint64_t sector, uint8_t *buf, uint64_t bytes)
{
	bool sleep_ok = may_sleep();
	bool sectors = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT;
	uint32_t pending[PER_CALLER], np = 0;
	uint64_t sent = 0;
	bool started = false;
	int err = VBLK_OK;

	while (((sent < bytes || !started) && !err) || np) {
		if ((sent < bytes || !started) && !err && np < PER_CALLER) {
			/* Wait for a slot only when holding none: a caller that
			 * holds slots waits for its own requests instead, so
			 * callers never wait for each other in a cycle. */
			int s = take_slot(np == 0, sleep_ok);
			struct seg segs[MAX_DATA_SEGS];
			uint32_t nsegs, n;

			if (s >= 0) {
				n = prepare_data((uint32_t)s, type, buf + sent, bytes - sent, segs, &nsegs);
				submit((uint32_t)s, type, sectors ? sector + sent / SECTOR_SIZE : sector,
				       segs, nsegs);
				pending[np++] = (uint32_t)s;
				sent += n;
				started = true;
				continue;
			}
			if (s != NO_FREE_SLOT) {
				err = s;
				continue;
			}
		}
		int r = wait_done(pending[0], sleep_ok);
		if (r == VBLK_OK)
			r = finish(pending[0]);
		if (r && !err)
			err = r;
		np--;
		memmove(pending, pending + 1, np * sizeof(pending[0]));
	}
	return err;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN: return "read";
	case VIRTIO_BLK_T_OUT: return "write";
	case VIRTIO_BLK_T_FLUSH: return "flush";
	case VIRTIO_BLK_T_GET_ID: return "get-id";
	}
	return "request";
}

/* transfer() with the checks every entry point shares; device-reported
 * failures are also printed, so a failing fs call can be traced to its
 * sectors. */
static int checked_transfer(uint32_t type, uint64_t sector, void *buf, uint64_t bytes)
{
	int r;

	if (!vblk.ready)
		return VBLK_ERR_NO_DEVICE;
	if (vblk.broken)
		return VBLK_ERR_BROKEN;
	if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT) {
		uint64_t count = bytes / SECTOR_SIZE;
		if (bytes % SECTOR_SIZE || sector >= vblk.capacity || count > vblk.capacity - sector)
			return VBLK_ERR_RANGE;
		if (bytes == 0)
			return VBLK_OK;
	} else if (bytes > PAGE_SIZE) {
		/* One request: even the bounce page must hold it. */
		return VBLK_ERR_RANGE;
	}
	if (type == VIRTIO_BLK_T_OUT && (vblk.features & VIRTIO_BLK_F_RO))
		return VBLK_ERR_READ_ONLY;
	if (bytes && !buf)
		return VBLK_ERR_RANGE;
	r = transfer(type, sector, buf, bytes);
	if (r == VBLK_ERR_IOERR || r == VBLK_ERR_BAD_STATUS)
		printk("virtio-blk: %s of %lu byte(s) at sector %lu failed: %s\n", type_name(type),
		       (unsigned long)bytes, (unsigned long)sector, virtio_blk_strerror(r));
	return r;
}

int virtio_blk_request(uint32_t type, uint64_t sector, void *buf, uint32_t bytes)
{
	return checked_transfer(type, sector, buf, bytes);
}

int virtio_blk_flush(void)
{
	if (!vblk.ready)
		return VBLK_ERR_NO_DEVICE;
	if (!(vblk.features & VIRTIO_BLK_F_FLUSH))
		return VBLK_OK;   /* no write cache: completed writes are already on the disk */
	return checked_transfer(VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
}

static int bdev_read(struct blockdev *d, uint64_t sector, void *buf, uint32_t count)
{
	(void)d;
	return checked_transfer(VIRTIO_BLK_T_IN, sector, buf, (uint64_t)count * SECTOR_SIZE);
}

static int bdev_write(struct blockdev *d, uint64_t sector, const void *buf, uint32_t count)
{
	(void)d;
	/* The device only reads the buffer of a T_OUT request. */
	return checked_transfer(VIRTIO_BLK_T_OUT, sector, (void *)(uintptr_t)buf,
				(uint64_t)count * SECTOR_SIZE);
}

static int bdev_flush(struct blockdev *d)
{
	(void)d;
	return virtio_blk_flush();
}

static int setup_fail(uint8_t status_bits, const char *why)
{
	outb(vblk.iobase + REG_STATUS, status_bits | STATUS_FAILED);
	printk("virtio-blk: %s\n", why);
	return VBLK_ERR_SETUP;
}

/* Sizes the slots from the queue size and the device's segment limit. */
static bool size_slots(void)
{
	vblk.slot_descs = vblk.qsize < MAX_SLOT_DESCS ? vblk.qsize : MAX_SLOT_DESCS;
	vblk.max_segs = vblk.slot_descs - 2;
	if (vblk.features & VIRTIO_BLK_F_SEG_MAX) {
		uint32_t seg_max = cfg32(CFG_SEG_MAX);
		if (seg_max < vblk.max_segs)
			vblk.max_segs = seg_max;
	}
	if (vblk.max_segs < 1)
		return false;
	/* n bytes starting anywhere in a page touch at most n / 4096 + 1 pages. */
	if (vblk.max_segs >= 2) {
		vblk.max_req_bytes = (vblk.max_segs - 1) * PAGE_SIZE;
		if (vblk.max_req_bytes > MAX_REQ_SECTORS * SECTOR_SIZE)
			vblk.max_req_bytes = MAX_REQ_SECTORS * SECTOR_SIZE;
	} else {
		vblk.max_req_bytes = PAGE_SIZE;   /* one segment: always the bounce page */
	}
	vblk.nslots = vblk.qsize / vblk.slot_descs;
	if (vblk.nslots > MAX_SLOTS)
		vblk.nslots = MAX_SLOTS;
	return true;
}

static int setup(void)
{
	struct pci_device pd;
	bool is_io;
	uint8_t st = STATUS_ACKNOWLEDGE | STATUS_DRIVER;

	if (!pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BLK_LEGACY, &pd)) {
		if (pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BLK_MODERN, &pd))
			printk("virtio-blk: only a modern (non-transitional) device found; "
			       "the driver needs the legacy interface\n");
		return VBLK_ERR_NO_DEVICE;
	}
	uint64_t bar = pci_bar(&pd, 0, &is_io);
	if (!is_io || bar == 0 || bar > 0xffff) {
		printk("virtio-blk: BAR0 is not an I/O port range\n");
		return VBLK_ERR_SETUP;
	}
	pci_enable(&pd);
	vblk.iobase = (uint16_t)bar;

	outb(vblk.iobase + REG_STATUS, 0);
	outb(vblk.iobase + REG_STATUS, STATUS_ACKNOWLEDGE);
	outb(vblk.iobase + REG_STATUS, st);
	uint32_t host = inl(vblk.iobase + REG_HOST_FEATURES);
	vblk.features = host & DRIVER_FEATURES;
	if ((vblk.features & VIRTIO_BLK_F_SIZE_MAX) && cfg32(CFG_SIZE_MAX) < PAGE_SIZE)
		return setup_fail(st, "the device wants segments smaller than a page");
	outl(vblk.iobase + REG_GUEST_FEATURES, vblk.features);

	outw(vblk.iobase + REG_QUEUE_SELECT, 0);
	vblk.qsize = inw(vblk.iobase + REG_QUEUE_SIZE);
	if (vblk.qsize < 3 || vblk.qsize > MAX_QUEUE || (vblk.qsize & (vblk.qsize - 1)))
		return setup_fail(st, "queue 0 has an unusable size");
	if (!size_slots())
		return setup_fail(st, "the device allows no data segment");

	memset(ring_mem, 0, RING_BYTES(vblk.qsize));
	vblk.desc = (volatile struct vring_desc *)ring_mem;
	vblk.avail = (volatile struct vring_avail *)(ring_mem + 16u * vblk.qsize);
	vblk.used = (volatile struct vring_used *)(ring_mem + RING_USED_OFFSET(vblk.qsize));
	vblk.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vblk.avail_idx = vblk.last_used = 0;
	waitq_init(&vblk.slot_wait);
	outl(vblk.iobase + REG_QUEUE_PFN, (uint32_t)(virt_to_phys(ring_mem) / VRING_ALIGN));

	vblk.capacity = cfg32(CFG_CAPACITY) | (uint64_t)cfg32(CFG_CAPACITY + 4) << 32;
	outb(vblk.iobase + REG_STATUS, st | STATUS_DRIVER_OK);
	if (inb(vblk.iobase + REG_STATUS) != (st | STATUS_DRIVER_OK))
		return setup_fail(st, "the device did not accept DRIVER_OK");

	vblk.bdev = (struct blockdev){ .nsectors = vblk.capacity, .read = bdev_read,
				       .write = bdev_write, .flush = bdev_flush, .priv = &vblk };
	vblk.stats.queue_size = vblk.qsize;
	vblk.stats.slots = vblk.nslots;
	vblk.stats.max_request_sectors = vblk.max_req_bytes / SECTOR_SIZE;
	vblk.stats.flush_supported = vblk.features & VIRTIO_BLK_F_FLUSH;
	vblk.ready = true;
	return VBLK_OK;
}

int virtio_blk_init(struct blockdev **out)
{
	/* Set-up only does port I/O and never waits, so the lock can cover it
	 * and a second caller simply gets the first one's result. */
	spin_lock(&vblk.lock);
	if (!vblk.init_done) {
		vblk.init_result = setup();
		vblk.init_done = true;
	}
	int r = vblk.init_result;
	spin_unlock(&vblk.lock);
	*out = r == VBLK_OK ? &vblk.bdev : NULL;
	return r;
}

void virtio_blk_get_stats(struct virtio_blk_stats *out)
{
	spin_lock(&vblk.lock);
	*out = vblk.stats;
	spin_unlock(&vblk.lock);
}

const char *virtio_blk_strerror(int err)
{
	switch (err) {
	case VBLK_OK: return "success";
	case VBLK_ERR_NO_DEVICE: return "no virtio-blk device";
	case VBLK_ERR_SETUP: return "the device refused the driver's configuration";
	case VBLK_ERR_IOERR: return "the device reported an I/O error";
	case VBLK_ERR_UNSUPP: return "the device does not support the request";
	case VBLK_ERR_BAD_STATUS: return "the device returned no valid status";
	case VBLK_ERR_RANGE: return "sectors outside the device or a bad length";
	case VBLK_ERR_READ_ONLY: return "the device is read-only";
	case VBLK_ERR_TIMEOUT: return "the device did not complete a request in time";
	case VBLK_ERR_BROKEN: return "the device was disabled by an earlier failure";
	}
	return "unknown virtio-blk error";
}
