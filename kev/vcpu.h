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

struct vm;
struct vmcb;
struct thread;

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

/* The guest's current privilege level, 0..3 (from the VMCB). */
unsigned vcpu_cpl(const struct vcpu *v);
/* Translates gva as the guest's MMU would for an access of that kind at the
 * current CPL (U/S, W with CR0.WP, NX, SMEP, SMAP); GWALK_OK and *gpa, or why not. */
enum guest_walk_error vcpu_translate(struct vcpu *v, gva_t gva, enum guest_access access,
                                     gpa_t *gpa);
/* vcpu_translate() for a read; *werr (if not NULL) says why on failure. */
bool vcpu_gva_to_gpa(struct vcpu *v, gva_t gva, gpa_t *gpa, enum guest_walk_error *werr);
/* Copies len bytes at guest-virtual gva, page by page; false if any byte is
 * unmapped or not readable at the current CPL. */
bool vcpu_read_gva(struct vcpu *v, gva_t gva, void *buf, size_t len);
/* The linear address of the guest's RIP (CS base added outside 64-bit mode). */
gva_t vcpu_rip_linear(const struct vcpu *v);
/* Copies up to max bytes of the instruction stream at the guest's RIP (CS base
 * added outside 64-bit mode), checked as instruction fetches; returns how
 * many bytes could be read (stops at the first page that is not mapped or
 * not executable). */
size_t vcpu_fetch_insn(struct vcpu *v, uint8_t *buf, size_t max);
/* The default width of the code the vCPU runs: 64 (EFER.LMA and CS.L), else
 * 32 or 16 as CS.D says (16 in virtual-8086 mode). */
unsigned vcpu_code_bits(const struct vcpu *v);
/* The base of segment register sreg (0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS) as at the exit. */
uint64_t vcpu_segment_base(const struct vcpu *v, unsigned sreg);
#endif
