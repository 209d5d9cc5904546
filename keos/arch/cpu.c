/* Per-CPU setup: the GDT with this CPU's TSS, GS base, and the nesting
 * counter that spinlocks use to keep interrupts off while any lock is held. */
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/arch/gdt.h"
#include "keos/lib/printk.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

struct cpu cpus[MAX_CPUS];
int ncpus = 1;

static void load_gdt(struct cpu *c)
{
	c->gdt[0] = 0;
	c->gdt[GDT_KCODE / 8] = 0x00af9a000000ffffull;
	c->gdt[GDT_KDATA / 8] = 0x00cf92000000ffffull;
	c->gdt[GDT_KCODE32 / 8] = 0x00cf9a000000ffffull;
	uint64_t base = (uint64_t)&c->tss, limit = sizeof(c->tss) - 1;
	c->gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
	                      (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
	                      (((base >> 24) & 0xff) << 56);
	c->gdt[GDT_TSS / 8 + 1] = base >> 32;
	c->tss.ist[0] = (uint64_t)(c->df_stack + sizeof(c->df_stack));
	c->tss.iomap_base = sizeof(c->tss);
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) desc = {
		sizeof(c->gdt) - 1, (uint64_t)c->gdt,
	};
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"mov %2, %%ds\n\t"
		"mov %2, %%es\n\t"
		"mov %2, %%ss\n\t"
		:: "m"(desc), "i"((uint64_t)GDT_KCODE), "r"((uint16_t)GDT_KDATA) : "rax", "memory");
	__asm__ volatile("ltr %0" :: "r"((uint16_t)GDT_TSS));
}

/* FXSAVE/FXRSTOR (kev switches guests' x87/SSE state with them) must work
 * and include the XMM registers: CR0.EM and TS clear, CR0.MP and CR4.OSFXSR
 * set. keos itself is built without SSE and never touches those registers. */
static void enable_fxsave(void)
{
	uint64_t cr0 = read_cr0();
	cr0 = (cr0 | CR0_MP) & ~(CR0_EM | CR0_TS);
	__asm__ volatile("mov %0, %%cr0" :: "r"(cr0));
	__asm__ volatile("mov %0, %%cr4" :: "r"(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT));
}

void cpu_init(struct cpu *c)
{
	c->self = c;
	load_gdt(c);
	enable_fxsave();
	__asm__ volatile("mov %0, %%fs; mov %0, %%gs" :: "r"((uint16_t)0));
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS, (uint64_t)c);
}

void intr_push(void)
{
	bool on = interrupts_enabled();
	cli();
	struct cpu *c = cpu_current();
	if (c->intr_depth++ == 0)
		c->intr_were_on = on;
}

void intr_pop(void)
{
	struct cpu *c = cpu_current();
	if (interrupts_enabled())
		panic("intr_pop with interrupts enabled");
	if (c->intr_depth <= 0)
		panic("intr_pop without intr_push");
	if (--c->intr_depth == 0 && c->intr_were_on)
		sti();
}
