/* PCI configuration mechanism #1. A function exists when its vendor id is
 * not 0xffff; function 0's header type bit 7 says whether functions 1-7 do. */
#include "keos/dev/pci.h"
#include "keos/arch/x86.h"

static uint32_t config_address(uint8_t bus, uint8_t slot, uint8_t func, uint8_t offset)
{
	return (1u << 31) | ((uint32_t)bus << 16) | ((uint32_t)(slot & 31) << 11) |
	       ((uint32_t)(func & 7) << 8) | (offset & 0xfc);
}

uint32_t pci_config_read32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t offset)
{
	bool on = intr_save();
	outl(0xcf8, config_address(bus, slot, func, offset));
	uint32_t v = inl(0xcfc);
	intr_restore(on);
	return v;
}

void pci_config_write32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t offset, uint32_t v)
{
	bool on = intr_save();
	outl(0xcf8, config_address(bus, slot, func, offset));
	outl(0xcfc, v);
	intr_restore(on);
}

static void read_device(uint8_t bus, uint8_t slot, uint8_t func, struct pci_device *d)
{
	uint32_t id = pci_config_read32(bus, slot, func, 0);
	uint32_t cls = pci_config_read32(bus, slot, func, 8);
	uint32_t irq = pci_config_read32(bus, slot, func, 0x3c);
	*d = (struct pci_device){
		.bus = bus, .slot = slot, .func = func,
		.vendor = id & 0xffff, .device = id >> 16,
		.class_code = cls >> 24, .subclass = (cls >> 16) & 0xff, .prog_if = (cls >> 8) & 0xff,
		.irq_line = irq & 0xff,
	};
}

int pci_enumerate(struct pci_device *out, int max)
{
	int n = 0;
	for (int bus = 0; bus < 256; bus++) {
		for (int slot = 0; slot < 32; slot++) {
			uint32_t id0 = pci_config_read32(bus, slot, 0, 0);
			if ((id0 & 0xffff) == 0xffff)
				continue;
			bool multi = (pci_config_read32(bus, slot, 0, 0xc) >> 16) & 0x80;
			for (int func = 0; func < (multi ? 8 : 1); func++) {
				if ((pci_config_read32(bus, slot, func, 0) & 0xffff) == 0xffff)
					continue;
				if (n < max)
					read_device(bus, slot, func, &out[n]);
				n++;
			}
		}
	}
	return n;
}

bool pci_find(uint16_t vendor, uint16_t device, struct pci_device *out)
{
	struct pci_device all[64];
	int n = pci_enumerate(all, 64);
	for (int i = 0; i < n && i < 64; i++) {
		if (all[i].vendor == vendor && all[i].device == device) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

uint64_t pci_bar(const struct pci_device *d, int n, bool *is_io)
{
	uint32_t lo = pci_config_read32(d->bus, d->slot, d->func, 0x10 + 4 * n);
	*is_io = lo & 1;
	if (*is_io)
		return lo & ~3u;
	uint64_t addr = lo & ~0xfu;
	if (((lo >> 1) & 3) == 2 && n < 5)
		addr |= (uint64_t)pci_config_read32(d->bus, d->slot, d->func, 0x14 + 4 * n) << 32;
	return addr;
}

void pci_enable(const struct pci_device *d)
{
	uint32_t cmd = pci_config_read32(d->bus, d->slot, d->func, 4);
	pci_config_write32(d->bus, d->slot, d->func, 4, cmd | 0x7);
}
