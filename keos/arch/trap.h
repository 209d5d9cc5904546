/* Interrupts and exceptions: the IDT, the saved register frame, and the
 * table of interrupt handlers that drivers register. */
#ifndef KEOS_ARCH_TRAP_H
#define KEOS_ARCH_TRAP_H
#include <stdbool.h>
#include <stdint.h>

/* Registers saved by keos/arch/vectors.S, in push order reversed. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;   /* pushed by the CPU */
};

#define VECTOR_TIMER    0x40
#define VECTOR_IPI_HALT 0x41
#define VECTOR_KICK     0x42   /* only interrupts: makes a CPU leave a guest (kev) */
#define VECTOR_SPURIOUS 0xff

typedef void (*irq_handler_fn)(struct trapframe *tf);

/* Builds the IDT (once, on the bootstrap CPU). */
void idt_init(void);
/* Loads the IDT on this CPU. */
void idt_load(void);
/* Routes interrupt vector (32..255) to handler. */
void irq_register(int vector, irq_handler_fn handler);
/* Prints vector, error code, registers and a backtrace of a trap frame. */
void trapframe_dump(const struct trapframe *tf);

/* What another CPU was running when cpu_backtrace() interrupted it. */
struct cpu_snapshot {
	char thread[32];           /* the name of the thread it ran */
	bool interrupts_on;        /* its interrupt flag at that moment */
	uint64_t rip;
	char backtrace[480];       /* "fn+0x1c <- caller+0x30 <- ..." */
};
/* Interrupts CPU cpu with an NMI (it arrives even with interrupts off) and
 * fills *out with the frame it interrupted; false if cpu is the caller's or
 * did not answer within timeout_us. */
bool cpu_backtrace(int cpu, struct cpu_snapshot *out, uint64_t timeout_us);
#endif
