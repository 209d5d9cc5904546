/* PCI configuration space through the legacy ports 0xCF8/0xCFC, and a scan
 * of bus 0.. for devices. */
#ifndef KEOS_DEV_PCI_H
#define KEOS_DEV_PCI_H
#include <stdint.h>
#include <stdbool.h>

struct pci_device {
	uint8_t bus, slot, func;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if;
	uint8_t irq_line;
};

/* Reads the 32-bit configuration register at offset (4-byte aligned). */
uint32_t pci_config_read32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t offset);
/* Writes the 32-bit configuration register at offset. */
void pci_config_write32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t offset, uint32_t v);
/* Scans every bus/slot/function; fills out (up to max) and returns how many devices exist. */
int pci_enumerate(struct pci_device *out, int max);
/* Finds the first device with vendor:device; false if none. */
bool pci_find(uint16_t vendor, uint16_t device, struct pci_device *out);
/* Reads BAR n (0-5) as an address; for an I/O BAR sets *is_io. 64-bit memory BARs are combined. */
uint64_t pci_bar(const struct pci_device *d, int n, bool *is_io);
/* Enables bus mastering and memory/I/O decoding for d. */
void pci_enable(const struct pci_device *d);
#endif
