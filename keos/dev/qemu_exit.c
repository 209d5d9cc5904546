/* QEMU's isa-debug-exit device (iobase 0xf4) exits with status (v << 1) | 1
 * for a 32-bit write of v. If the device is missing (plain make run without
 * it, or another emulator), the CPU halts forever instead. */
#include "keos/dev/qemu_exit.h"
#include "keos/arch/x86.h"
#include "keos/fs/storage.h"

#define DEBUG_EXIT_PORT 0xf4

void qemu_exit(enum keos_exit_code code)
{
	/* Written data must reach the disk image before the machine stops. */
	storage_shutdown();
	outl(DEBUG_EXIT_PORT, (uint32_t)code);
	for (;;) {
		cli();
		hlt();
	}
}
