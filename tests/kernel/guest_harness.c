/* The guest-test harness (see guest_harness.h). The verdict is read from the
 * guest's console as kev captured it; the host never trusts the exit status
 * alone, so a guest that exits 0 without running its test still fails.
 *
 * A failure is explained on the host console before the test fails, one
 * "reason: " line per line of explanation, uncut: the guest's own failing
 * check ("file:line: message", from the guest's "test NAME ... FAILED: "
 * line), or the VM's report (which kev writes when it stops a VM: a timeout,
 * a triple fault, ...), with the time the guest ran. grader/run_test.sh shows
 * exactly these lines; a reason that starts "the VM ran past its" is graded
 * as a timeout there. The test's own failure message repeats the first
 * reason line (the kernel test runner shortens it).
 *
 * The VM deadline is the test's own unless the host's command line says
 * "vm_deadline=SECONDS": then the VM is stopped that many seconds after the
 * host kernel started (the grader sets it from the rubric's limit). A VM
 * that kev reports stuck (a vCPU that never came back from a device call,
 * vm_is_stuck) is not destroyed: its vCPU still runs on the memory
 * destroy would free. The test fails and QEMU's own limit ends the run. */
#include "tests/kernel/guest_harness.h"
#include "keos/boot/boot.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include "kev/vm.h"
#include <stdarg.h>
#include <string.h>

bool guest_console_has(struct keos_vm *k, const char *text)
{
	size_t len;
	const char *out = vm_console(k->vm, &len);
	return strstr(out, text) != NULL;
}

/* The console line that contains text: its start, and its length (without
 * the newline) in *n. NULL if no line does. */
static const char *console_line(struct keos_vm *k, const char *text, size_t *n)
{
	size_t len;
	const char *out = vm_console(k->vm, &len);
	const char *hit = strstr(out, text);
	if (!hit)
		return NULL;
	while (hit > out && hit[-1] != '\n')
		hit--;
	*n = 0;
	while (hit[*n] && hit[*n] != '\n' && hit[*n] != '\r')
		(*n)++;
	return hit;
}

/* The explanation of one failed run: printed as it is found, the first line kept. */
struct why {
	char first[160];
};

static void why_line(struct why *w, const char *text, size_t n)
{
	printk("reason: %.*s\n", (int)n, text);
	if (!w->first[0])
		ksnprintf(w->first, sizeof(w->first), "%.*s", (int)n, text);
}

static void __attribute__((format(printf, 2, 3))) why_printf(struct why *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	why_line(w, line, strlen(line));
}

/* Each non-empty line of text (kev's report may have several). */
static void why_lines(struct why *w, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		if (n > 0)
			why_line(w, text, n);
		text += n + (text[n] == '\n');
	}
}

/* The VM's time in ticks: the test's own, or, when the host's command line
 * says "vm_deadline=N", what is left until N seconds after the host kernel
 * started (the grader gives N a little under QEMU's limit, so however long
 * the boot took, kev stops the VM and the reason is out before QEMU is
 * killed); at least a second. */
static uint64_t deadline_ticks(unsigned own_seconds)
{
	const char *p = strstr(boot_cmdline(), "vm_deadline=");
	if (!p)
		return (uint64_t)own_seconds * TIMER_HZ;
	uint64_t by = 0;
	for (p += strlen("vm_deadline="); *p >= '0' && *p <= '9'; p++)
		by = by * 10 + (uint64_t)(*p - '0');
	uint64_t now = timer_ticks();
	return by * TIMER_HZ > now + TIMER_HZ ? by * TIMER_HZ - now : TIMER_HZ;
}

/* Explains a failed run in w; false if the run passed. */
static bool explain_failure(struct why *w, struct keos_vm *k, const struct guest_run *run,
                            uint64_t deadline, int status, uint64_t took)
{
	static const char failed[] = " ... FAILED: ";
	char expect[96];
	size_t n;
	const char *line;
	enum vm_error err = vm_error(k->vm);
	ksnprintf(expect, sizeof(expect), "test %s ... ok", run->test);
	unsigned long secs = took / TIMER_HZ, cents = took % TIMER_HZ;

	if (err == VM_ERR_TIMEOUT) {
		why_printf(w, "the VM ran past its deadline (%lu.%02lus); kev's report follows",
		           deadline / TIMER_HZ, deadline % TIMER_HZ);
		why_lines(w, vm_report(k->vm));
	} else if (err != VM_ERR_NONE) {
		why_printf(w, "the VM stopped after %lu.%02lus: %s; kev's report follows", secs, cents,
		           vm_error_name(err));
		why_lines(w, vm_report(k->vm));
	} else if ((line = console_line(k, failed, &n))) {
		const char *check = strstr(line, failed) + strlen(failed);
		why_line(w, check, n - (size_t)(check - line));
	} else if ((line = console_line(k, "PANIC", &n))) {
		why_printf(w, "the guest panicked: %.*s", (int)n, line);
	} else if (!guest_console_has(k, expect) || !guest_console_has(k, "1 passed, 0 failed") ||
	           status != 0) {
		why_printf(w, "the guest exited with status %d after %lu.%02lus without reporting '%s'",
		           status, secs, cents, expect);
	} else {
		return false;
	}
	return true;
}

void guest_test_run(const struct guest_run *run)
{
	char cmdline[96], buildwhy[200];
	uint64_t deadline = deadline_ticks(run->timeout_s);
	ksnprintf(cmdline, sizeof(cmdline), "test=%s", run->test);
	struct keos_vm_config cfg = {
		"gKeOS", run->ram_kib, run->nvcpus, cmdline, deadline,
	};
	struct keos_vm *k = keos_vm_create(&cfg, buildwhy, sizeof(buildwhy));
	if (!k)
		ktest_fail(__FILE__, __LINE__, "cannot build the guest: %s", buildwhy);
	if (run->setup)
		run->setup(k, run->arg);
	uint64_t start = timer_ticks();
	if (!keos_vm_start(k)) {
		keos_vm_destroy(k);
		if (run->teardown)
			run->teardown(run->arg);
		ktest_fail(__FILE__, __LINE__, "cannot start the guest");
	}
	int status = keos_vm_join(k);
	uint64_t took = timer_ticks() - start;
	struct why w = { "" };
	bool failed = explain_failure(&w, k, run, deadline, status, took);
	if (vm_is_stuck(k->vm))
		ktest_fail(__FILE__, __LINE__, "a vCPU is stuck in the host; the VM is left to QEMU's limit: %s",
		           w.first);
	const char *why_check;
	if (!failed && run->check && (why_check = run->check(k, run->arg))) {
		why_printf(&w, "%s", why_check);
		failed = true;
	}
	keos_vm_destroy(k);
	if (run->teardown)
		run->teardown(run->arg);
	if (failed)
		ktest_fail(__FILE__, __LINE__, "%s", w.first);
	printk("guest test %s passed in %lu.%02lus\n", run->test, took / TIMER_HZ, took % TIMER_HZ);
}
