/* The MMIO printer (see mmio.h). Each register is 8 bytes wide; an access
 * may cover any aligned part of one register, so a guest can write the
 * address as one 64-bit store or as two 32-bit halves. A doorbell with a bad
 * buffer (outside guest RAM, or too long) prints one line saying why and
 * prints nothing else: the guest keeps running. */
#include "project3/mmio.h"
#include "kev/probe.h"
#include "kev/vm.h"
#include "keos/lib/printk.h"

/* Prints the buffer the registers name. The caller holds dev->lock, which
 * guards dev->buf: each device has its own, so two VMs print at once. */
static void ring(struct mmio_printer *dev, struct probe *p)
{
	char *buf = dev->buf;
	uint64_t addr = dev->regs[0], len = dev->regs[1];
	if (len > MMIO_PRINTER_MAX) {
		printk("mmio printer: length %lu is over the limit of %u bytes; nothing printed\n",
		       len, MMIO_PRINTER_MAX);
		return;
	}
	if (!probe_read(p, addr, buf, len)) {
		printk("mmio printer: buffer 0x%lx (+%lu bytes) is not guest RAM; nothing printed\n",
		       addr, len);
		return;
	}
	pio_serial_write(p->vm, buf, len);
	dev->printed += len;
}

static enum vm_error printer_handle(struct mmio_handler *h, struct probe *p,
                                    const struct mmio_info *info, uint64_t *read_value,
                                    struct vcpu_state *vcpu)
{
	(void)vcpu;
	struct mmio_printer *dev = h->priv;
	uint64_t off = info->addr - MMIO_PRINTER_BASE;
	unsigned reg = (unsigned)(off / 8), shift = (unsigned)(off % 8) * 8;
	if (off % info->size || off % 8 + info->size > 8) {
		printk("mmio printer: %u-byte access at offset 0x%lx is not within one register; ignored\n",
		       info->size, off);
		return VM_ERR_NONE;
	}
	uint64_t mask = info->size == 8 ? ~0ull : ((1ull << (info->size * 8)) - 1) << shift;
	spin_lock(&dev->lock);
	if (info->dir == MMIO_READ) {
		*read_value = (dev->regs[reg] & mask) >> shift;
	} else if (reg == 2) {
		dev->regs[2]++;
		ring(dev, p);
	} else {
		dev->regs[reg] = (dev->regs[reg] & ~mask) | ((info->value << shift) & mask);
	}
	spin_unlock(&dev->lock);
	return VM_ERR_NONE;
}

void mmio_printer_init(struct mmio_printer *dev)
{
	*dev = (struct mmio_printer){
		.handler = {
			.region = { MMIO_PRINTER_BASE, MMIO_PRINTER_BASE + MMIO_PRINTER_SIZE },
			.handle = printer_handle,
			.priv = dev,
		},
	};
	spinlock_init(&dev->lock, "mmio printer");
}
