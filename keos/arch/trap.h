/* Interrupts and exceptions: the IDT, the saved register frame, and the
 * table of interrupt handlers that drivers register. */
#ifndef KEOS_ARCH_TRAP_H
#define KEOS_ARCH_TRAP_H
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
#endif
