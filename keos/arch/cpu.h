/* Per-CPU data. Each CPU's GS base points at its struct cpu, so
 * cpu_current() is one load and needs no lock. */
#ifndef KEOS_ARCH_CPU_H
#define KEOS_ARCH_CPU_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_CPUS 8

struct thread;

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu {
	struct cpu *self;          /* at offset 0: %gs:0 */
	int id;                    /* 0 .. ncpus-1; 0 is the bootstrap CPU */
	uint32_t apic_id;
	struct thread *current;
	struct thread *idle;
	struct thread *prev_thread;    /* the thread switched away from, for finish_switch */
	int intr_depth;            /* nesting of intr_push() */
	bool intr_were_on;         /* interrupt flag before the outermost intr_push() */
	bool started;
	uint64_t ticks;            /* timer interrupts taken on this CPU */
	uint64_t kicks;            /* VECTOR_KICK interrupts taken on this CPU */
	void *arch_priv;           /* kev's per-CPU SVM state */
	uint64_t gdt[7];           /* null, kcode, kdata, 32-bit code, tss (2 slots), spare */
	struct tss tss;
	uint8_t df_stack[4096] __attribute__((aligned(16)));   /* IST1: double faults */
};

extern struct cpu cpus[MAX_CPUS];
extern int ncpus;

/* This CPU's struct cpu (valid from the first line of arch_start on). */
static inline struct cpu *cpu_current(void)
{
	struct cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* Reads one field of this CPU's struct cpu with a single %gs-relative load:
 * a thread that may be preempted and moved to another CPU between
 * cpu_current() and a field's load would read the other CPU's field. */
#define THIS_CPU_READ(field) ({                                                  \
	__typeof__(((struct cpu *)0)->field) v_;                                 \
	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(v_) : "i"(offsetof(struct cpu, field))); \
	v_;                                                                      \
})

/* How many intr_push() this CPU is inside (spinlocks held, roughly): 0 means the caller may block. */
static inline int cpu_intr_depth(void)
{
	return THIS_CPU_READ(intr_depth);
}

/* Loads this CPU's GDT, TSS and GS base; c->id and c->apic_id must be set. */
void cpu_init(struct cpu *c);
/* Disables interrupts, counting nesting (xv6's pushcli). */
void intr_push(void);
/* Undoes one intr_push(); re-enables interrupts after the outermost one if they were on. */
void intr_pop(void);
#endif
