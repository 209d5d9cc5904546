/* Exception and interrupt dispatch.
 *
 * Exceptions (vectors 0-31) are bugs in kernel code: the frame and a
 * backtrace are printed, then the current test fails (keos/test) or the
 * machine stops with a panic status. Vectors 32-255 are device interrupts,
 * routed through irq_handlers and acknowledged at the local APIC. */
#include "keos/arch/trap.h"
#include "keos/arch/cpu.h"
#include "keos/arch/gdt.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "keos/dev/qemu_exit.h"
#include "keos/lib/backtrace.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"

struct idt_entry {
	uint16_t offset_lo, selector;
	uint8_t ist, type;
	uint16_t offset_mid;
	uint32_t offset_hi, reserved;
} __attribute__((packed));

static struct idt_entry idt[256];
static irq_handler_fn irq_handlers[256];
extern const uint64_t trap_vector_table[256];

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check", "machine check",
	"SIMD error", "virtualization", "control protection", "reserved", "reserved",
	"reserved", "reserved", "reserved", "reserved", "hypervisor injection",
	"VMM communication", "security", "reserved",
};

void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = trap_vector_table[v];
		idt[v] = (struct idt_entry){
			.offset_lo = a & 0xffff, .selector = GDT_KCODE,
			.ist = v == 8 ? 1 : 0, .type = 0x8e,   /* present interrupt gate */
			.offset_mid = (a >> 16) & 0xffff, .offset_hi = a >> 32,
		};
	}
}

void idt_load(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) desc = {
		sizeof(idt) - 1, (uint64_t)idt,
	};
	__asm__ volatile("lidt %0" :: "m"(desc));
}

void irq_register(int vector, irq_handler_fn handler)
{
	if (vector < 32 || vector > 255)
		panic("irq_register: vector %d is not an interrupt vector", vector);
	irq_handlers[vector] = handler;
}

void trapframe_dump(const struct trapframe *tf)
{
	const char *name = tf->vector < 32 ? exception_names[tf->vector] : "interrupt";
	printk("trap %lu (%s), error code 0x%lx, cpu %d\n", tf->vector, name,
	       tf->error_code, cpu_current()->id);
	if (tf->vector == 14)
		printk("  page fault address (cr2) 0x%016lx: %s, %s, %s\n", read_cr2(),
		       tf->error_code & 1 ? "protection" : "not present",
		       tf->error_code & 2 ? "write" : "read",
		       tf->error_code & 16 ? "instruction fetch" : "data");
	printk("  rip 0x%016lx  rsp 0x%016lx  rflags 0x%lx  cs 0x%lx ss 0x%lx\n",
	       tf->rip, tf->rsp, tf->rflags, tf->cs, tf->ss);
	printk("  rax 0x%016lx  rbx 0x%016lx  rcx 0x%016lx  rdx 0x%016lx\n",
	       tf->rax, tf->rbx, tf->rcx, tf->rdx);
	printk("  rsi 0x%016lx  rdi 0x%016lx  rbp 0x%016lx  r8  0x%016lx\n",
	       tf->rsi, tf->rdi, tf->rbp, tf->r8);
	printk("  r9  0x%016lx  r10 0x%016lx  r11 0x%016lx  r12 0x%016lx\n",
	       tf->r9, tf->r10, tf->r11, tf->r12);
	printk("  r13 0x%016lx  r14 0x%016lx  r15 0x%016lx\n", tf->r13, tf->r14, tf->r15);
	backtrace_print(tf->rip, tf->rbp);
}

static void exception(struct trapframe *tf)
{
	console_hook_drop_current();   /* a crash report is never rate-limited */
	printk("EXCEPTION ");
	trapframe_dump(tf);
	char msg[96];
	ksnprintf(msg, sizeof(msg), "exception %lu (%s) at rip 0x%lx", tf->vector,
	          exception_names[tf->vector], tf->rip);
	/* Fails the running test, if any, from its own thread; never returns then. */
	thread_fail_current("trap", (int)tf->vector, msg);
	qemu_exit(KEOS_EXIT_PANIC);
}

void trap_dispatch(struct trapframe *tf)
{
	if (tf->vector < 32) {
		exception(tf);
		return;
	}
	if (tf->vector == VECTOR_SPURIOUS)
		return;
	irq_handler_fn h = irq_handlers[tf->vector];
	lapic_eoi();
	if (h)
		h(tf);
	else
		printk("unexpected interrupt %lu on cpu %d\n", tf->vector, cpu_current()->id);
}
