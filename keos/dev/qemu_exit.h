/* Ending the machine with a status the host can read. */
#ifndef KEOS_DEV_QEMU_EXIT_H
#define KEOS_DEV_QEMU_EXIT_H
#include <stdint.h>

/* Exit statuses a keos run reports (the host sees (code << 1) | 1 from QEMU). */
enum keos_exit_code {
	KEOS_EXIT_SUCCESS = 0,
	KEOS_EXIT_FAILURE = 1,
	KEOS_EXIT_PANIC = 2,
};

/* Stops QEMU through the isa-debug-exit device (port 0xf4); under kev the
 * same port ends the VM. Never returns. */
void __attribute__((noreturn)) qemu_exit(enum keos_exit_code code);
#endif
