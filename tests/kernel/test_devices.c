/* Kernel tests of the platform devices keos finds at boot. */
#include "keos/test/ktest.h"
#include "keos/dev/pci.h"
#include "keos/lib/format.h"
#include <string.h>

KTEST(pci_enumerates_the_host_bridge)
{
	struct pci_device d[32];
	int n = pci_enumerate(d, 32);
	KASSERT(n >= 2);
	struct pci_device bridge;
	/* QEMU's i440FX host bridge sits at 00:00.0. */
	KASSERT(pci_find(0x8086, 0x1237, &bridge));
	KASSERT_EQ(bridge.bus, 0);
	KASSERT_EQ(bridge.slot, 0);
	KASSERT_EQ(bridge.class_code, 0x06);
	KASSERT(!pci_find(0xdead, 0xbeef, &bridge));
}

KTEST(format_matches_printf)
{
	char buf[64];
	ksnprintf(buf, sizeof(buf), "%d|%5s|%-3x|%08lx|%p", -42, "ab", 0xf, 0xabcdeful, (void *)0x10);
	KASSERT(!strcmp(buf, "-42|   ab|f  |00abcdef|0x10"));
}
