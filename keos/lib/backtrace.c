/* Frame-pointer backtraces. Every kernel file is built with frame pointers,
 * so [rbp] holds the caller's rbp and [rbp+8] the return address. The walk
 * stops at a null, misaligned or non-kernel frame pointer, so a corrupted
 * stack ends the trace instead of faulting inside the panic path. */
#include "keos/lib/backtrace.h"
#include "keos/lib/ksyms.h"
#include "keos/lib/printk.h"
#include "keos/mm/vm.h"

#define MAX_FRAMES 32

static void print_frame(int n, uint64_t addr)
{
	uint64_t off;
	const char *name = ksyms_lookup(addr, &off);
	if (name)
		printk("  #%d 0x%016lx %s+0x%lx\n", n, addr, name, off);
	else
		printk("  #%d 0x%016lx ?\n", n, addr);
}

static int plausible_frame(uint64_t rbp)
{
	return rbp >= PHYS_MAP_BASE && (rbp & 7) == 0 && rbp < 0xfffffffffffff000ull;
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	printk("backtrace:\n");
	print_frame(0, rip);
	for (int n = 1; n < MAX_FRAMES && plausible_frame(rbp); n++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t ret = frame[1];
		if (!ret)
			break;
		/* The call instruction precedes the return address: name its function. */
		print_frame(n, ret - 1);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
}
