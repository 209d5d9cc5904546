/* The diagnosis of a VM whose vCPU thread did not come back (see vm.h, "A VM
 * that hangs"): one block per stuck vCPU, made to be read on one screen:
 *
 *   kev: vm 3 vcpu 0 is stuck inside the exit handler for VMMCALL (for 0.71 s), host interrupts off
 *     guest rip 0x10005 (guest_fn+0x5)
 *     host cpu 1, thread vm3-vcpu0: spin+0x1c <- hang_handle+0x31 <- vmexit_dispatch+0x4a <- ...
 *     last host line: svirtb: ...
 *   kev cannot free this VM while that thread runs: report, then end the machine.
 *
 * The host backtrace comes from an NMI to the vCPU's CPU (it arrives with
 * interrupts off too). If that CPU runs another thread at that moment (the
 * stuck thread was preempted, which needs interrupts on), the trace is taken
 * from the stuck thread's saved registers instead. */
#include "kev/vm.h"
#include "kev/vcpu.h"
#include "keos/arch/trap.h"
#include "keos/arch/x86.h"
#include "keos/lib/backtrace.h"
#include "keos/lib/format.h"
#include "keos/thread/hrtimer.h"
#include <string.h>

#define NMI_TIMEOUT_US 200000

struct out {
	char *buf;
	size_t size, len;
};

static void add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct out *o, const char *fmt, ...)
{
	if (o->len + 1 >= o->size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

static void add_where(struct out *o, struct vcpu *v)
{
	switch (v->run_state) {
	case VCPU_IN_HANDLER: {
		uint64_t us = hrtimer_tsc_to_us(rdtsc() - v->handler_since);
		char what[96];
		add(o, "inside the exit handler for %s", exit_code_name(v->exit.code));
		if (exit_describe(&v->exit, what, sizeof(what)) > 0)
			add(o, " (%s)", what);
		add(o, " for %lu.%02lu s", us / 1000000, us % 1000000 / 10000);
		break;
	}
	case VCPU_IN_GUEST: add(o, "running in the guest"); break;
	case VCPU_HALTED: add(o, "halted in HLT"); break;
	case VCPU_IN_HOST: add(o, "in kev's run loop between exits"); break;
	default: add(o, "starting"); break;
	}
}

/* The stuck thread's backtrace from the registers thread_switch saved
 * (keos/thread/switch.S: r15 r14 r13 r12 rbx rbp, then the return address). */
static void add_saved_backtrace(struct out *o, struct thread *t)
{
	const uint64_t *saved = (const uint64_t *)t->saved_rsp;
	char bt[480];
	backtrace_format(saved[6], saved[5], bt, sizeof(bt));
	add(o, "\n    thread %s (preempted): %s", t->name, bt);
}

static void add_host_backtrace(struct out *o, struct vcpu *v)
{
	struct cpu_snapshot snap;
	if (!cpu_backtrace(v->cpu, &snap, NMI_TIMEOUT_US)) {
		add(o, "\n    host cpu %d did not answer the NMI asking for its backtrace", v->cpu);
		return;
	}
	if (strcmp(snap.thread, v->thread->name) == 0) {
		add(o, "\n    host cpu %d, thread %s, interrupts %s: %s", v->cpu, snap.thread,
		    snap.interrupts_on ? "on" : "off", snap.backtrace);
		return;
	}
	add(o, "\n    host cpu %d runs thread %s now", v->cpu, snap.thread);
	add_saved_backtrace(o, v->thread);
}

int vm_diagnose_hang(struct vm *vm, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	if (size)
		buf[0] = '\0';
	int stuck = 0;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (!v->thread || v->run_state == VCPU_DONE)
			continue;
		if (stuck++)
			add(&o, "\n");
		uint64_t late = vm->deadline_tsc && rdtsc() > vm->deadline_tsc ?
		                hrtimer_tsc_to_us(rdtsc() - vm->deadline_tsc) : 0;
		add(&o, "kev: vm %d vcpu %u did not stop %lu.%02lu s after the deadline: ", vm->id, v->id,
		    late / 1000000, late % 1000000 / 10000);
		add_where(&o, v);
		char sym[96];
		uint64_t rip = v->run_state == VCPU_IN_HANDLER ? v->exit.rip : v->state.rip;
		vm_describe_rip(vm, rip, sym, sizeof(sym));
		add(&o, "\n    guest rip 0x%lx%s", rip, sym);
		add_host_backtrace(&o, v);
	}
	const char *line = vm_last_host_line(vm);
	add(&o, "\n    last host line: %s", line[0] ? line : "(none)");
	add(&o, "\n    kev cannot free this VM while its thread runs: report the failure, then end the machine");
	return stuck;
}
