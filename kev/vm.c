/* The VM builder and the VM's lifetime (see vm.h).
 *
 * Locking: vm->lock protects the outcome (stopping, status, error, report),
 * the serial console and the set of started vCPU threads; vm->npt_lock
 * protects the nested table. A vCPU thread reads vm->stopping without the
 * lock at each exit: once set it never clears, and the worst a stale read
 * costs is one more trip into the guest.
 *
 * Lifetime: vm_create -> (load, pin, add controllers) -> vm_run -> vm_join ->
 * vm_destroy. vm_join returns only when every started vCPU thread has ended,
 * so vm_destroy never frees what a vCPU still uses; or, past the deadline,
 * when a thread is stuck in a handler: then the VM is marked stuck and
 * vm_destroy leaves it alone.
 *
 * Stopping: vm_stop and vm_exit_with kick every vCPU (an IPI out of the
 * guest, a wake-up out of HLT), so each sees `stopping` at once. vm_join
 * sleeps on join_wq until every started vCPU has left its loop; with a
 * deadline it also arms one timer per CPU for the deadline plus the grace,
 * so that it wakes even if the CPU it armed from is the one a handler keeps
 * busy with interrupts off. */
#include "kev/vm.h"
#include "kev/vcpu.h"
#include "kev/svm.h"
#include "kev/vmcb.h"
#include "kev/probe.h"
#include "keos/dev/lapic.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/thread/thread.h"
#include <string.h>

static int next_vm_id = 1;

/* Guest RAM: every page allocated and mapped now, or (lazy) only the page
 * array, for a pager that maps pages on first touch (vm->npt_miss and a #NPF
 * controller; project3). vm_destroy frees whatever pages ram[] holds. */
static bool map_ram(struct vm *vm, bool lazy)
{
	vm->ram = kzalloc(vm->ram_pages * sizeof(void *));
	if (!vm->ram)
		return false;
	for (size_t i = 0; !lazy && i < vm->ram_pages; i++) {
		vm->ram[i] = page_alloc();
		if (!vm->ram[i])
			return false;
		if (ept_map(&vm->npt, i * GUEST_PAGE_SIZE, virt_to_phys(vm->ram[i]), EPT_PERM_RWX) != EPT_OK)
			return false;
	}
	return true;
}

static struct vm *create(unsigned nvcpus, uint64_t ram_bytes, bool lazy)
{
	svm_init();
	if (nvcpus == 0 || nvcpus > KEV_MAX_VCPUS || ram_bytes == 0 || ram_bytes > KEV_MAX_RAM)
		return NULL;
	struct vm *vm = kzalloc(sizeof(*vm));
	if (!vm)
		return NULL;
	vm->id = __atomic_fetch_add(&next_vm_id, 1, __ATOMIC_RELAXED);
	spinlock_init(&vm->lock, "vm");
	spinlock_init(&vm->npt_lock, "vm-npt");
	waitq_init(&vm->join_wq);
	vm->probe.vm = vm;
	vm->ram_bytes = (ram_bytes + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1);
	vm->ram_pages = vm->ram_bytes / GUEST_PAGE_SIZE;
	vm->asid = svm_asid_alloc();
	if (!vm->asid || ept_init(&vm->npt) != EPT_OK || !map_ram(vm, lazy))
		goto fail;
	for (unsigned i = 0; i < nvcpus; i++) {
		vm->vcpus[i] = vcpu_create(vm, i);
		if (!vm->vcpus[i])
			goto fail;
		vm->vcpus[i]->cpu = (int)(i % (unsigned)ncpus);
		vm->nvcpus++;
	}
	struct vmexit_controller *builtin[] = {
		&vmexit_cpuid_controller, &vmexit_msr_controller, &vmexit_pio_controller,
		&vmexit_hypercall_controller, &vmexit_hlt_controller,
		&vmexit_dr_controller, &vmexit_feature_insn_controller,
	};
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		vm->controllers[vm->ncontrollers++] = builtin[i];
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

struct vm *vm_create(unsigned nvcpus, uint64_t ram_bytes)
{
	return create(nvcpus, ram_bytes, false);
}

struct vm *vm_create_lazy(unsigned nvcpus, uint64_t ram_bytes)
{
	return create(nvcpus, ram_bytes, true);
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->stuck) {
		printk("kev: vm %d is not freed: a vCPU thread is stuck in it (see its report)\n", vm->id);
		return;
	}
	if (vm->running)
		panic("kev: vm_destroy of vm %d, which is running (vm_join first)", vm->id);
	vm_run_destroy_hooks(vm);   /* devices stop their timers before the vCPUs go */
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	if (vm->ram) {
		for (size_t i = 0; i < vm->ram_pages; i++)
			if (vm->ram[i])
				page_free(vm->ram[i]);
		kfree(vm->ram);
	}
	ept_destroy(&vm->npt);
	if (vm->asid)
		svm_asid_free(vm->asid);
	kfree(vm);
}

bool vm_load(struct vm *vm, gpa_t gpa, const void *image, size_t size)
{
	return probe_write(&vm->probe, gpa, image, size);
}

/* The identity map of the flat boot, in guest RAM (layout in vm.h). */
static bool build_flat_tables(struct vm *vm)
{
	const uint64_t P = 1, W = 2, PS = 0x80;
	uint64_t e = KEV_FLAT_PDPT_GPA | P | W;
	if (!probe_write(&vm->probe, KEV_FLAT_PML4_GPA, &e, sizeof(e)))
		return false;
	for (uint64_t gib = 0; gib < KEV_FLAT_MAP_BYTES >> 30; gib++) {
		gpa_t pd = KEV_FLAT_PD_GPA + gib * GUEST_PAGE_SIZE;
		e = pd | P | W;
		if (!probe_write(&vm->probe, KEV_FLAT_PDPT_GPA + gib * 8, &e, sizeof(e)))
			return false;
		uint64_t entries[512];
		for (int i = 0; i < 512; i++)
			entries[i] = ((gib << 30) + ((uint64_t)i << 21)) | P | W | PS;
		if (!probe_write(&vm->probe, pd, entries, sizeof(entries)))
			return false;
	}
	static const uint64_t gdt[] = { 0, 0x00af9a000000ffffull, 0x00cf92000000ffffull };
	return probe_write(&vm->probe, KEV_FLAT_GDT_GPA, gdt, sizeof(gdt));
}

bool vm_load_flat64(struct vm *vm, const void *image, size_t size)
{
	if (vm->ram_bytes < KEV_FLAT_LOAD_GPA + size + GUEST_PAGE_SIZE)
		return false;
	if (!build_flat_tables(vm) || !vm_load(vm, KEV_FLAT_LOAD_GPA, image, size))
		return false;
	struct vcpu *v = vm->vcpus[0];
	vcpu_set_long_mode(v, KEV_FLAT_PML4_GPA, KEV_FLAT_GDT_GPA, 3 * 8 - 1, KEV_FLAT_LOAD_GPA,
	                   vm->ram_bytes);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i]->vmcb->control.intercept_exceptions = 0xffffffffu;
	return true;
}

void vm_pin_vcpu(struct vm *vm, unsigned id, int cpu)
{
	if (id >= vm->nvcpus || cpu < 0 || cpu >= ncpus)
		panic("kev: cannot pin vcpu %u of vm %d to cpu %d", id, vm->id, cpu);
	if (vm->vcpus[id]->thread)
		panic("kev: vcpu %u of vm %d is already running", id, vm->id);
	vm->vcpus[id]->cpu = cpu;
}

bool vm_add_controller(struct vm *vm, struct vmexit_controller *ctl)
{
	if (vm->ncontrollers == KEV_MAX_CONTROLLERS)
		return false;
	vm->controllers[vm->ncontrollers++] = ctl;
	return true;
}

void vm_set_timeout(struct vm *vm, uint64_t ticks)
{
	vm->timeout_ticks = ticks;
}

bool vm_run(struct vm *vm)
{
	spin_lock(&vm->lock);
	if (vm->running || vm->vcpus[0]->thread) {
		spin_unlock(&vm->lock);
		panic("kev: vm %d is already running", vm->id);
	}
	vm->running = true;
	if (vm->timeout_ticks)
		vm->deadline_tsc = rdtsc() + vm->timeout_ticks * tsc_khz() * 1000 / TIMER_HZ;
	bool ok = vcpu_start(vm->vcpus[0]);
	if (!ok)
		vm->running = false;
	spin_unlock(&vm->lock);
	return ok;
}

bool vm_start_vcpu(struct vm *vm, unsigned id, const struct vcpu *from, uint64_t rip, uint64_t rsp)
{
	spin_lock(&vm->lock);
	struct vcpu *v = id < vm->nvcpus ? vm->vcpus[id] : NULL;
	if (!v || v->thread || vm->stopping || !vm->running) {
		spin_unlock(&vm->lock);
		return false;
	}
	const struct vmcb_save_area *fs = &from->vmcb->save;
	struct vmcb_save_area *s = &v->vmcb->save;
	s->cs = fs->cs, s->ds = fs->ds, s->es = fs->es, s->ss = fs->ss, s->fs = fs->fs, s->gs = fs->gs;
	s->gdtr = fs->gdtr, s->idtr = fs->idtr, s->tr = fs->tr, s->ldtr = fs->ldtr;
	s->cpl = fs->cpl;
	s->g_pat = fs->g_pat;
	v->vmcb->control.intercept_exceptions = from->vmcb->control.intercept_exceptions;
	v->state.cr0 = from->state.cr0;
	v->state.cr3 = from->state.cr3;
	v->state.cr4 = from->state.cr4;
	v->state.efer = from->state.efer;
	v->state.rflags = 2;
	v->state.rip = rip;
	v->state.gpr[GPR_RSP] = rsp;
	bool ok = vcpu_start(v);
	spin_unlock(&vm->lock);
	return ok;
}

static bool all_left(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i]->thread && vm->vcpus[i]->run_state != VCPU_DONE)
			return false;
	return true;
}

void vm_vcpu_left(struct vcpu *v)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	__atomic_store_n(&v->run_state, VCPU_DONE, __ATOMIC_SEQ_CST);
	waitq_wake_all(&vm->join_wq);
	spin_unlock(&vm->lock);
}

static void join_timer_fired(void *arg)
{
	struct vm *vm = arg;
	spin_lock(&vm->lock);
	waitq_wake_all(&vm->join_wq);
	spin_unlock(&vm->lock);
}

/* Sleeps until every started vCPU has left its loop or give_up (a TSC value,
 * 0: never) passes; true if they all left. */
static bool wait_for_vcpus(struct vm *vm, uint64_t give_up)
{
	if (give_up)
		for (int c = 0; c < ncpus; c++)
			hrtimer_start_on(c, &vm->join_timers[c], give_up, join_timer_fired, vm);
	spin_lock(&vm->lock);
	while (!all_left(vm) && !(give_up && rdtsc() >= give_up))
		waitq_wait(&vm->join_wq, &vm->lock);
	bool left = all_left(vm);
	spin_unlock(&vm->lock);
	if (give_up)
		for (int c = 0; c < ncpus; c++)
			hrtimer_cancel(&vm->join_timers[c]);
	return left;
}

/* The report of a VM some of whose vCPU threads never came back. */
static void record_hang(struct vm *vm)
{
	char *diag = kmalloc(KEV_REPORT_SIZE);
	if (!diag) {
		vm_stop(vm, VM_ERR_TIMEOUT, "kev: a vCPU thread is stuck (no memory for the diagnosis)");
		return;
	}
	vm_diagnose_hang(vm, diag, KEV_REPORT_SIZE);
	vm_stop(vm, VM_ERR_TIMEOUT, diag);
	spin_lock(&vm->lock);
	if (vm->error == VM_ERR_NONE || vm->error == VM_ERR_TIMEOUT) {
		/* The diagnosis says more than "still running at its deadline". */
		vm->error = VM_ERR_TIMEOUT;
		vm->exit_status = -1;
		ksnprintf(vm->report, sizeof(vm->report), "%s", diag);
	} else {
		size_t n = strlen(vm->report);
		ksnprintf(vm->report + n, sizeof(vm->report) - n, "\n%s", diag);
	}
	vm->stuck = true;
	spin_unlock(&vm->lock);
	printk("%s\n", diag);
	kfree(diag);
}

/* Names the symbol of each timed-out vCPU's RIP in the report, now that the
 * vCPU threads are back (see struct vcpu's timed_out). */
static void name_timeout_rips(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (!v->timed_out)
			continue;
		v->timed_out = false;
		char sym[96];
		vm_describe_rip(vm, v->timeout_rip, sym, sizeof(sym));
		if (!sym[0])
			continue;
		spin_lock(&vm->lock);
		size_t n = strlen(vm->report);
		ksnprintf(vm->report + n, sizeof(vm->report) - n, "\n    guest rip 0x%lx%s", v->timeout_rip, sym);
		spin_unlock(&vm->lock);
	}
}

int vm_join(struct vm *vm)
{
	uint64_t give_up = 0;
	if (vm->deadline_tsc)
		give_up = vm->deadline_tsc + (uint64_t)KEV_STUCK_GRACE_MS * tsc_khz();
	if (!wait_for_vcpus(vm, vm->stuck ? 0 : give_up)) {
		if (!vm->stuck)
			record_hang(vm);
		return -1;
	}
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i]->thread)
			thread_join(vm->vcpus[i]->thread);
	pio_serial_flush(vm);
	name_timeout_rips(vm);
	spin_lock(&vm->lock);
	vm->running = false;
	vm->stuck = false;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i]->thread = NULL;
	spin_unlock(&vm->lock);
	return vm->exit_status;
}

bool vm_is_stuck(const struct vm *vm)
{
	return vm->stuck;
}

void vm_describe_rip(struct vm *vm, uint64_t rip, char *buf, size_t size)
{
	char name[80];
	if (size)
		buf[0] = '\0';
	if (vm->describe_rip && vm->describe_rip(vm, rip, name, sizeof(name)))
		ksnprintf(buf, size, " (%s)", name);
}

/* Makes every started vCPU notice that the VM stops. */
static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i]->thread)
			vcpu_kick(vm->vcpus[i]);
}

void vm_exit_with(struct vm *vm, int status)
{
	spin_lock(&vm->lock);
	if (!vm->stopping) {
		vm->exit_status = status;
		vm->error = VM_ERR_NONE;
		__atomic_store_n(&vm->stopping, true, __ATOMIC_SEQ_CST);
	}
	spin_unlock(&vm->lock);
	kick_all(vm);
}

void vm_stop(struct vm *vm, enum vm_error err, const char *report)
{
	spin_lock(&vm->lock);
	if (!vm->stopping) {
		vm->error = err;
		vm->exit_status = -1;
		ksnprintf(vm->report, sizeof(vm->report), "%s", report);
		__atomic_store_n(&vm->stopping, true, __ATOMIC_SEQ_CST);
	}
	spin_unlock(&vm->lock);
	kick_all(vm);
}

bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

bool vm_past_deadline(const struct vm *vm)
{
	return vm->deadline_tsc && rdtsc() >= vm->deadline_tsc;
}

enum vm_error vm_error(const struct vm *vm)
{
	return vm->error;
}

const char *vm_error_name(enum vm_error err)
{
	switch (err) {
	case VM_ERR_NONE: return "none";
	case VM_ERR_UNHANDLED_EXIT: return "unhandled exit";
	case VM_ERR_BAD_GUEST_ACCESS: return "bad guest access";
	case VM_ERR_DECODE: return "undecodable instruction";
	case VM_ERR_NO_MEMORY: return "out of memory";
	case VM_ERR_DEVICE: return "device error";
	case VM_ERR_TRIPLE_FAULT: return "triple fault";
	case VM_ERR_TIMEOUT: return "timeout";
	case VM_ERR_HOST_FAULT: return "host fault";
	}
	return "unknown error";
}

const char *vm_report(const struct vm *vm)
{
	return vm->report;
}

const char *vm_console(const struct vm *vm, size_t *len)
{
	if (len)
		*len = vm->serial.capture_len;
	return vm->serial.capture;
}

enum ept_mapping_error vm_npt_map(struct vm *vm, gpa_t gpa, void *page, unsigned perm)
{
	spin_lock(&vm->npt_lock);
	enum ept_mapping_error err = ept_map(&vm->npt, gpa, virt_to_phys(page), perm);
	spin_unlock(&vm->npt_lock);
	return err;
}

enum ept_mapping_error vm_npt_unmap(struct vm *vm, gpa_t gpa, void **page)
{
	hpa_t hpa;
	spin_lock(&vm->npt_lock);
	enum ept_mapping_error err = ept_unmap(&vm->npt, gpa, &hpa);
	spin_unlock(&vm->npt_lock);
	if (err != EPT_OK)
		return err;
	__atomic_add_fetch(&vm->npt_generation, 1, __ATOMIC_RELEASE);
	if (page)
		*page = phys_to_virt(hpa);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		__atomic_store_n(&vm->vcpus[i]->flush_tlb, true, __ATOMIC_RELEASE);
	return EPT_OK;
}

const char *vm_last_host_line(const struct vm *vm)
{
	return vm->last_host_line;
}
