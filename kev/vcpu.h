/* Virtual CPUs.
 *
 * A vCPU is a VMCB page, the guest's registers (struct vcpu_state) and a keos
 * thread pinned to one host CPU that runs the loop
 *
 *     copy state into the VMCB -> VMRUN -> copy the VMCB into state
 *     -> host interrupt? (INTR exit: already taken after STGI) run again
 *     -> otherwise the exit-controller chain (kev/vmexit.h)
 *
 * until the VM stops. Host interrupts stay live while the guest runs (INTR
 * intercept with V_INTR_MASKING), so the host's timer keeps preempting, and
 * several vCPUs of one VM run on different CPUs at once. */
#ifndef KEV_VCPU_H
#define KEV_VCPU_H
#include "kev/types.h"
#include "kev/guest_walk.h"
#include "kev/vmexit.h"
#include "kev/console_limit.h"

struct vm;
struct vmcb;
struct thread;

/* The debug registers as the guest sees them (kev/vmexit/dr.c). DR6 is the
 * VMCB's (the CPU itself sets its status bits in the guest); the DR7 here
 * is never loaded into the hardware. */
struct vcpu_dr {
	uint64_t db[4];            /* DR0-DR3 */
	uint64_t dr7;              /* the bits the guest wrote (read back with the fixed ones) */
};

struct vcpu_stats {
	uint64_t exits;            /* every #VMEXIT */
	uint64_t intr_exits;       /* host interrupts (INTR, NMI, SMI) */
	uint64_t hypercalls;       /* VMMCALL */
	uint64_t runs_by_cpu_mask; /* bit n: this vCPU ran on host CPU n */
};

struct vcpu {
	struct vm *vm;
	unsigned id;               /* 0 is the bootstrap vCPU */
	int cpu;                   /* host CPU the thread is pinned to */
	struct vmcb *vmcb;         /* one page */
	hpa_t vmcb_pa;
	struct vcpu_state state;   /* what handlers read and change */
	struct thread *thread;     /* NULL until started */
	bool flush_tlb;            /* TLB_CONTROL=1 on the next VMRUN (set for the first) */
	uint64_t msr_store[MSR_SLOT_COUNT];
	struct vcpu_stats stats;
	/* hardening (kev/vmexit/dr.c, kev/console_limit.c) */
	struct vcpu_dr dr;
	struct kev_console_hook console_hook;  /* on the vCPU thread: bounds host lines */
};

/* A vCPU of vm with all intercepts set, nested paging on vm's table, and the
 * power-on register state (call vcpu_set_long_mode() or set state yourself).
 * NULL when out of memory. */
struct vcpu *vcpu_create(struct vm *vm, unsigned id);
/* Frees a vCPU whose thread is not running. */
void vcpu_destroy(struct vcpu *v);
/* 64-bit long mode, paging with the tables at cr3, flat segments from the
 * GDT at gdt_gpa (null, code 0x08, data 0x10), interrupts off, at rip/rsp. */
void vcpu_set_long_mode(struct vcpu *v, gpa_t cr3, gpa_t gdt_gpa, uint16_t gdt_limit,
                        uint64_t rip, uint64_t rsp);
/* The state a multiboot loader hands over: 32-bit protected mode, paging off,
 * flat 4 GiB segments (CS 0x08, data 0x10), interrupts off, at eip with EAX
 * and EBX set (the multiboot magic and information address). */
void vcpu_set_protected_mode(struct vcpu *v, uint32_t eip, uint32_t eax, uint32_t ebx);
/* Starts the vCPU's thread on v->cpu; false when out of memory. */
bool vcpu_start(struct vcpu *v);

/* Moves RIP past an instruction of len bytes (and drops the interrupt shadow). */
void vcpu_skip(struct vcpu *v, unsigned len);
/* Stops the VM with err; the formatted reason, prefixed with the VM and vCPU,
 * becomes the VM's report (the first one wins) and is printed. */
void vcpu_fail(struct vcpu *v, enum vm_error err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Makes the guest take exception vector (with error code err if has_err) at
 * the next VMRUN, as the CPU raises it at the current RIP: a handler that
 * injects does not advance RIP. It replaces the redelivery of an event the
 * exit interrupted: an interrupted exception or software interrupt comes
 * again when the instruction re-runs; an interrupted external interrupt must
 * be kept pending by the loop, never lost. */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_err, uint32_t err);

/* --- guest memory through the guest's page tables (kev/vcpu_mem.c) --- */

/* Guest-virtual to guest-physical through the guest's page tables (its
 * current CR0/CR3/CR4/EFER); *werr (if not NULL) says why on failure. */
bool vcpu_gva_to_gpa(struct vcpu *v, gva_t gva, gpa_t *gpa, enum guest_walk_error *werr);
/* Copies len bytes at guest-virtual gva, page by page; false if any byte is unmapped. */
bool vcpu_read_gva(struct vcpu *v, gva_t gva, void *buf, size_t len);
/* Copies up to max bytes of the instruction stream at the guest's RIP (CS base
 * added outside long mode); returns how many bytes could be read (stops at
 * the first page that is not mapped). */
size_t vcpu_fetch_insn(struct vcpu *v, uint8_t *buf, size_t max);
#endif
