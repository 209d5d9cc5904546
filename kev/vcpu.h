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
 * several vCPUs of one VM run on different CPUs at once.
 *
 * Virtual interrupts (kev/vcpu_irq.c) follow the local APIC's rules: any
 * thread, or a timer callback, raises a vector into the pending set (IRR);
 * right before each VMRUN the loop injects the highest pending vector whose
 * priority class is above both the task priority (TPR) and the highest
 * vector in service (ISR), if the guest can take it now; otherwise it asks
 * for the interrupt window. A raise kicks the vCPU: an IPI if it runs in the
 * guest on another CPU, a wake-up if it sleeps in HLT. Each vCPU has its own
 * x87/SSE registers (kev/vcpu_fpu.c), switched lazily per host CPU. */
#ifndef KEV_VCPU_H
#define KEV_VCPU_H
#include "kev/types.h"
#include "kev/guest_walk.h"
#include "kev/vmexit.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"
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

/* The nested-table translations a vCPU's own reads of guest memory used
 * last (kev/vcpu_mem.c): its guest page-table walks and instruction fetches
 * read the same few pages at every exit. Only vm_npt_unmap can make one
 * stale, and it bumps the VM's npt_generation, which empties the cache. */
#define VCPU_NPT_CACHE_SLOTS 16
struct vcpu_npt_cache {
	uint64_t generation;                     /* the VM's npt_generation when filled */
	gpa_t page[VCPU_NPT_CACHE_SLOTS];        /* guest page number + 1 (0: empty slot) */
	const uint8_t *hva[VCPU_NPT_CACHE_SLOTS];
};

/* The last successful translation of each kind of access (read, write,
 * fetch) by a vCPU's own walks (kev/vcpu_mem.c), with the page-table entries
 * the walk read. A walk is a function of the control registers, the CPL,
 * RFLAGS.AC, the access and those entries: when all are unchanged, so is its
 * result. The entries are read again every time, never trusted, so a guest
 * that changes its page tables is seen at once, as by a full walk. */
#define VCPU_WALK_MAX_ENTRIES 4
struct vcpu_walk_memo {
	bool valid;
	gva_t gva_page;                          /* gva >> 12 */
	uint64_t cr0, cr3, cr4, efer, rflags_ac;
	unsigned cpl;
	unsigned nentries;
	gpa_t entry_gpa[VCPU_WALK_MAX_ENTRIES];
	uint64_t entry[VCPU_WALK_MAX_ENTRIES];
	gpa_t gpa_page;                          /* the result, gpa >> 12 */
};

struct vcpu_stats {
	uint64_t exits;            /* every #VMEXIT */
	uint64_t intr_exits;       /* host interrupts (INTR, NMI, SMI) */
	uint64_t hypercalls;       /* VMMCALL */
	uint64_t runs_by_cpu_mask; /* bit n: this vCPU ran on host CPU n */
	uint64_t injected;         /* virtual interrupts injected */
	uint64_t window_exits;     /* VINTR exits: the guest opened its interrupt window */
	uint64_t halts;            /* HLT exits that blocked the thread */
	uint64_t fpu_switches;     /* FXSAVE/FXRSTOR pairs on entry */
};

/* Where a vCPU's thread is, for kicks and for the report of a VM that hangs. */
enum vcpu_run_state {
	VCPU_NOT_STARTED,
	VCPU_IN_HOST,              /* kev's loop, between exits */
	VCPU_IN_GUEST,             /* from just before VMRUN (interrupts off) to the exit */
	VCPU_IN_HANDLER,           /* an exit controller runs (vcpu->exit says which exit) */
	VCPU_HALTED,               /* blocked in HLT until an interrupt, the VM's stop or deadline */
	VCPU_DONE,                 /* the thread left its loop */
};

/* The local APIC's interrupt state, virtualized (kev/vcpu_irq.c). */
struct vcpu_irq {
	uint64_t irr[4];           /* pending vectors; bits set atomically by any thread */
	uint64_t isr[4];           /* vectors in service; the vCPU's thread only */
	uint8_t tpr;               /* task priority; the vCPU's thread only */
	bool window;               /* V_IRQ and the VINTR intercept are set */
	struct spinlock halt_lock; /* orders HLT's sleep against wake-ups */
	struct waitq halt_wq;
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
	struct vcpu_npt_cache npt_cache; /* the vCPU thread's own guest reads (kev/vcpu_mem.c) */
	struct vcpu_walk_memo walk_memo[3];   /* by enum guest_access (kev/vcpu_mem.c) */
	struct vcpu_walk_memo *recording;     /* the memo a walk in progress fills */
	struct vcpu_stats stats;

	/* --- run state, interrupts, FPU (kev/vcpu.c, vcpu_irq.c, vcpu_fpu.c) --- */
	volatile int run_state;    /* enum vcpu_run_state */
	struct exit_reason exit;   /* the last exit (the one being handled while IN_HANDLER) */
	uint64_t handler_since;    /* TSC when the current handler started */
	/* The guest RIP at which the deadline stopped this vCPU (timed_out): vm_join
	 * names its symbol once the thread is back, since finding it may read the
	 * guest image from disk, which must not delay the thread past its grace. */
	bool timed_out;
	uint64_t timeout_rip;
	struct vcpu_irq irq;
	void *fxsave;              /* this vCPU's x87/SSE registers (FXSAVE image, one page) */
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

/* --- virtual interrupts (kev/vcpu_irq.c); the x2APIC device builds on these --- */

/* Makes vector (16..255) pending and kicks the vCPU; any thread or interrupt
 * context. True if it was not pending yet (a raise of a pending vector merges
 * with it, as in an APIC's IRR); false for vectors 0..15. */
bool vcpu_raise_interrupt(struct vcpu *v, uint8_t vector);
/* Ends the highest-priority interrupt in service (an x2APIC EOI write); vCPU thread only. */
void vcpu_eoi(struct vcpu *v);
/* Sets the task priority (x2APIC TPR): vectors of class tpr >> 4 and below wait; vCPU thread only. */
void vcpu_set_tpr(struct vcpu *v, uint8_t tpr);
/* The task priority. */
uint8_t vcpu_get_tpr(const struct vcpu *v);
/* True if vector is pending (in the IRR). */
bool vcpu_interrupt_pending(const struct vcpu *v, uint8_t vector);
/* True if vector is in service (in the ISR). */
bool vcpu_interrupt_in_service(const struct vcpu *v, uint8_t vector);
/* Makes the vCPU look at its state soon: an IPI if it runs in the guest on another CPU, a wake-up if halted. */
void vcpu_kick(struct vcpu *v);
/* HLT: blocks the calling vCPU thread until an interrupt can be delivered, the VM stops or its deadline passes. */
void vcpu_halt(struct vcpu *v);

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
