/* The first C code on the bootstrap CPU: brings the machine up in dependency
 * order (console, CPU tables, memory, interrupts, scheduler, other CPUs),
 * then calls keos_main() with the boot command line. */
#include "keos/arch/cpu.h"
#include "keos/arch/guest.h"
#include "keos/arch/smp.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/boot/multiboot.h"
#include "keos/boot/boot.h"
#include "keos/dev/lapic.h"
#include "keos/dev/serial.h"
#include "keos/dev/qemu_exit.h"
#include "keos/fs/storage.h"
#include "keos/mm/mm_init.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include <string.h>

extern uint64_t kernel_pml4[];
static char cmdline[256];

const char *boot_cmdline(void)
{
	return cmdline;
}

static void mask_legacy_pic(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static void save_cmdline(const struct multiboot_info *mbi)
{
	if (!(mbi->flags & MULTIBOOT_INFO_CMDLINE) || !mbi->cmdline)
		return;
	const char *s = phys_to_virt(mbi->cmdline);
	size_t n = strnlen(s, sizeof(cmdline) - 1);
	memcpy(cmdline, s, n);
	cmdline[n] = '\0';
}

void __attribute__((noreturn)) arch_start(uint32_t magic, uint32_t mbi_pa);

void arch_start(uint32_t magic, uint32_t mbi_pa)
{
	struct cpu *bsp = &cpus[0];
	bsp->id = 0;
	cpu_init(bsp);
	serial_init();
	/* From here on nothing runs at low addresses: drop the identity map. */
	write_cr3((uint64_t)kernel_pml4);
	idt_init();
	idt_load();
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		panic("not started by a multiboot loader (eax=0x%x)", magic);
	const struct multiboot_info *mbi = phys_to_virt(mbi_pa);
	save_cmdline(mbi);
	uint64_t ram = mm_init(mbi);
	bool guest = guest_detect();
	printk("keos: %lu MiB of RAM, %zu free pages%s\n", ram >> 20, page_free_count(),
	       guest ? ", running under kev" : "");
	if (!guest) {
		mask_legacy_pic();
		lapic_init();
		bsp->apic_id = lapic_id();
		lapic_timer_calibrate();
	}
	sched_init();
	int n = guest ? guest_smp_start() : smp_start_aps();
	printk("keos: %d CPU%s running\n", n, n == 1 ? "" : "s");
	if (!guest)
		storage_init();
	keos_main(cmdline);
	qemu_exit(KEOS_EXIT_SUCCESS);
}
