/* libFuzzer harness for the svirtb device model (project4/dev/simple_virtio.c).
 *
 * An input is a program for a hostile guest: a sequence of operations, each an
 * opcode byte and its operands (missing bytes read as zero; the exact encoding
 * is in run_op and in the seeds of run_fuzz.sh):
 *
 *   0 raw store     any width (1, 2, 3, 4, 8), any offset in and just past
 *                   the register page, any 64-bit value
 *   1 register      an aligned 32-bit store to one of the six registers; for
 *                   status, the value is usually one of the four the spec names
 *   2 initialize    RESET, DRIVER_OK, queue_size, addr_hi, addr_lo, READY,
 *                   with the ring in low RAM, near the top of the address
 *                   space or just below the register page: reaches READY
 *                   often enough for the drain to be explored
 *   3 ring entry    a 28-byte entry written into guest RAM at slot i of the
 *                   ring the registers name: plausible fields, raw 64-bit
 *                   ones, or a buffer near the register page
 *   4 RAM bytes     raw bytes written into guest RAM
 *   5 doorbell      queue_head = head + n (mod queue_size), or a raw value
 *   6 load          an MMIO read of any width and offset
 *   7 disk          make disk_file fail (or work again)
 *
 * Guest RAM is 64 KiB with a hole at [0x8000, 0x9000); disk_file is 3000
 * bytes. The fakes abort on any access past disk_file, on lock misuse and on
 * a console message that is not one line; ASan and UBSan catch the rest. After
 * every operation the harness checks what must hold whatever the guest did:
 * handle returns VM_ERR_NONE with the lock free; the status is one of the
 * four; MAGIC means an empty configuration; READY means a valid queue size
 * and a fully drained ring (tail == head, the drain is synchronous); the page
 * past the registers is still zero; disk_file kept its size. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "project4/dev/simple_virtio.h"
#include "tests/host/fake_guest.h"

#define RAM_SIZE   0x10000ull
#define HOLE_START 0x8000ull
#define HOLE_END   0x9000ull

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && in->left > 0; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static struct simple_virtio_dev *dev;
static struct vcpu_state vcpu;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
		abort(); \
	} \
} while (0)

static void access(enum mmio_direction dir, gpa_t addr, uint8_t size, uint64_t value)
{
	struct mmio_info info = { .dir = dir, .size = size, .addr = addr, .value = value };
	uint64_t read_value = 0;
	CHECK(dev->handler.handle(&dev->handler, fake_probe(), &info, &read_value, &vcpu) == VM_ERR_NONE);
	CHECK(!mutex_holding(&dev->lock));
}

static void reg_write(uint32_t off, uint32_t value)
{
	access(MMIO_WRITE, SVIRTB_MMIO_BASE + off, 4, value);
}

/* A guest store into its own RAM: bytes that are not RAM are dropped. */
static void ram_write(gpa_t gpa, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		if (fake_ram_is_ram(gpa + i))
			*(uint8_t *)fake_ram_ptr(gpa + i) = b[i];
}

static void check_invariants(void)
{
	static const uint8_t zero[SVIRTB_MMIO_PAGE_SIZE];
	const struct virtio_mmio_header *r = dev->regs;
	const size_t hdr = sizeof(*r);

	CHECK(memcmp((const uint8_t *)r + hdr, zero, sizeof(zero) - hdr) == 0);
	CHECK(fake_disk_size() == FAKE_DISK_DEFAULT_SIZE);
	switch (r->status) {
	case VIRTIO_STATUS_MAGIC:
		CHECK(r->queue_size == 0 && r->queue_addr_hi == 0 && r->queue_addr_lo == 0);
		CHECK(r->queue_head == 0 && r->queue_tail == 0);
		break;
	case VIRTIO_STATUS_DRIVER_OK:
	case VIRTIO_STATUS_RESET:
		break;
	case VIRTIO_STATUS_READY:
		CHECK(r->queue_size >= 1 && r->queue_size <= SVIRTB_QUEUE_MAX_SIZE);
		CHECK(r->queue_head < r->queue_size);
		CHECK(r->queue_tail == r->queue_head);
		CHECK(dev->vq.q.size == r->queue_size);
		break;
	default:
		CHECK(!"status is not one of the four");
	}
}

static const uint8_t widths[8] = { 4, 4, 4, 4, 1, 2, 8, 3 };
static const uint32_t statuses[8] = {
	VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_READY, VIRTIO_STATUS_RESET, VIRTIO_STATUS_READY,
	VIRTIO_STATUS_RESET, VIRTIO_STATUS_MAGIC, VIRTIO_STATUS_DRIVER_OK, 0 /* raw */,
};

static void run_op(struct input *in)
{
	const struct virtio_mmio_header *r = dev->regs;
	switch (take(in, 1) % 8) {
	case 0: {
		uint64_t off = take(in, 2) % 0x1100;
		uint8_t size = widths[take(in, 1) % 8];
		access(MMIO_WRITE, SVIRTB_MMIO_BASE + off, size, take(in, 8));
		break;
	}
	case 1: {
		uint32_t reg = (uint32_t)(take(in, 1) % 6) * 4;
		uint32_t v = (uint32_t)take(in, 4);
		if (reg == VIRTIO_REG_STATUS && (v & 7) != 7)
			v = statuses[v & 7];
		reg_write(reg, v);
		break;
	}
	case 2: {
		/* where: 0 the ring operand as is; 1 the top of the address space;
		 * 2 just below the register page. */
		uint32_t ring = (uint32_t)take(in, 2);
		uint32_t size = (uint32_t)(take(in, 2) % 1100);
		gpa_t gpa = ring;
		switch (take(in, 1) % 4) {
		case 1: gpa = ~0ull - ring; break;
		case 2: gpa = SVIRTB_MMIO_BASE - ring; break;
		}
		reg_write(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
		reg_write(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
		reg_write(VIRTIO_REG_QUEUE_SIZE, size);
		reg_write(VIRTIO_REG_QUEUE_ADDR_HI, (uint32_t)(gpa >> 32));
		reg_write(VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)gpa);
		reg_write(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
		break;
	}
	case 3: {
		uint32_t flags = (uint32_t)take(in, 1);
		uint32_t slot = (uint32_t)(take(in, 2) % 1024);
		struct virt_queue_entry e;
		if (flags & 0x10)
			e.addr = SVIRTB_MMIO_BASE - 0x800 + take(in, 2) % 0x1000;
		else
			e.addr = flags & 1 ? take(in, 8) : take(in, 2);
		e.size = flags & 2 ? take(in, 8) : take(in, 2) % 9000;
		e.sector = flags & 4 ? take(in, 8) : take(in, 1) % 8;
		e.cmd = flags & 8 ? (uint32_t)take(in, 4) : (uint32_t)(take(in, 1) % 2);
		gpa_t ring = ((gpa_t)r->queue_addr_hi << 32) | r->queue_addr_lo;
		ram_write(ring + (gpa_t)slot * sizeof(e), &e, sizeof(e));
		break;
	}
	case 4: {
		gpa_t gpa = take(in, 2);
		size_t len = (size_t)take(in, 1);
		if (len > in->left)
			len = in->left;
		ram_write(gpa, in->p, len);
		in->p += len;
		in->left -= len;
		break;
	}
	case 5: {
		uint32_t n = (uint32_t)take(in, 1);
		uint32_t head = n;
		if (n == 0xff)
			head = (uint32_t)take(in, 4);
		else if (r->queue_size != 0)
			head = (r->queue_head + n) % r->queue_size;
		reg_write(VIRTIO_REG_QUEUE_HEAD, head);
		break;
	}
	case 6: {
		uint64_t off = take(in, 2) % 0x1100;
		access(MMIO_READ, SVIRTB_MMIO_BASE + off, widths[take(in, 1) % 8], 0);
		break;
	}
	case 7:
		fake_disk_set_failing(take(in, 1) & 1);
		break;
	}
}

static bool echo_console;

/* SVIRTB_FUZZ_ECHO=1 copies the device's console lines to stderr, to follow a replayed input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	echo_console = getenv("SVIRTB_FUZZ_ECHO") != NULL;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	fake_set_abort_on_violation(true);
	fake_console_set_echo(echo_console);
	fake_guest_reset();
	fake_ram_configure(RAM_SIZE, HOLE_START, HOLE_END);
	dev = simple_virtio_new();
	CHECK(dev != NULL);
	check_invariants();
	/* Bounded work per input: at most 256 operations. */
	for (unsigned ops = 0; in.left > 0 && ops < 256; ops++) {
		run_op(&in);
		check_invariants();
	}
	simple_virtio_free(dev);
	dev = NULL;
	CHECK(fake_pages_outstanding() == 0 && fake_kmallocs_outstanding() == 0);
	return 0;
}
