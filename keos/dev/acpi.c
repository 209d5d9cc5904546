/* Finds the MADT (signature "APIC") through the RSDP in the BIOS area
 * (0xE0000-0xFFFFF, 16-byte aligned) and the RSDT, and lists its enabled
 * processor-local-APIC entries (type 0). Checksums are verified; a table
 * that fails one is skipped rather than trusted. */
#include "keos/dev/acpi.h"
#include "keos/mm/vm.h"
#include <string.h>
#include <stdbool.h>

struct rsdp {
	char signature[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
} __attribute__((packed));

struct sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static bool checksum_ok(const void *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return sum == 0;
}

static const struct rsdp *find_rsdp(void)
{
	for (uint64_t pa = 0xe0000; pa < 0x100000; pa += 16) {
		const struct rsdp *r = phys_to_virt(pa);
		if (!memcmp(r->signature, "RSD PTR ", 8) && checksum_ok(r, sizeof(*r)))
			return r;
	}
	return NULL;
}

static const struct sdt_header *find_table(const char *sig)
{
	const struct rsdp *r = find_rsdp();
	if (!r)
		return NULL;
	const struct sdt_header *rsdt = phys_to_virt(r->rsdt);
	if (memcmp(rsdt->signature, "RSDT", 4) || !checksum_ok(rsdt, rsdt->length))
		return NULL;
	const uint32_t *entries = (const uint32_t *)(rsdt + 1);
	int n = (rsdt->length - sizeof(*rsdt)) / 4;
	for (int i = 0; i < n; i++) {
		const struct sdt_header *t = phys_to_virt(entries[i]);
		if (!memcmp(t->signature, sig, 4) && checksum_ok(t, t->length))
			return t;
	}
	return NULL;
}

int acpi_cpu_apic_ids(uint32_t *apic_ids, int max)
{
	const struct sdt_header *madt = find_table("APIC");
	if (!madt)
		return 0;
	const uint8_t *p = (const uint8_t *)madt + sizeof(*madt) + 8;   /* skip lapic addr, flags */
	const uint8_t *end = (const uint8_t *)madt + madt->length;
	int n = 0;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		/* type 0: processor local APIC {uid, apic id, flags(4)}; bit 0 enabled */
		if (p[0] == 0 && p[1] >= 8 && (p[4] & 1) && n < max)
			apic_ids[n++] = p[3];
		p += p[1];
	}
	return n;
}
