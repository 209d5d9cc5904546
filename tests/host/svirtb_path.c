/* The svirtb device as the host tests drive it (see svirtb_path.h). */
#include "tests/host/svirtb_path.h"
#include <check.h>
#include <string.h>

struct simple_virtio_dev *dev;
struct kernel_vm_pager pager;
struct mmio_ctl ctl;
static struct vcpu_state vcpu;

void svirtb_setup(void)
{
	fake_guest_reset();
	fake_pager_init(&pager);
	mmio_ctl_init(&ctl);
	memset(&vcpu, 0, sizeof(vcpu));
	dev = simple_virtio_new();
	ck_assert_ptr_nonnull(dev);
	ck_assert_int_eq(simple_virtio_attach(dev, &pager, &ctl), SIMPLE_VIRTIO_OK);
}

void svirtb_teardown(void)
{
	static const uint8_t zero[SVIRTB_MMIO_PAGE_SIZE];
	const size_t regs = sizeof(struct virtio_mmio_header);
	ck_assert_msg(fake_violations() == 0, "fake violation: %s", fake_last_violation());
	ck_assert_msg(memcmp((uint8_t *)dev->regs + regs, zero, SVIRTB_MMIO_PAGE_SIZE - regs) == 0,
	              "the register page changed past the registers");
	simple_virtio_free(dev);
	ck_assert_int_eq(fake_pages_outstanding(), 0);
	ck_assert_int_eq(fake_kmallocs_outstanding(), 0);
}

enum vm_error svirtb_access(enum mmio_direction dir, gpa_t addr, uint8_t size, uint64_t value,
                            uint64_t *read_value)
{
	struct mmio_info info = { .dir = dir, .size = size, .addr = addr, .value = value };
	struct mmio_handler *h = mmio_ctl_lookup(&ctl, addr);
	/* Outside the region no exit would reach the device; call it anyway to
	 * check it defends itself. */
	if (h == NULL)
		h = &dev->handler;
	return h->handle(h, fake_probe(), &info, read_value, &vcpu);
}

void wr_sized(gpa_t addr, uint8_t size, uint64_t value)
{
	ck_assert_int_eq(svirtb_access(MMIO_WRITE, addr, size, value, NULL), VM_ERR_NONE);
	ck_assert_msg(!mutex_holding(&dev->lock), "handle returned holding the lock");
}

void wr(uint32_t off, uint32_t value)
{
	wr_sized(SVIRTB_MMIO_BASE + off, 4, value);
}

uint32_t rd(uint32_t off)
{
	uint32_t v;
	memcpy(&v, (const uint8_t *)dev->regs + off, sizeof(v));
	return v;
}

void expect_regs(uint32_t status, uint32_t size, uint32_t hi, uint32_t lo, uint32_t head, uint32_t tail)
{
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), status);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_SIZE), size);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_ADDR_HI), hi);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_ADDR_LO), lo);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_HEAD), head);
	ck_assert_uint_eq(rd(VIRTIO_REG_QUEUE_TAIL), tail);
}

uint32_t try_init(gpa_t ring, uint32_t size)
{
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_MAGIC);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_REG_QUEUE_SIZE, size);
	wr(VIRTIO_REG_QUEUE_ADDR_HI, (uint32_t)(ring >> 32));
	wr(VIRTIO_REG_QUEUE_ADDR_LO, (uint32_t)ring);
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_READY);
	return rd(VIRTIO_REG_STATUS);
}

void init(gpa_t ring, uint32_t size)
{
	ck_assert_uint_eq(try_init(ring, size), VIRTIO_STATUS_READY);
	expect_regs(VIRTIO_STATUS_READY, size, (uint32_t)(ring >> 32), (uint32_t)ring, 0, 0);
}

void put_entry(gpa_t ring, uint32_t i, uint64_t addr, uint64_t size, uint64_t sector, uint32_t cmd)
{
	struct virt_queue_entry e = { .addr = addr, .size = size, .sector = sector, .cmd = cmd };
	memcpy(fake_ram_ptr(ring + (uint64_t)i * sizeof(e)), &e, sizeof(e));
}

void fill(gpa_t gpa, uint64_t len, uint8_t seed)
{
	uint8_t *p = fake_ram_ptr(gpa);
	for (uint64_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

const char *expect_reset(void)
{
	static char line[512];
	ck_assert_uint_eq(rd(VIRTIO_REG_STATUS), VIRTIO_STATUS_RESET);
	ck_assert_msg(fake_console_lines() == 1, "a guest error must print one line, not %u: \"%s\"",
	              fake_console_lines(), fake_console());
	strncpy(line, fake_console(), sizeof(line) - 1);
	fake_console_clear();
	wr(VIRTIO_REG_STATUS, VIRTIO_STATUS_RESET);
	expect_regs(VIRTIO_STATUS_MAGIC, 0, 0, 0, 0, 0);
	init(RING, 8);
	ck_assert_uint_eq(fake_console_lines(), 0);
	return line;
}
