/* Console rate limits of a VM (see console_limit.h).
 *
 * The generic cell rate algorithm: time is counted in 1/rate ticks, so one
 * line "costs" TIMER_HZ units and a budget of burst lines is burst * TIMER_HZ
 * units of credit. tat is the time at which all the lines let through so far
 * would have drained at rate a second; a line fits if, after adding its cost,
 * tat is at most one full budget ahead of now. */
#include "kev/console_limit.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/thread/thread.h"
#include <string.h>

bool line_budget_take(struct line_budget *b, unsigned burst, unsigned rate, unsigned cost,
                      uint64_t now, uint64_t *unreported)
{
	if (cost > burst)
		cost = burst;            /* one huge printk costs a full budget, not forever */
	uint64_t now_u = now * rate, limit = (uint64_t)burst * TIMER_HZ;
	uint64_t old = __atomic_load_n(&b->tat, __ATOMIC_RELAXED), next;
	do {
		uint64_t start = old > now_u ? old : now_u;
		next = start + (uint64_t)cost * TIMER_HZ;
		if (next - now_u > limit) {
			__atomic_add_fetch(&b->dropped, cost, __ATOMIC_RELAXED);
			__atomic_add_fetch(&b->unreported, cost, __ATOMIC_RELAXED);
			return false;
		}
	} while (!__atomic_compare_exchange_n(&b->tat, &old, next, false, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	__atomic_add_fetch(&b->printed, cost, __ATOMIC_RELAXED);
	*unreported = 0;
	uint64_t due = __atomic_load_n(&b->next_notice, __ATOMIC_RELAXED);
	if (__atomic_load_n(&b->unreported, __ATOMIC_RELAXED) && now >= due &&
	    __atomic_compare_exchange_n(&b->next_notice, &due, now + TIMER_HZ, false,
	                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		*unreported = __atomic_exchange_n(&b->unreported, 0, __ATOMIC_RELAXED);
	}
	return true;
}

uint64_t line_budget_unreported(struct line_budget *b)
{
	return __atomic_exchange_n(&b->unreported, 0, __ATOMIC_RELAXED);
}

/* The notices, printed past the hook: kev accounts for them itself. */
static void guest_notice(struct vm *vm, uint64_t dropped)
{
	__atomic_add_fetch(&vm->console.guest_lines.notices, 1, __ATOMIC_RELAXED);
	printk_unhooked("[guest %d] kev: %lu console lines dropped (more than %u a second)\n",
	                vm->id, dropped, KEV_GUEST_LINES_PER_SEC);
}

static void host_notice(struct vm *vm, uint64_t dropped)
{
	__atomic_add_fetch(&vm->console.host_lines.notices, 1, __ATOMIC_RELAXED);
	printk_unhooked("kev: vm %d: %lu lines printed by host code for this VM were dropped "
	                "(more than %u a second)\n", vm->id, dropped, KEV_HOST_LINES_PER_SEC);
}

/* --- host lines: the hook on each vCPU thread ------------------------------------ */

/* Keeps the last line of text (without its newline) as the VM's last host line. */
static void record_last_line(struct vm *vm, const char *text)
{
	size_t end = strlen(text);
	while (end && text[end - 1] == '\n')
		end--;
	size_t start = end;
	while (start && text[start - 1] != '\n')
		start--;
	size_t n = end - start;
	if (n > sizeof(vm->last_host_line) - 1)
		n = sizeof(vm->last_host_line) - 1;
	uint32_t *lock = &vm->console.last_line_lock;
	bool on = intr_save();
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		pause();
	memcpy(vm->last_host_line, text + start, n);
	vm->last_host_line[n] = '\0';
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
	intr_restore(on);
}

/* True if text is this vCPU's own stop report (vcpu_fail's prefix). */
static bool is_stop_report(struct vcpu *v, const char *text)
{
	char prefix[48];
	int n = ksnprintf(prefix, sizeof(prefix), "kev: vm %d vcpu %u: ", v->vm->id, v->id);
	return n > 0 && (size_t)n < sizeof(prefix) && !strncmp(text, prefix, (size_t)n);
}

static bool host_line_admit(struct console_hook *hook, const char *text, size_t len)
{
	struct vcpu *v = ((struct kev_console_hook *)hook)->vcpu;
	struct vm *vm = v->vm;
	struct line_budget *b = &vm->console.host_lines;
	if (is_stop_report(v, text)) {
		__atomic_add_fetch(&b->forced, 1, __ATOMIC_RELAXED);
		return true;
	}
	record_last_line(vm, text);
	uint64_t unreported;
	unsigned cost = 1 + (unsigned)(len / KEV_SERIAL_LINE);
	if (!line_budget_take(b, KEV_HOST_LINES_BURST, KEV_HOST_LINES_PER_SEC, cost, timer_ticks(),
	                      &unreported))
		return false;
	if (unreported)
		host_notice(vm, unreported);
	return true;
}

void kev_console_attach(struct vcpu *v)
{
	struct thread *t = thread_current();
	if (t->console_hook == &v->console_hook.hook)
		return;
	v->console_hook = (struct kev_console_hook){ { host_line_admit }, v };
	t->console_hook = &v->console_hook.hook;
}

/* --- guest lines ---------------------------------------------------------------------- */

bool kev_console_guest_line(struct vm *vm)
{
	uint64_t unreported;
	if (!line_budget_take(&vm->console.guest_lines, KEV_GUEST_LINES_BURST,
	                      KEV_GUEST_LINES_PER_SEC, 1, timer_ticks(), &unreported))
		return false;
	if (unreported)
		guest_notice(vm, unreported);
	return true;
}

void kev_console_flush_notices(struct vm *vm)
{
	uint64_t guest = line_budget_unreported(&vm->console.guest_lines);
	uint64_t host = line_budget_unreported(&vm->console.host_lines);
	if (guest)
		guest_notice(vm, guest);
	if (host)
		host_notice(vm, host);
}
