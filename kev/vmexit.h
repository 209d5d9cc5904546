/* The exit-controller chain.
 *
 * Every exit the vCPU loop does not absorb itself (host interrupts) is offered
 * to the VM's controllers in order. A controller either handles it (and
 * tells the loop to resume the guest or to end the VM) or passes it on. An
 * exit nobody handles stops the VM with a report: exit code and name, guest
 * RIP, the exit information fields decoded, the instruction bytes at RIP and
 * the registers.
 *
 * A handler works on vcpu->state (kev/types.h: registers, RIP, RFLAGS, CR0,
 * CR3, CR4, EFER): the loop copies it into the VMCB before the next VMRUN. To
 * resume after the exiting instruction it advances RIP itself (insn_complete()
 * in kev/insn.h finds the length at RIP, prefixes included: there is no NRIP
 * save under QEMU TCG). To give the guest an exception it calls
 * vcpu_inject_exception() and leaves RIP on the instruction. To end the VM it
 * calls vm_exit_with() (a guest-requested exit with a status) or vcpu_fail()
 * (an error with a report), then returns VMEXIT_STOP.
 *
 * Order in a new VM (kev/vm.c): cpuid, msr, pio, hypercall, halt, debug
 * registers, hidden features (XSETBV, MONITOR, MWAIT, RDPMC), then the
 * controllers added with vm_add_controller() (project3 adds its #NPF
 * controller: lazy paging and MMIO devices). */
#ifndef KEV_VMEXIT_H
#define KEV_VMEXIT_H
#include "kev/types.h"
#include "kev/exit.h"

struct vcpu;

enum vmexit_verdict {
	VMEXIT_PASS,      /* not mine: offer the exit to the next controller */
	VMEXIT_RESUME,    /* handled: run the guest again */
	VMEXIT_STOP,      /* handled: the VM ends (status or error recorded in the vm) */
};

struct vmexit_controller {
	const char *name;
	enum vmexit_verdict (*handle)(struct vmexit_controller *ctl, struct vcpu *vcpu,
	                              const struct exit_reason *exit);
	void *priv;       /* the controller's own state */
};

/* Offers exit to vcpu's VM's controllers in order; an unhandled exit stops the
 * VM with the report and vmexit_unhandled_error(). Returns RESUME or STOP. */
enum vmexit_verdict vmexit_dispatch(struct vcpu *vcpu, const struct exit_reason *exit);
/* The error an unhandled exit stops the VM with: VM_ERR_BAD_GUEST_ACCESS for
 * #NPF (guest-physical memory that is neither RAM nor a device),
 * VM_ERR_TRIPLE_FAULT for SHUTDOWN, VM_ERR_UNHANDLED_EXIT for the rest
 * (VMRUN's own failure, VMEXIT_INVALID, included). */
enum vm_error vmexit_unhandled_error(uint64_t code);
/* Writes the readable report of exit into buf (several lines, no trailing newline). */
int vmexit_report(struct vcpu *vcpu, const struct exit_reason *exit, char *buf, size_t size);

/* The built-in controllers (kev/vmexit/: cpuid.c, msr.c, pio.c, hypercall.c, hlt.c,
 * dr.c, feature_insn.c). */
extern struct vmexit_controller vmexit_cpuid_controller;
extern struct vmexit_controller vmexit_msr_controller;
extern struct vmexit_controller vmexit_pio_controller;
extern struct vmexit_controller vmexit_hypercall_controller;
extern struct vmexit_controller vmexit_hlt_controller;
extern struct vmexit_controller vmexit_dr_controller;
extern struct vmexit_controller vmexit_feature_insn_controller;

/* Sets the VMCB's DR7 to a value that arms nothing (kev/vmexit/dr.c); before every VMRUN. */
void dr_before_vmrun(struct vcpu *vcpu);

/* The lengths of the plain encodings. A controller resuming after one of
 * these calls insn_complete() (kev/insn.h) instead: the guest may add prefixes. */
#define INSN_LEN_CPUID   2     /* 0f a2 */
#define INSN_LEN_RDMSR   2     /* 0f 32 */
#define INSN_LEN_WRMSR   2     /* 0f 30 */
#define INSN_LEN_VMMCALL 3     /* 0f 01 d9 */
#define INSN_LEN_HLT     1     /* f4 */

/* --- the CPUID controller (kev/vmexit/cpuid.c) ------------------------------- */

struct cpuid_regs;
/* The host's answer (host) to CPUID leaf/subleaf, edited into what v's guest
 * sees (kev's own leaves 0x40000000.. are not edited, they are made up). */
struct cpuid_regs cpuid_edit_for_guest(const struct vcpu *v, uint32_t leaf, uint32_t subleaf,
                                       struct cpuid_regs host);

/* --- the MSR controller's table (kev/vmexit/msr.c) --------------------------- */

/* MSRs kev emulates. Scratch MSRs are plain per-vCPU storage for tests, in the
 * range reserved for hypervisors (0x40000000-0x400000ff). */
#define MSR_KEV_SCRATCH0  0x400000f0
#define MSR_KEV_SCRATCH1  0x400000f1
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_PAT      0x277
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_TSC      0x10
/* Per-vCPU storage slots of the emulated MSRs (struct vcpu's msr_store). */
enum msr_slot {
	MSR_SLOT_SCRATCH0,
	MSR_SLOT_SCRATCH1,
	MSR_SLOT_APIC_BASE,
	MSR_SLOT_COUNT,
};
/* Sets the power-on values of a new vCPU's emulated MSRs. */
void msr_vcpu_init(struct vcpu *vcpu);

/* --- the port I/O controller (kev/vmexit/pio.c) ------------------------------ */

#define PIO_COM1          0x3f8       /* 0x3f8 .. 0x3ff */
#define PIO_EXIT_PORT     0xf4        /* keos's isa-debug-exit port: out ends the VM */
#define PIO_EXIT_PORT_KEV 0x604       /* KeV's exit port, an alias */

struct vm;
/* Writes the VM's pending partial serial line to the console, then the notices
 * of console lines dropped and not reported yet (at VM end). */
void pio_serial_flush(struct vm *vm);
/* Appends guest console output (serial or the print hypercall) to the VM's
 * capture and to the host console, line by line with a "[guest N] " prefix,
 * within the VM's guest-line budget (kev/console_limit.h). */
void pio_serial_write(struct vm *vm, const char *bytes, size_t len);
#endif
