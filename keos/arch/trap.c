/* Exception and interrupt dispatch.
 *
 * Exceptions (vectors 0-31) are bugs in kernel code: the frame and a
 * backtrace are printed, then the current test fails (keos/test) or the
 * machine stops with a panic status. Vectors 32-255 are device interrupts,
 * routed through irq_handlers and acknowledged at the local APIC.
 *
 * An NMI is an exception too, except when cpu_backtrace() asked for it: the
 * requester marks this CPU's slot REQUESTED and sends the NMI; the handler
 * claims the slot (REQUESTED -> CAPTURING), writes what it interrupted, and
 * marks it DONE; the requester copies it out and frees the slot. A
 * requester that gives up takes the slot back only if the handler has not
 * claimed it, so a late NMI never writes into a slot being reused. */
#include "keos/arch/trap.h"
#include "keos/arch/cpu.h"
#include "keos/arch/gdt.h"
#include "keos/arch/x86.h"
#include "keos/arch/guest.h"
#include "keos/dev/lapic.h"
#include "keos/dev/x2apic_timer.h"
#include "keos/dev/qemu_exit.h"
#include "keos/lib/backtrace.h"
#include "keos/lib/ksyms.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/vm.h"
#include "keos/thread/thread.h"

struct idt_entry {
	uint16_t offset_lo, selector;
	uint8_t ist, type;
	uint16_t offset_mid;
	uint32_t offset_hi, reserved;
} __attribute__((packed));

enum { SNAP_IDLE, SNAP_REQUESTED, SNAP_CAPTURING, SNAP_DONE };

struct snapshot_slot {
	int state;
	struct cpu_snapshot snap;
};

static struct snapshot_slot snapshots[MAX_CPUS];
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

/* The kick's only job is the interrupt itself (trap_dispatch acknowledges
 * it); it is counted for tests. */
static void kick_interrupt(struct trapframe *tf)
{
	(void)tf;
	cpu_current()->kicks++;
}

void idt_init(void)
{
	irq_handlers[VECTOR_KICK] = kick_interrupt;
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
	char msg[160], where[64] = "";
	uint64_t off;
	const char *fn = ksyms_lookup(tf->rip, &off);
	if (fn)
		ksnprintf(where, sizeof(where), " (%s+0x%lx)", fn, off);
	if (tf->vector == 14)
		ksnprintf(msg, sizeof(msg), "exception 14 (page fault) at rip 0x%lx%s, address 0x%lx",
		          tf->rip, where, read_cr2());
	else
		ksnprintf(msg, sizeof(msg), "exception %lu (%s) at rip 0x%lx%s", tf->vector,
		          exception_names[tf->vector], tf->rip, where);
	/* Fails the running test, if any, from its own thread; never returns then. */
	thread_fail_current("trap", (int)tf->vector, msg);
	qemu_exit(KEOS_EXIT_PANIC);
}

/* A leaf function may have no frame of its own (gcc leaves it out when it
 * calls nothing), and a frame-pointer walk from inside it skips its caller.
 * The caller is certain when the word on top of the interrupted stack is a
 * return address right after a direct call to the function holding rip:
 * that return address, or 0. */
static uint64_t leaf_caller(const struct trapframe *tf)
{
	uint64_t fn_off, ret_off;
	if (!ksyms_lookup(tf->rip, &fn_off) || tf->rsp < PHYS_MAP_BASE || (tf->rsp & 7))
		return 0;
	uint64_t ret = *(const uint64_t *)tf->rsp;
	if (ret < KERNBASE + 5 || !ksyms_lookup(ret, &ret_off))
		return 0;
	const uint8_t *call = (const uint8_t *)(ret - 5);
	int32_t rel;
	__builtin_memcpy(&rel, call + 1, sizeof(rel));
	return call[0] == 0xe8 && ret + (uint64_t)(int64_t)rel == tf->rip - fn_off ? ret : 0;
}

/* An NMI asked for by cpu_backtrace(); false if nobody asked. */
static bool snapshot_nmi(struct trapframe *tf)
{
	struct cpu *c = cpu_current();
	struct snapshot_slot *slot = &snapshots[c->id];
	int want = SNAP_REQUESTED;
	if (!__atomic_compare_exchange_n(&slot->state, &want, SNAP_CAPTURING, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	struct cpu_snapshot *s = &slot->snap;
	ksnprintf(s->thread, sizeof(s->thread), "%s", c->current ? c->current->name : "?");
	s->interrupts_on = tf->rflags & RFLAGS_IF;
	s->rip = tf->rip;
	uint64_t caller = leaf_caller(tf);
	if (caller) {
		uint64_t off;
		const char *fn = ksyms_lookup(tf->rip, &off);
		int n = ksnprintf(s->backtrace, sizeof(s->backtrace), "%s+0x%lx <- ", fn, off);
		backtrace_format(caller - 1, tf->rbp, s->backtrace + n, sizeof(s->backtrace) - n);
	} else {
		backtrace_format(tf->rip, tf->rbp, s->backtrace, sizeof(s->backtrace));
	}
	__atomic_store_n(&slot->state, SNAP_DONE, __ATOMIC_RELEASE);
	return true;
}

bool cpu_backtrace(int cpu, struct cpu_snapshot *out, uint64_t timeout_us)
{
	if (cpu < 0 || cpu >= ncpus || cpu == cpu_current()->id)
		return false;
	struct snapshot_slot *slot = &snapshots[cpu];
	int idle = SNAP_IDLE;
	if (!__atomic_compare_exchange_n(&slot->state, &idle, SNAP_REQUESTED, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;     /* another requester is using it */
	lapic_send_nmi(cpus[cpu].apic_id);
	uint64_t deadline = rdtsc() + timeout_us * tsc_khz() / 1000;
	for (;;) {
		int st = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
		if (st == SNAP_DONE) {
			*out = slot->snap;
			__atomic_store_n(&slot->state, SNAP_IDLE, __ATOMIC_RELEASE);
			return true;
		}
		if (st == SNAP_REQUESTED && rdtsc() > deadline) {
			int req = SNAP_REQUESTED;
			if (__atomic_compare_exchange_n(&slot->state, &req, SNAP_IDLE, false,
			                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return false;
		}
		pause();
	}
}

void trap_dispatch(struct trapframe *tf)
{
	if (tf->vector == 2 && snapshot_nmi(tf))
		return;
	if (tf->vector < 32) {
		exception(tf);
		return;
	}
	if (tf->vector == VECTOR_SPURIOUS)
		return;
	irq_handler_fn h = irq_handlers[tf->vector];
	if (keos_is_guest())
		x2apic_timer_eoi();     /* under kev the only interrupt source is the x2APIC */
	else
		lapic_eoi();
	if (h)
		h(tf);
	else
		printk("unexpected interrupt %lu on cpu %d\n", tf->vector, cpu_current()->id);
}
