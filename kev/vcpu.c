/* The vCPU: its VMCB, its thread and the run loop (see vcpu.h).
 *
 * The loop owns the VMCB; nothing else writes it while the thread runs,
 * except through the handlers the loop itself calls. vcpu->state is the
 * handlers' view of the guest's registers: the loop copies RAX, RSP, RIP,
 * RFLAGS, CR0, CR3, CR4 and EFER from the VMCB after each exit and back
 * before each VMRUN; svm_vmrun() loads and stores the other GPRs directly
 * from state.gpr.
 *
 * One trip through the loop:
 *   deadline / stop checks -> state into the VMCB
 *   interrupts off: x87/SSE registers to this vCPU, run_state = IN_GUEST,
 *     inject or ask for the window, VMRUN, run_state = IN_HOST
 *   interrupts on (a host interrupt that ended the guest is taken here)
 *   host event or VINTR: nothing more; else run_state = IN_HANDLER and the
 *     controller chain, then an interrupted event is delivered again.
 * The thread's on_fail hook turns a fault or panic inside a handler into a
 * VM error with a report; the thread then ends like a normal one. */
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/probe.h"
#include "kev/svm.h"
#include "kev/vmcb.h"
#include "kev/exit.h"
#include "kev/vcpu_fpu.h"
#include "kev/vcpu_irq.h"
#include "kev/vcpu_guard.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/thread/thread.h"
#include <stdarg.h>
#include <string.h>

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define RFLAGS_RESERVED (1ull << 1)
#define PAT_POWER_ON 0x0007040600070406ull

/* The intercepts every kev guest runs with. Exceptions are added by the flat boot. */
static void set_intercepts(struct vmcb *vmcb)
{
	struct vmcb_control_area *c = &vmcb->control;
	c->intercept_misc1 = INTERCEPT1_INTR | INTERCEPT1_NMI | INTERCEPT1_SMI |
	                     INTERCEPT1_CPUID | INTERCEPT1_HLT | INTERCEPT1_INVLPGA |
	                     INTERCEPT1_IOIO_PROT | INTERCEPT1_MSR_PROT | INTERCEPT1_RSM |
	                     INTERCEPT1_SHUTDOWN | INTERCEPT1_RDPMC;
	c->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD |
	                     INTERCEPT2_VMSAVE | INTERCEPT2_STGI | INTERCEPT2_CLGI |
	                     INTERCEPT2_SKINIT | INTERCEPT2_MONITOR | INTERCEPT2_MWAIT |
	                     INTERCEPT2_MWAIT_COND | INTERCEPT2_XSETBV;
	/* Every DR read and write: the guest's debug registers are emulated
	 * (kev/vmexit/dr.c), never loaded into the CPU. */
	c->intercept_dr = 0xffffffffu;
	c->iopm_base_pa = svm_iopm_pa();
	c->msrpm_base_pa = svm_msrpm_pa();
	/* Physical interrupts follow the host's IF (not the guest's), so a guest
	 * running with interrupts off cannot starve the host. */
	c->int_ctl = V_INTR_MASKING;
}

static struct vmcb_seg seg(uint16_t sel, uint16_t attrib, uint32_t limit, uint64_t base)
{
	return (struct vmcb_seg){ .selector = sel, .attrib = attrib, .limit = limit, .base = base };
}

/* The architectural reset state (real mode at 0xffff0), as a starting point. */
static void set_reset_state(struct vcpu *v)
{
	struct vmcb_save_area *s = &v->vmcb->save;
	uint16_t data = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3);
	s->cs = seg(0xf000, SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb), 0xffff, 0xffff0000);
	s->ds = s->es = s->ss = s->fs = s->gs = seg(0, data, 0xffff, 0);
	s->gdtr = seg(0, 0, 0xffff, 0);
	s->idtr = seg(0, 0, 0xffff, 0);
	s->ldtr = seg(0, SEG_ATTR_P | SEG_ATTR_TYPE(2), 0xffff, 0);
	s->tr = seg(0, SEG_ATTR_P | SEG_ATTR_TYPE(0xb), 0xffff, 0);
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->g_pat = PAT_POWER_ON;
	s->cpl = 0;
	memset(&v->state, 0, sizeof(v->state));
	v->state.rip = 0xfff0;
	v->state.rflags = RFLAGS_RESERVED;
	v->state.cr0 = CR0_ET | CR0_NW | CR0_CD;
	v->state.efer = EFER_SVME;        /* VMRUN requires it; the guest never sees it */
}

struct vcpu *vcpu_create(struct vm *vm, unsigned id)
{
	struct vcpu *v = kzalloc(sizeof(*v));
	if (!v)
		return NULL;
	v->vmcb = page_alloc();
	if (!v->vmcb || !vcpu_fpu_init(v)) {
		if (v->vmcb)
			page_free(v->vmcb);
		kfree(v);
		return NULL;
	}
	vcpu_irq_init(v);
	v->vm = vm;
	v->id = id;
	v->vmcb_pa = virt_to_phys(v->vmcb);
	v->flush_tlb = true;   /* the ASID may have served another VM before */
	set_intercepts(v->vmcb);
	v->vmcb->control.asid = vm->asid;
	v->vmcb->control.nested_ctl = NESTED_CTL_NP_ENABLE;
	v->vmcb->control.nested_cr3 = ept_root_pa(&vm->npt);
	set_reset_state(v);
	msr_vcpu_init(v);
	return v;
}

void vcpu_destroy(struct vcpu *v)
{
	vcpu_fpu_free(v);
	page_free(v->vmcb);
	kfree(v);
}

void vcpu_set_long_mode(struct vcpu *v, gpa_t cr3, gpa_t gdt_gpa, uint16_t gdt_limit,
                        uint64_t rip, uint64_t rsp)
{
	struct vmcb_save_area *s = &v->vmcb->save;
	uint16_t code = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb) | SEG_ATTR_L | SEG_ATTR_G;
	uint16_t data = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3) | SEG_ATTR_DB | SEG_ATTR_G;
	s->cs = seg(0x08, code, 0xffffffff, 0);
	s->ds = s->es = s->ss = s->fs = s->gs = seg(0x10, data, 0xffffffff, 0);
	s->gdtr = seg(0, 0, gdt_limit, gdt_gpa);
	s->idtr = seg(0, 0, 0, 0);
	s->cpl = 0;
	v->state.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	v->state.cr3 = cr3;
	v->state.cr4 = CR4_PAE;
	v->state.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME;
	v->state.rflags = RFLAGS_RESERVED;
	v->state.rip = rip;
	v->state.gpr[GPR_RSP] = rsp;
}

/* --- the state <-> VMCB copies ------------------------------------------------ */

static void state_to_vmcb(struct vcpu *v)
{
	struct vmcb_save_area *s = &v->vmcb->save;
	s->rax = v->state.gpr[GPR_RAX];
	s->rsp = v->state.gpr[GPR_RSP];
	s->rip = v->state.rip;
	s->rflags = v->state.rflags;
	s->cr0 = v->state.cr0;
	s->cr3 = v->state.cr3;
	s->cr4 = v->state.cr4;
	s->efer = v->state.efer;
}

static void vmcb_to_state(struct vcpu *v)
{
	const struct vmcb_save_area *s = &v->vmcb->save;
	v->state.gpr[GPR_RAX] = s->rax;
	v->state.gpr[GPR_RSP] = s->rsp;
	v->state.rip = s->rip;
	v->state.rflags = s->rflags;
	v->state.cr0 = s->cr0;
	v->state.cr3 = s->cr3;
	v->state.cr4 = s->cr4;
	v->state.efer = s->efer;
}

void vcpu_skip(struct vcpu *v, unsigned len)
{
	v->state.rip += len;
	v->vmcb->control.int_state = 0;
}

void vcpu_fail(struct vcpu *v, enum vm_error err, const char *fmt, ...)
{
	char msg[KEV_REPORT_SIZE];
	int n = ksnprintf(msg, sizeof(msg), "kev: vm %d vcpu %u: ", v->vm->id, v->id);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(msg))
		kvsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	printk("%s\n", msg);
	vm_stop(v->vm, err, msg);
}

/* --- the run loop -------------------------------------------------------------- */

/* An event (interrupt, exception) the exit interrupted on its way into the
 * guest is delivered again on the next VMRUN, unless a handler injected one.
 * A software interrupt (INT n, INT3, INTO) is the exception to the rule: RIP
 * still points at the instruction, which runs again and delivers it once;
 * injecting it as well would run the guest's handler twice. An external
 * interrupt is never dropped: kev/vcpu_irq.c delivers it again or puts it
 * back in the pending set. */
static void reinject_interrupted_event(struct vcpu *v, const struct exit_reason *e)
{
	struct vmcb_control_area *c = &v->vmcb->control;
	if (!(e->int_info & EVENT_VALID))
		return;
	if ((e->int_info & EVENT_TYPE_MASK) == EVENT_TYPE_INTR) {
		vcpu_irq_redeliver(v, e);
		return;
	}
	if ((c->event_inj & EVENT_VALID) || (e->int_info & EVENT_TYPE_MASK) == EVENT_TYPE_SOFT)
		return;
	c->event_inj = e->int_info;
	c->event_inj_err = e->int_info_err;
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_err, uint32_t err)
{
	struct vmcb_control_area *c = &v->vmcb->control;
	c->event_inj = EVENT_VALID | EVENT_TYPE_EXCEPT | vector | (has_err ? EVENT_ERROR_VALID : 0);
	c->event_inj_err = has_err ? err : 0;
}

static bool vmrun_failed(const struct vmcb *vmcb)
{
	uint64_t code = vmcb->control.exit_code;
	return code == SVM_EXIT_INVALID || code == 0xffffffffull;
}

static bool is_host_event(uint64_t code)
{
	return code == SVM_EXIT_INTR || code == SVM_EXIT_NMI || code == SVM_EXIT_SMI;
}

/* Only the store of VCPU_IN_GUEST pairs with raisers (it must be ordered
 * before the IRR is read: kev/vcpu_irq.c); the others are for readers that
 * tolerate a stale value, and a plain store keeps the exit path cheap. */
static void set_run_state(struct vcpu *v, enum vcpu_run_state st)
{
	if (st == VCPU_IN_GUEST)
		__atomic_store_n(&v->run_state, st, __ATOMIC_SEQ_CST);
	else
		__atomic_store_n(&v->run_state, st, __ATOMIC_RELEASE);
}

/* The thread is done with the loop: hand the CPU's x87/SSE registers back
 * and tell vm_join. */
static void leave_loop(struct vcpu *v)
{
	intr_push();
	vcpu_fpu_release(v);
	intr_pop();
	vm_vcpu_left(v);
}

static void timeout(struct vcpu *v)
{
	v->timeout_rip = v->state.rip;
	v->timed_out = true;
	vcpu_fail(v, VM_ERR_TIMEOUT, "still running at its deadline (rip 0x%lx)", v->state.rip);
}

/* VMRUN and what must happen with interrupts off around it. */
static void run_guest(struct vcpu *v, hpa_t host_vmcb)
{
	intr_push();
	if (cpu_intr_depth() != 1)
		panic("kev: VMRUN while holding a spinlock (an exit handler returned with one held?)");
	vcpu_fpu_enter(v);
	set_run_state(v, VCPU_IN_GUEST);
	vcpu_irq_before_vmrun(v);
	struct vmcb_seg cs = v->vmcb->save.cs;
	uint64_t dr6 = v->vmcb->save.dr6, dr7 = v->vmcb->save.dr7;
	svm_vmrun(v->state.gpr, v->vmcb_pa, host_vmcb);
	set_run_state(v, VCPU_IN_HOST);
	if (vmrun_failed(v->vmcb)) {
		/* No guest ran; under QEMU the save area now holds host state.
		 * Put back what VMRUN refused, for the report. */
		v->vmcb->save.cs = cs;
		v->vmcb->save.dr6 = dr6;
		v->vmcb->save.dr7 = dr7;
		state_to_vmcb(v);
	} else {
		vmcb_to_state(v);
	}
	intr_pop();
}

static void vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	svm_cpu_enable();
	hpa_t host_vmcb = svm_cpu_host_vmcb_pa();
	struct exit_reason *e = &v->exit;
	set_run_state(v, VCPU_IN_HOST);
	while (!vm_stopping(vm)) {
		if (vm_past_deadline(vm)) {
			timeout(v);
			break;
		}
		state_to_vmcb(v);
		vcpu_guard_before_vmrun(v);
		bool flush = __atomic_exchange_n(&v->flush_tlb, false, __ATOMIC_ACQ_REL);
		v->vmcb->control.tlb_ctl = flush ? TLB_CONTROL_FLUSH_ALL_ASID : TLB_CONTROL_DO_NOTHING;
		run_guest(v, host_vmcb);
		exit_decode(v->vmcb, e);
		if (e->code == SVM_EXIT_MSR)
			e->u.msr.index = (uint32_t)v->state.gpr[GPR_RCX];
		v->vmcb->control.event_inj = 0;
		v->stats.exits++;
		v->stats.runs_by_cpu_mask |= 1ull << v->cpu;
		if (is_host_event(e->code)) {
			/* Already handled: the host took the interrupt when the loop re-enabled them. */
			v->stats.intr_exits++;
			reinject_interrupted_event(v, e);
			continue;
		}
		if (e->code == SVM_EXIT_VINTR) {
			/* The guest can take an interrupt: the next entry injects it. */
			v->stats.window_exits++;
			reinject_interrupted_event(v, e);
			continue;
		}
		v->handler_since = rdtsc();
		set_run_state(v, VCPU_IN_HANDLER);
		enum vmexit_verdict verdict = vmexit_dispatch(v, e);
		set_run_state(v, VCPU_IN_HOST);
		if (verdict == VMEXIT_STOP)
			break;
		reinject_interrupted_event(v, e);
	}
	leave_loop(v);
}

/* A fault or panic in this vCPU's thread (an exit handler, a device): the
 * VM stops with the fault as its report, and the thread ends. */
static void vcpu_thread_failed(const char *file, int line, const char *msg)
{
	struct vcpu *v = thread_current()->fail_ctx;
	char where[96] = "";
	if (v->run_state == VCPU_IN_HANDLER)
		ksnprintf(where, sizeof(where), " while handling exit %s at guest rip 0x%lx",
		          exit_code_name(v->exit.code), v->exit.rip);
	vcpu_fail(v, VM_ERR_HOST_FAULT, "the vCPU thread died%s: %s (%s:%d; backtrace above)",
	          where, msg, file, line);
	set_run_state(v, VCPU_IN_HOST);
	leave_loop(v);
	thread_exit(1);
}

bool vcpu_start(struct vcpu *v)
{
	char name[32];
	ksnprintf(name, sizeof(name), "vm%d-vcpu%u", v->vm->id, v->id);
	v->thread = thread_create_full(name, v->cpu, vcpu_loop, v, vcpu_thread_failed, v);
	return v->thread != NULL;
}

void vcpu_set_protected_mode(struct vcpu *v, uint32_t eip, uint32_t eax, uint32_t ebx)
{
	struct vmcb_save_area *s = &v->vmcb->save;
	uint16_t code = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb) | SEG_ATTR_DB | SEG_ATTR_G;
	uint16_t data = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3) | SEG_ATTR_DB | SEG_ATTR_G;
	s->cs = seg(0x08, code, 0xffffffff, 0);
	s->ds = s->es = s->ss = s->fs = s->gs = seg(0x10, data, 0xffffffff, 0);
	s->gdtr = seg(0, 0, 0, 0);
	s->idtr = seg(0, 0, 0, 0);
	s->cpl = 0;
	v->state.cr0 = CR0_PE | CR0_ET;
	v->state.cr3 = 0;
	v->state.cr4 = 0;
	v->state.efer = EFER_SVME;
	v->state.rflags = RFLAGS_RESERVED;
	v->state.rip = eip;
	memset(v->state.gpr, 0, sizeof(v->state.gpr));
	v->state.gpr[GPR_RAX] = eax;
	v->state.gpr[GPR_RBX] = ebx;
}
