/* project4 part 1's host tests: each boots gKeOS with the x2APIC alone
 * (project4/dev/x2apic.c) and runs one guest test of
 * tests/guest/project4/test_x2apic.c; one checks that an IPI the device
 * does not implement stops the VM with one clear line, and one checks
 * x2apic_attach's contract on a VM that never runs. Opt-in (prefix
 * project4_): the grader and check-project4 run them.
 *
 * project4bench_x2apic is the benchmark (make bench-x2apic): the same
 * busy guest with and without the x2APIC, side by side. Printed, never
 * asserted. */
#include "tests/kernel/project4_harness.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/dev/lapic.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include <string.h>

X2APIC_KTEST(x2apic_timer_rate, 1, 30)
X2APIC_KTEST(x2apic_preemption, 1, 30)
X2APIC_KTEST(x2apic_balancing, 4, 60)
X2APIC_KTEST(x2apic_affinity, 4, 30)
X2APIC_KTEST(x2apic_deadline, 1, 30)
X2APIC_KTEST(x2apic_eoi_and_priority, 1, 30)
X2APIC_KTEST(x2apic_masked_lvt, 1, 30)
X2APIC_KTEST(x2apic_no_delivery_with_if_clear, 1, 30)
X2APIC_KTEST(x2apic_bad_writes_raise_gp, 1, 30)
X2APIC_KTEST(x2apic_mode_changes, 1, 30)
X2APIC_KTEST(x2apic_ipis, 2, 30)

/* A gKeOS VM with the x2APIC (if with_apic) running guest test gtest; fails the test if it cannot be built. */
static struct keos_vm *x2apic_vm(const char *gtest, bool with_apic, unsigned secs)
{
	char cmdline[96], why[160];
	ksnprintf(cmdline, sizeof(cmdline), "test=%s", gtest);
	struct keos_vm_config cfg = { "gKeOS", 32 * 1024, 1, cmdline, (uint64_t)secs * TIMER_HZ };
	struct keos_vm *k = keos_vm_create(&cfg, why, sizeof(why));
	if (!k)
		ktest_fail(__FILE__, __LINE__, "cannot build the guest: %s", why);
	if (with_apic)
		project4_setup_x2apic(k, NULL);
	else
		project4_test_devices = (struct project4_vm){ .k = k };
	return k;
}

KTEST(project4_x2apic_unsupported_ipi_stops_vm)
{
	struct keos_vm *k = x2apic_vm("x2apic_init_ipi_stops_vm", true, 30);
	KASSERT(keos_vm_start(k));
	keos_vm_join(k);
	enum vm_error err = vm_error(k->vm);
	char report[200];
	ksnprintf(report, sizeof(report), "%s", vm_report(k->vm));
	bool sent = guest_console_has(k, "sending an INIT IPI");
	keos_vm_destroy(k);
	project4_teardown(NULL);
	if (!sent)
		ktest_fail(__FILE__, __LINE__, "the guest never sent its INIT IPI (%s: %.120s)",
		           vm_error_name(err), report);
	if (err != VM_ERR_DEVICE || !strstr(report, "INIT IPIs are not supported"))
		ktest_fail(__FILE__, __LINE__, "an INIT IPI must stop the VM with a device error saying "
		           "'INIT IPIs are not supported'; got %s: %.120s", vm_error_name(err), report);
}


/* --- the attach contract, checked without running a guest -------------------- */

/* A VM of nvcpus vCPUs that is built but never started. */
static struct keos_vm *idle_vm(unsigned nvcpus)
{
	char why[200];
	struct keos_vm_config cfg = { "gKeOS", 32 * 1024, nvcpus, "", 0 };
	struct keos_vm *k = keos_vm_create(&cfg, why, sizeof(why));
	if (!k)
		ktest_fail(__FILE__, __LINE__, "cannot build a VM: %s", why);
	return k;
}

static const uint32_t device_msrs[] = {
	X2APIC_MSR_APIC_BASE, X2APIC_MSR_ID, X2APIC_MSR_TPR, X2APIC_MSR_EOI, X2APIC_MSR_SVR,
	X2APIC_MSR_ICR, X2APIC_MSR_LVT_TIMER, X2APIC_MSR_LVT_LINT0, X2APIC_MSR_LVT_LINT1,
	X2APIC_MSR_TSC_DEADLINE,
};

static enum vm_msr_result squat_msr(struct vcpu *v, uint32_t index, bool write, uint64_t *value, void *ctx)
{
	(void)v, (void)index, (void)write, (void)value, (void)ctx;
	return VM_MSR_OK;
}

/* The stub comment of x2apic_attach: local APIC i to vCPU i; the ten MSRs,
 * the CPUID hook and the destroy hook registered with the device as ctx;
 * dev->vm and dev->nvcpus set; a second attach refused; kev refusing a
 * registration reported as X2APIC_ERR_REGISTER, the device left unattached. */
KTEST(project4_x2apic_attach_contract)
{
	struct keos_vm *k = idle_vm(2);
	struct x2apic *dev = x2apic_new();
	KASSERT(dev != NULL);
	KASSERT_EQ(x2apic_attach(dev, k->vm), X2APIC_OK);
	KASSERT(dev->vm == k->vm);
	KASSERT_EQ(dev->nvcpus, 2);
	for (unsigned i = 0; i < 2; i++)
		if (dev->lapic[i].vcpu != k->vm->vcpus[i])
			ktest_fail(__FILE__, __LINE__, "local APIC %u does not belong to vCPU %u", i, i);
	for (size_t i = 0; i < sizeof(device_msrs) / sizeof(device_msrs[0]); i++) {
		const struct vm_msr_owner *o = vm_msr_owner(k->vm, device_msrs[i]);
		if (!o || o->handle != x2apic_msr || o->ctx != dev)
			ktest_fail(__FILE__, __LINE__, "MSR %#x is not registered to x2apic_msr with the "
			           "device as ctx", device_msrs[i]);
	}
	const struct vm_device_hooks *h = &k->vm->devices;
	bool cpuid = false, destroy = false;
	for (unsigned i = 0; i < h->ncpuid; i++)
		cpuid |= h->cpuid[i].fn == x2apic_cpuid && h->cpuid[i].ctx == dev;
	for (unsigned i = 0; i < h->ndestroy; i++)
		destroy |= h->destroy[i].fn == x2apic_stop_timers && h->destroy[i].ctx == dev;
	KASSERT(cpuid);
	KASSERT(destroy);

	/* Attached once: another VM is refused and gets nothing. */
	struct keos_vm *other = idle_vm(1);
	KASSERT_EQ(x2apic_attach(dev, other->vm), X2APIC_ERR_ATTACHED);
	KASSERT(dev->vm == k->vm);
	KASSERT_EQ(other->vm->devices.nmsrs, 0);
	keos_vm_destroy(k);
	x2apic_free(dev);

	/* kev refuses a registration (another device owns TSC_DEADLINE). */
	dev = x2apic_new();
	KASSERT(dev != NULL);
	KASSERT(vm_msr_register(other->vm, X2APIC_MSR_TSC_DEADLINE, squat_msr, NULL));
	KASSERT_EQ(x2apic_attach(dev, other->vm), X2APIC_ERR_REGISTER);
	KASSERT(dev->vm == NULL);
	keos_vm_destroy(other);
	x2apic_free(dev);
}


/* --- the locking rule: each local APIC's lock around every access ----------- */

/* CPU 1 holds local APIC 0's lock; CPU 0 then calls into the device. */
static struct {
	struct x2apic *dev;
	struct vcpu *v;
	bool callback;                /* x2apic_timer_expired, else an RDMSR of APIC_BASE */
	volatile int step;            /* 1: the lock is held; 2: the caller is in; 3: it returned */
	bool returned_while_held;     /* step 3 seen before the lock was released */
} lk;

static void lock_holder(void *arg)
{
	(void)arg;
	spin_lock(&lk.dev->lapic[0].lock);
	__atomic_store_n(&lk.step, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&lk.step, __ATOMIC_ACQUIRE) < 2)
		pause();
	/* The caller is in: while the lock is held it cannot return. A correct
	 * device passes whatever the time; a device that skips the lock gets
	 * 500 ms of TSC to show it (CPU 0 may be descheduled by the host for a
	 * few tens of ms under load). */
	uint64_t end = rdtsc() + 500 * (uint64_t)tsc_khz();
	while (rdtsc() < end && __atomic_load_n(&lk.step, __ATOMIC_ACQUIRE) < 3)
		pause();
	lk.returned_while_held = __atomic_load_n(&lk.step, __ATOMIC_ACQUIRE) == 3;
	spin_unlock(&lk.dev->lapic[0].lock);
}

static void lock_caller(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&lk.step, __ATOMIC_ACQUIRE) < 1)
		pause();
	__atomic_store_n(&lk.step, 2, __ATOMIC_RELEASE);
	uint64_t value = 0;
	if (lk.callback)
		x2apic_timer_expired(&lk.dev->lapic[0]);
	else
		x2apic_msr(lk.v, X2APIC_MSR_APIC_BASE, false, &value, lk.dev);
	__atomic_store_n(&lk.step, 3, __ATOMIC_RELEASE);
}

/* True if the call (callback or MSR access) waited for the local APIC's lock. */
static bool waits_for_lock(bool callback)
{
	lk.callback = callback;
	lk.step = 0;
	struct thread *h = thread_create_on("x2apic-lock-holder", 1, lock_holder, NULL);
	struct thread *c = thread_create_on("x2apic-lock-caller", 0, lock_caller, NULL);
	KASSERT(h && c);
	KASSERT_EQ(thread_join(h), 0);
	KASSERT_EQ(thread_join(c), 0);
	return !lk.returned_while_held;
}

/* The file's locking rule: x2apic_msr holds the local APIC's lock for the
 * whole access, and x2apic_timer_expired holds it too. Another CPU holds the
 * lock; each call must not return before it is released. */
KTEST(project4_x2apic_locking)
{
	KASSERT(ncpus >= 2);
	struct keos_vm *k = idle_vm(1);
	lk.dev = x2apic_new();
	KASSERT(lk.dev != NULL);
	KASSERT_EQ(x2apic_attach(lk.dev, k->vm), X2APIC_OK);
	lk.v = k->vm->vcpus[0];
	bool msr = waits_for_lock(false), callback = waits_for_lock(true);
	keos_vm_destroy(k);
	x2apic_free(lk.dev);
	if (!msr)
		ktest_fail(__FILE__, __LINE__, "x2apic_msr returned while another CPU held the local "
		           "APIC's lock: hold it for the whole access");
	if (!callback)
		ktest_fail(__FILE__, __LINE__, "x2apic_timer_expired returned while another CPU held the "
		           "local APIC's lock: take it in the callback");
}

/* --- the benchmark ----------------------------------------------------------------- */

struct bench_run {
	uint64_t window_exits, window_us, ticks;   /* the guest's busy window */
	struct vcpu_stats stats;                     /* the whole VM's life */
	uint64_t life_us;
};

/* The number right after key in the guest's console, or 0. */
static uint64_t console_number(struct keos_vm *k, const char *key)
{
	size_t len;
	const char *s = strstr(vm_console(k->vm, &len), key);
	uint64_t v = 0;
	if (!s)
		return 0;
	for (s += strlen(key); *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

static struct bench_run bench_once(bool with_apic)
{
	struct bench_run r = { 0 };
	struct keos_vm *k = x2apic_vm("x2apic_bench", with_apic, 120);
	uint64_t t0 = rdtsc();
	KASSERT(keos_vm_start(k));
	keos_vm_join(k);
	r.life_us = (rdtsc() - t0) * 1000 / tsc_khz();
	r.stats = k->vm->vcpus[0]->stats;
	bool ok = guest_console_has(k, "test x2apic_bench ... ok");
	r.window_exits = console_number(k, "x2apic bench: ");
	r.window_us = console_number(k, " exits in ");
	r.ticks = console_number(k, " us, ");
	keos_vm_destroy(k);
	project4_teardown(NULL);
	if (!ok || !r.window_us)
		ktest_fail(__FILE__, __LINE__, "the bench guest did not finish (x2APIC %s)", with_apic ? "on" : "off");
	return r;
}

static void print_run(const char *label, const struct bench_run *r)
{
	printk("x2apic bench: %s: %lu exits/s in the busy window (host interrupts not counted), "
	       "%lu guest ticks/s; VM life %lu ms: %lu exits, %lu host-interrupt exits, %lu injected, "
	       "%lu window exits, %lu halts\n", label, r->window_exits * 1000000 / r->window_us,
	       r->ticks * 1000000 / r->window_us, r->life_us / 1000, r->stats.exits, r->stats.intr_exits,
	       r->stats.injected, r->stats.window_exits, r->stats.halts);
}

KTEST(project4bench_x2apic)
{
	struct bench_run off = bench_once(false), on = bench_once(true);
	print_run("without the x2APIC", &off);
	print_run("with the x2APIC   ", &on);
	uint64_t per_s_on = on.window_exits * 1000000 / on.window_us;
	uint64_t per_s_off = off.window_exits * 1000000 / off.window_us;
	uint64_t extra = per_s_on > per_s_off ? per_s_on - per_s_off : 0;
	uint64_t ticks_s = on.ticks * 1000000 / on.window_us;
	uint64_t intr_on = on.stats.intr_exits * 1000000 / on.life_us;
	uint64_t intr_off = off.stats.intr_exits * 1000000 / off.life_us;
	printk("x2apic bench: the timer costs %lu exits/s at %lu ticks/s (%lu.%02lu per tick) "
	       "plus %lu host-interrupt exits/s (%lu with, %lu without)\n",
	       extra, ticks_s, ticks_s ? extra / ticks_s : 0, ticks_s ? extra * 100 / ticks_s % 100 : 0,
	       intr_on > intr_off ? intr_on - intr_off : 0, intr_on, intr_off);
}
