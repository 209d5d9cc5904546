/* The x2APIC: one local APIC per vCPU, reached only through MSRs, whose
 * timer runs in TSC-deadline mode on a host high-resolution timer.
 *
 *   guest (vCPU n)                    host: vCPU n's thread, pinned to CPU c
 *   WRMSR 0x832 (LVT timer:  ----->   x2apic_msr: TSC-deadline mode, vector V
 *     TSC-deadline, V)
 *   WRMSR 0x6e0 (deadline D) ----->   x2apic_msr: hrtimer_start(timer, D) on CPU c
 *   ... runs, or halts (sti; hlt)     ... CPU c's TSC reaches D: timer interrupt
 *                                     x2apic_timer_expired (interrupt context, CPU c):
 *                                       deadline = 0; unless the LVT is masked,
 *                                       vcpu_raise_interrupt(vCPU n, V): pending,
 *                                       and the vCPU is kicked out of the guest
 *                                       or woken from HLT
 *   <- kev injects V at the next VMRUN once RFLAGS.IF = 1
 *   handler: WRMSR 0x80b (EOI) ----->  vcpu_eoi: V leaves service
 *            WRMSR 0x6e0 (next D) -->  hrtimer_start again ...
 *
 * Registers (x2APIC mode; 32-bit unless said otherwise; the rest of a
 * 64-bit WRMSR value is reserved):
 *   APIC_BASE 0x1b   base 0xfee00000 | EN (bit 11) | EXTD (bit 10) | BSP (bit 8, vCPU 0)
 *   ID        0x802  the vCPU index; read-only
 *   TPR       0x808  task priority, bits 7:0: the vCPU's TPR in kev (vcpu_set_tpr)
 *   EOI       0x80b  write 0: the highest vector in service ends (vcpu_eoi); write-only
 *   SVR       0x80f  spurious vector (7:0), APIC software enable (bit 8)
 *   ICR       0x830  64-bit: sends an IPI (below); reads back the last value
 *   LVT timer 0x832  vector (7:0), mask (16), timer mode (18:17): TSC-deadline only
 *   LINT0/1   0x835, 0x836  stored and read back; the device has no external
 *                    interrupt lines, so they never deliver
 *   TSC_DEADLINE 0x6e0  64-bit: the TSC value at which the timer fires; reads
 *                    the armed deadline, 0 if none
 * The power-on state is the hardware's: APIC_BASE 0xfee00000 | EN (| BSP):
 * xAPIC mode, whose memory-mapped page the device does not provide (a guest
 * touching it stops at its nested page fault); SVR 0xff (software-disabled);
 * every LVT 0x10000 (masked); TPR 0; no deadline.
 *
 * The timer (Intel SDM vol. 3, "TSC-deadline mode"). Only while the LVT timer
 * is in TSC-deadline mode do writes to TSC_DEADLINE count; otherwise they are
 * ignored and it reads 0. A non-zero write arms the timer for that TSC value
 * (a value already passed fires at once), replacing any earlier deadline; 0
 * disarms. When the TSC reaches the deadline the timer fires once: the
 * register goes back to 0, and the LVT's vector is raised on this vCPU unless
 * the LVT is masked (a masked expiry is lost, not kept for later). The guest
 * re-arms by writing the next deadline. kev sets no TSC offset: the guest's
 * TSC is the host's, so a deadline means the same on both sides. The hrtimer
 * is armed from the vCPU's own thread, which is pinned to the vCPU's CPU, so
 * it fires there.
 *
 * Interrupt priority is kev's (kev/vcpu_irq.c, the APIC's rules): a vector
 * waits while the TPR's class (tpr >> 4) or the class of the highest vector
 * in service is at or above its own (vector >> 4); EOI ends the highest
 * vector in service. A raised vector that is already pending merges with it.
 *
 * Software enable. While SVR bit 8 is clear every LVT stays masked: LVT
 * writes are stored with the mask bit set, and clearing bit 8 sets the mask
 * of every LVT (setting it again unmasks nothing).
 *
 * Modes (APIC_BASE EN, EXTD): disabled (0,0), xAPIC (1,0), x2APIC (1,1). The
 * x2APIC registers (MSRs 0x800-0x8ff) exist only in x2APIC mode. Allowed
 * changes: disabled -> xAPIC -> x2APIC, and any mode -> disabled, which
 * resets the local APIC to its power-on state (TPR 0, no deadline).
 *
 * IPIs. A write to the ICR sends a fixed, edge-triggered interrupt of its
 * vector (bits 7:0) in physical destination mode to: the vCPU whose index is
 * bits 63:32 (shorthand 00; 0xffffffff means every vCPU; an index with no
 * vCPU accepts nothing, as on hardware), itself (01), every vCPU (10), every
 * vCPU but itself (11). A vCPU not started yet keeps it pending. The level
 * bit (14) is ignored.
 *
 * Guest errors: #GP(0) is injected, the register keeps its value, the guest
 * runs on and the console gets one line saying why:
 *   - RDMSR/WRMSR of an x2APIC register (0x800-0x8ff) outside x2APIC mode;
 *   - a write with a reserved bit set: any bit outside the writable fields
 *     listed above (bits 63:32 of every 32-bit register included; LINT0/1
 *     take vector, delivery mode 10:8, polarity 13, trigger 15, mask 16);
 *   - a read of EOI, a non-zero write to EOI, any write to ID;
 *   - APIC_BASE: a base other than 0xfee00000, a change of the BSP bit, EXTD
 *     without EN, x2APIC -> xAPIC, disabled -> x2APIC;
 *   - LVT timer: a mode other than TSC-deadline (one-shot and periodic need a
 *     count register the device does not have; 11 is reserved), or a vector
 *     below 16 with the mask clear;
 *   - ICR: a reserved delivery mode (011, 111), or a fixed IPI with a vector
 *     below 16.
 * IPIs the device does not implement stop the VM with one line naming them
 * (VM_ERR_DEVICE), rather than leave a guest waiting for a vCPU that never
 * answers: lowest-priority, SMI, NMI, INIT and STARTUP delivery, logical
 * destination mode, level-triggered. (Under kev a guest starts its vCPUs
 * with the KEV_HC_START_VCPU hypercall.) Any other x2APIC MSR is not
 * registered: kev stops the VM with its report naming the MSR.
 *
 * Locking. Each local APIC's lock is held for a whole MSR access and by the
 * timer callback. Both run on the vCPU's CPU, and the handler holds the
 * spinlock with interrupts off, so the callback never sees a half-written
 * register. kev's interrupt functions have their own rules: vcpu_eoi and
 * vcpu_set_tpr only from the vCPU's thread (the MSR handler), and
 * vcpu_raise_interrupt from anywhere (the callback, an IPI to another vCPU).
 *
 * Lifetime: attach once, before the VM runs. vm_destroy calls
 * x2apic_stop_timers before it frees the vCPUs, so no timer fires into a
 * freed vCPU; x2apic_free comes after vm_destroy. */
#include "project4/dev/x2apic.h"
#include "kev/vcpu.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"

/* The hardware's power-on state of local APIC id (xAPIC mode, everything masked). */
static void lapic_power_on(struct x2apic_lapic *l, unsigned id)
{
	l->apic_base = APIC_BASE_ADDR | APIC_BASE_EN | (id == 0 ? APIC_BASE_BSP : 0);
	l->svr = SVR_VECTOR_MASK;
	l->lvt_timer = LVT_MASKED;
	l->lvt_lint0 = LVT_MASKED;
	l->lvt_lint1 = LVT_MASKED;
	l->icr = 0;
	l->tsc_deadline = 0;
}

struct x2apic *x2apic_new(void)
{
	struct x2apic *dev = kzalloc(sizeof(*dev));
	if (dev == NULL) {
		printk("x2apic: no memory for the device\n");
		return NULL;
	}
	for (unsigned i = 0; i < KEV_MAX_VCPUS; i++) {
		struct x2apic_lapic *l = &dev->lapic[i];
		spinlock_init(&l->lock, "x2apic");
		lapic_power_on(l, i);       /* kzalloc left l->timer as HRTIMER_INIT */
	}
	return dev;
}

void x2apic_stop_timers(void *ctx)
{
	struct x2apic *dev = ctx;
	for (unsigned i = 0; i < KEV_MAX_VCPUS; i++)
		hrtimer_cancel(&dev->lapic[i].timer);
}

void x2apic_free(struct x2apic *dev)
{
	if (dev == NULL)
		return;
	x2apic_stop_timers(dev);
	kfree(dev);
}

const char *x2apic_strerror(enum x2apic_error e)
{
	switch (e) {
	case X2APIC_OK: return "success";
	case X2APIC_ERR_ATTACHED: return "device already attached";
	case X2APIC_ERR_REGISTER: return "kev refused a registration (VM running or tables full)";
	}
	return "unknown error";
}

void x2apic_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r, void *ctx)
{
	(void)v;
	(void)subleaf;
	(void)ctx;
	if (leaf == 1)
		r->ecx |= CPUID_LEAF1_ECX_X2APIC | CPUID_LEAF1_ECX_TSC_DEADLINE;
}

/* Assignment: attach the device to a VM, before it runs.
 *
 * Give local APIC i (dev->lapic[i], in the power-on state) to vCPU i
 * (vm->vcpus[i]) for every vCPU of vm, then register with kev
 * (kev/device_hooks.h), each with the device as ctx:
 *   - x2apic_msr for every MSR the device owns: APIC_BASE, ID, TPR, EOI,
 *     SVR, ICR, LVT timer, LINT0, LINT1, TSC_DEADLINE (vm_msr_register);
 *   - x2apic_cpuid, so the guest's CPUID shows x2APIC and TSC-deadline
 *     (vm_cpuid_register);
 *   - x2apic_stop_timers, which vm_destroy must run before it frees the
 *     vCPUs (vm_on_destroy).
 * Set dev->vm and dev->nvcpus once it all succeeded. Return X2APIC_OK,
 * X2APIC_ERR_ATTACHED if the device is already attached (to any VM), or
 * X2APIC_ERR_REGISTER if kev refuses a registration (the VM is then
 * unusable: destroy it). */
enum x2apic_error x2apic_attach(struct x2apic *dev, struct vm *vm)
{
	/* BEGIN SOLUTION */
	static const uint32_t msrs[] = {
		X2APIC_MSR_APIC_BASE, X2APIC_MSR_ID, X2APIC_MSR_TPR, X2APIC_MSR_EOI,
		X2APIC_MSR_SVR, X2APIC_MSR_ICR, X2APIC_MSR_LVT_TIMER, X2APIC_MSR_LVT_LINT0,
		X2APIC_MSR_LVT_LINT1, X2APIC_MSR_TSC_DEADLINE,
	};
	if (dev->vm != NULL)
		return X2APIC_ERR_ATTACHED;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		dev->lapic[i].vcpu = vm->vcpus[i];
	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		if (!vm_msr_register(vm, msrs[i], x2apic_msr, dev)) {
			printk("x2apic: kev refused MSR %#x\n", msrs[i]);
			return X2APIC_ERR_REGISTER;
		}
	}
	if (!vm_cpuid_register(vm, x2apic_cpuid, dev) || !vm_on_destroy(vm, x2apic_stop_timers, dev)) {
		printk("x2apic: kev refused the CPUID or destroy hook\n");
		return X2APIC_ERR_REGISTER;
	}
	dev->vm = vm;
	dev->nvcpus = vm->nvcpus;
	return X2APIC_OK;
	/* END SOLUTION */
}

/* BEGIN SOLUTION */
/* A guest error: one console line, then #GP(0). A macro, so the line is one
 * printk and cannot interleave with another CPU's output. */
#define guest_error(l, index, fmt, ...) ({ \
	printk("x2apic: vcpu %u: MSR %#x: " fmt "; #GP(0)\n", (l)->vcpu->id, (index), ##__VA_ARGS__); \
	VM_MSR_GP; \
})

static bool x2apic_mode(const struct x2apic_lapic *l)
{
	return (l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

static bool in_tsc_deadline_mode(const struct x2apic_lapic *l)
{
	return (l->lvt_timer & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSC_DEADLINE;
}

static const char *mode_name(uint64_t apic_base)
{
	if (!(apic_base & APIC_BASE_EN))
		return apic_base & APIC_BASE_EXTD ? "invalid (EXTD without EN)" : "disabled";
	return apic_base & APIC_BASE_EXTD ? "x2APIC" : "xAPIC";
}

static enum vm_msr_result write_apic_base(struct x2apic_lapic *l, uint64_t v)
{
	uint64_t old = l->apic_base;
	if (v & ~(APIC_BASE_ADDR_MASK | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP))
		return guest_error(l, X2APIC_MSR_APIC_BASE, "reserved bits in %#lx", v);
	if ((v & APIC_BASE_ADDR_MASK) != APIC_BASE_ADDR)
		return guest_error(l, X2APIC_MSR_APIC_BASE, "base %#lx (only %#llx is supported)",
		                   (uint64_t)(v & APIC_BASE_ADDR_MASK), APIC_BASE_ADDR);
	if ((v ^ old) & APIC_BASE_BSP)
		return guest_error(l, X2APIC_MSR_APIC_BASE, "the BSP bit is read-only");
	bool was_x2 = (old & APIC_BASE_EXTD) != 0, was_on = (old & APIC_BASE_EN) != 0;
	bool x2 = (v & APIC_BASE_EXTD) != 0, on = (v & APIC_BASE_EN) != 0;
	if ((x2 && !on) || (was_x2 && on && !x2) || (!was_on && x2))
		return guest_error(l, X2APIC_MSR_APIC_BASE, "mode change %s -> %s is not allowed",
		                   mode_name(old), mode_name(v));
	if (!on) {
		/* Disabled: the local APIC goes back to its power-on state. */
		lapic_power_on(l, l->vcpu->id);
		vcpu_set_tpr(l->vcpu, 0);
	}
	l->apic_base = v;
	return VM_MSR_OK;
}

/* The LVT value to store: while software-disabled, the mask stays set. */
static uint32_t lvt_value(const struct x2apic_lapic *l, uint64_t v)
{
	return (uint32_t)v | (l->svr & SVR_ENABLE ? 0 : LVT_MASKED);
}

static enum vm_msr_result write_lvt_timer(struct x2apic_lapic *l, uint64_t v)
{
	if (v & ~(uint64_t)LVT_TIMER_WRITABLE)
		return guest_error(l, X2APIC_MSR_LVT_TIMER, "reserved bits in %#lx", v);
	if ((v & LVT_TIMER_MODE_MASK) != LVT_TIMER_TSC_DEADLINE)
		return guest_error(l, X2APIC_MSR_LVT_TIMER, "timer mode %lu in %#lx (only TSC-deadline, 2, is supported)",
		                   (v & LVT_TIMER_MODE_MASK) >> 17, v);
	if (!(v & LVT_MASKED) && (v & LVT_VECTOR_MASK) < X2APIC_FIRST_VECTOR)
		return guest_error(l, X2APIC_MSR_LVT_TIMER, "vector %lu is an exception vector", v & LVT_VECTOR_MASK);
	l->lvt_timer = lvt_value(l, v);
	return VM_MSR_OK;
}

static enum vm_msr_result write_lvt_lint(struct x2apic_lapic *l, uint32_t index, uint64_t v)
{
	if (v & ~(uint64_t)LVT_LINT_WRITABLE)
		return guest_error(l, index, "reserved bits in %#lx", v);
	if (index == X2APIC_MSR_LVT_LINT0)
		l->lvt_lint0 = lvt_value(l, v);
	else
		l->lvt_lint1 = lvt_value(l, v);
	return VM_MSR_OK;
}

static enum vm_msr_result write_svr(struct x2apic_lapic *l, uint64_t v)
{
	if (v & ~(uint64_t)SVR_WRITABLE)
		return guest_error(l, X2APIC_MSR_SVR, "reserved bits in %#lx", v);
	l->svr = (uint32_t)v;
	if (!(v & SVR_ENABLE)) {
		l->lvt_timer |= LVT_MASKED;
		l->lvt_lint0 |= LVT_MASKED;
		l->lvt_lint1 |= LVT_MASKED;
	}
	return VM_MSR_OK;
}

static enum vm_msr_result write_tsc_deadline(struct x2apic_lapic *l, uint64_t v)
{
	if (!in_tsc_deadline_mode(l))
		return VM_MSR_OK;          /* ignored, as on hardware */
	l->tsc_deadline = v;
	/* 0 disarms: a timer still armed finds tsc_deadline 0 and does nothing. */
	if (v != 0)
		hrtimer_start(&l->timer, v, x2apic_timer_expired, l);
	return VM_MSR_OK;
}

static const char *unsupported_ipi(uint64_t icr)
{
	switch (icr & ICR_DELIVERY_MODE_MASK) {
	case ICR_DELIVERY_LOWEST: return "lowest-priority";
	case ICR_DELIVERY_SMI: return "SMI";
	case ICR_DELIVERY_NMI: return "NMI";
	case ICR_DELIVERY_INIT: return "INIT";
	case ICR_DELIVERY_STARTUP: return "STARTUP";
	}
	if (icr & ICR_DEST_LOGICAL)
		return "logical-destination";
	if (icr & ICR_LEVEL_TRIGGERED)
		return "level-triggered";
	return NULL;
}

static enum vm_msr_result write_icr(struct x2apic *dev, struct x2apic_lapic *l, uint64_t v)
{
	uint64_t mode = v & ICR_DELIVERY_MODE_MASK;
	uint8_t vector = v & ICR_VECTOR_MASK;
	if (v & ICR_RESERVED)
		return guest_error(l, X2APIC_MSR_ICR, "reserved bits in %#lx", v);
	if (mode == ICR_DELIVERY_RESERVED3 || mode == ICR_DELIVERY_RESERVED7)
		return guest_error(l, X2APIC_MSR_ICR, "reserved delivery mode in %#lx", v);
	const char *what = unsupported_ipi(v);
	if (what) {
		vcpu_fail(l->vcpu, VM_ERR_DEVICE, "x2apic: ICR %#lx: %s IPIs are not supported "
		          "(fixed, edge, physical only; start vCPUs with the KEV_HC_START_VCPU hypercall)", v, what);
		return VM_MSR_STOP;
	}
	if (vector < X2APIC_FIRST_VECTOR)
		return guest_error(l, X2APIC_MSR_ICR, "fixed IPI with exception vector %u", vector);
	l->icr = v;
	unsigned self = l->vcpu->id;
	uint32_t dest = (uint32_t)(v >> ICR_DEST_SHIFT);
	for (unsigned i = 0; i < dev->nvcpus; i++) {
		bool to_it;
		switch (v & ICR_SHORTHAND_MASK) {
		case ICR_SHORTHAND_SELF: to_it = i == self; break;
		case ICR_SHORTHAND_ALL: to_it = true; break;
		case ICR_SHORTHAND_OTHERS: to_it = i != self; break;
		default: to_it = dest == ICR_DEST_BROADCAST || dest == i; break;
		}
		if (to_it)
			vcpu_raise_interrupt(dev->lapic[i].vcpu, vector);
	}
	return VM_MSR_OK;
}

static enum vm_msr_result read_reg(struct x2apic_lapic *l, uint32_t index, uint64_t *value)
{
	switch (index) {
	case X2APIC_MSR_APIC_BASE: *value = l->apic_base; return VM_MSR_OK;
	case X2APIC_MSR_TSC_DEADLINE: *value = l->tsc_deadline; return VM_MSR_OK;
	case X2APIC_MSR_ID: *value = l->vcpu->id; return VM_MSR_OK;
	case X2APIC_MSR_TPR: *value = vcpu_get_tpr(l->vcpu); return VM_MSR_OK;
	case X2APIC_MSR_SVR: *value = l->svr; return VM_MSR_OK;
	case X2APIC_MSR_ICR: *value = l->icr; return VM_MSR_OK;
	case X2APIC_MSR_LVT_TIMER: *value = l->lvt_timer; return VM_MSR_OK;
	case X2APIC_MSR_LVT_LINT0: *value = l->lvt_lint0; return VM_MSR_OK;
	case X2APIC_MSR_LVT_LINT1: *value = l->lvt_lint1; return VM_MSR_OK;
	case X2APIC_MSR_EOI: return guest_error(l, index, "EOI is write-only");
	}
	vcpu_fail(l->vcpu, VM_ERR_DEVICE, "x2apic: RDMSR %#x reached the device, which does not own it", index);
	return VM_MSR_STOP;
}

static enum vm_msr_result write_reg(struct x2apic *dev, struct x2apic_lapic *l, uint32_t index, uint64_t v)
{
	switch (index) {
	case X2APIC_MSR_APIC_BASE: return write_apic_base(l, v);
	case X2APIC_MSR_TSC_DEADLINE: return write_tsc_deadline(l, v);
	case X2APIC_MSR_ID: return guest_error(l, index, "ID is read-only");
	case X2APIC_MSR_TPR:
		if (v & ~(uint64_t)TPR_WRITABLE)
			return guest_error(l, index, "reserved bits in %#lx", v);
		vcpu_set_tpr(l->vcpu, (uint8_t)v);
		return VM_MSR_OK;
	case X2APIC_MSR_EOI:
		if (v != 0)
			return guest_error(l, index, "EOI written with %#lx (must be 0)", v);
		vcpu_eoi(l->vcpu);
		return VM_MSR_OK;
	case X2APIC_MSR_SVR: return write_svr(l, v);
	case X2APIC_MSR_ICR: return write_icr(dev, l, v);
	case X2APIC_MSR_LVT_TIMER: return write_lvt_timer(l, v);
	case X2APIC_MSR_LVT_LINT0:
	case X2APIC_MSR_LVT_LINT1: return write_lvt_lint(l, index, v);
	}
	vcpu_fail(l->vcpu, VM_ERR_DEVICE, "x2apic: WRMSR %#x reached the device, which does not own it", index);
	return VM_MSR_STOP;
}
/* END SOLUTION */

/* Assignment: one RDMSR or WRMSR of an MSR the device owns.
 *
 * ctx is the device; v->id selects the local APIC (dev->lapic[v->id]).
 * Hold its lock for the whole access. A read stores the register's value in
 * *value; a write's value is *value. Implement the registers as the comment
 * at the top of this file describes them:
 *   - x2APIC registers (0x800-0x8ff) exist only in x2APIC mode;
 *   - TPR maps to kev's task priority (vcpu_set_tpr, vcpu_get_tpr); EOI
 *     calls vcpu_eoi;
 *   - LVT timer in TSC-deadline mode, then TSC_DEADLINE: arm the local APIC's
 *     hrtimer (hrtimer_start(&l->timer, deadline, x2apic_timer_expired, l))
 *     for every non-zero deadline; 0 disarms; outside TSC-deadline mode the
 *     writes are ignored;
 *   - SVR software enable keeps the LVTs masked while it is clear;
 *   - APIC_BASE: the mode changes allowed, disabling resets to power-on
 *     (lapic_power_on, TPR 0);
 *   - ICR: fixed IPIs with vcpu_raise_interrupt on each destination vCPU.
 * Every guest error listed at the top returns VM_MSR_GP after one console
 * line saying why; the register keeps its value. An IPI the device does not
 * support stops the VM: vcpu_fail(v, VM_ERR_DEVICE, one line), then return
 * VM_MSR_STOP. Return VM_MSR_OK otherwise (kev then moves RIP). */
enum vm_msr_result x2apic_msr(struct vcpu *v, uint32_t index, bool write, uint64_t *value, void *ctx)
{
	/* BEGIN SOLUTION */
	struct x2apic *dev = ctx;
	struct x2apic_lapic *l = &dev->lapic[v->id];
	enum vm_msr_result r;

	spin_lock(&l->lock);
	if (index >= X2APIC_MSR_FIRST && index <= X2APIC_MSR_LAST && !x2apic_mode(l))
		r = guest_error(l, index, "x2APIC register while the APIC is in %s mode", mode_name(l->apic_base));
	else if (write)
		r = write_reg(dev, l, index, *value);
	else
		r = read_reg(l, index, value);
	spin_unlock(&l->lock);
	return r;
	/* END SOLUTION */
}

/* Assignment: the timer callback. It runs in interrupt context on the
 * vCPU's CPU when the TSC reaches the deadline the local APIC (arg) armed.
 *
 * Under the local APIC's lock: if no deadline is armed any more
 * (tsc_deadline is 0: the guest disarmed it), do nothing. Otherwise the
 * timer fires once: clear tsc_deadline (the guest reads 0 from now on) and,
 * unless the LVT timer is masked, raise its vector on the vCPU with
 * vcpu_raise_interrupt, which also kicks the vCPU out of the guest or wakes
 * it from HLT. Raise it even while that vector is still in service: kev
 * keeps it pending until the EOI (a tick held back, not lost). Never block
 * here. */
void x2apic_timer_expired(void *arg)
{
	/* BEGIN SOLUTION */
	struct x2apic_lapic *l = arg;

	spin_lock(&l->lock);
	if (l->tsc_deadline != 0) {
		l->tsc_deadline = 0;
		if (!(l->lvt_timer & LVT_MASKED))
			vcpu_raise_interrupt(l->vcpu, l->lvt_timer & LVT_VECTOR_MASK);
	}
	spin_unlock(&l->lock);
	/* END SOLUTION */
}
