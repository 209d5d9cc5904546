/* Frame-pointer backtraces. Every kernel file is built with frame pointers,
 * so [rbp] holds the caller's rbp and [rbp+8] the return address. The walk
 * stops at a null, misaligned or non-kernel frame pointer, so a corrupted
 * stack ends the trace instead of faulting inside the panic path. */
#include "keos/lib/backtrace.h"
#include "keos/lib/format.h"
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

/* Calls visit(n, address) for rip and each caller found from rbp. */
static void walk(uint64_t rip, uint64_t rbp, void (*visit)(int n, uint64_t addr, void *ctx), void *ctx)
{
	visit(0, rip, ctx);
	for (int n = 1; n < MAX_FRAMES && plausible_frame(rbp); n++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t ret = frame[1];
		if (!ret)
			break;
		/* The call instruction precedes the return address: name its function. */
		visit(n, ret - 1, ctx);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
}

static void print_visit(int n, uint64_t addr, void *ctx)
{
	(void)ctx;
	print_frame(n, addr);
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	printk("backtrace:\n");
	walk(rip, rbp, print_visit, NULL);
}

struct line {
	char *buf;
	size_t size, len;
};

static void format_visit(int n, uint64_t addr, void *ctx)
{
	struct line *l = ctx;
	if (l->len + 1 >= l->size)
		return;
	uint64_t off;
	const char *name = ksyms_lookup(addr, &off);
	int k = name ? ksnprintf(l->buf + l->len, l->size - l->len, "%s%s+0x%lx", n ? " <- " : "", name, off)
	             : ksnprintf(l->buf + l->len, l->size - l->len, "%s0x%lx", n ? " <- " : "", addr);
	if (k > 0)
		l->len += (size_t)k < l->size - l->len ? (size_t)k : l->size - l->len - 1;
}

int backtrace_format(uint64_t rip, uint64_t rbp, char *buf, size_t size)
{
	struct line l = { buf, size, 0 };
	if (size)
		buf[0] = '\0';
	walk(rip, rbp, format_visit, &l);
	return (int)l.len;
}
