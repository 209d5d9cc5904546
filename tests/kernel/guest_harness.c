/* The guest-test harness (see guest_harness.h). The verdict is read from the
 * guest's console as kev captured it; the host never trusts the exit status
 * alone, so a guest that exits 0 without running its test still fails. */
#include "tests/kernel/guest_harness.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include "kev/vm.h"
#include <string.h>

bool guest_console_has(struct keos_vm *k, const char *text)
{
	size_t len;
	const char *out = vm_console(k->vm, &len);
	return strstr(out, text) != NULL;
}

/* Copies the console line that contains text (without its newline) into buf. */
static bool console_line(struct keos_vm *k, const char *text, char *buf, size_t size)
{
	size_t len;
	const char *out = vm_console(k->vm, &len);
	const char *hit = strstr(out, text);
	if (!hit)
		return false;
	while (hit > out && hit[-1] != '\n')
		hit--;
	size_t n = 0;
	while (hit[n] && hit[n] != '\n' && n + 1 < size)
		n++;
	memcpy(buf, hit, n);
	buf[n] = '\0';
	return true;
}

void guest_test_run(const struct guest_run *run)
{
	char cmdline[96], why[200], expect[96], line[200];
	ksnprintf(cmdline, sizeof(cmdline), "test=%s", run->test);
	struct keos_vm_config cfg = {
		"gKeOS", run->ram_kib, run->nvcpus, cmdline, (uint64_t)run->timeout_s * TIMER_HZ,
	};
	struct keos_vm *k = keos_vm_create(&cfg, why, sizeof(why));
	if (!k)
		ktest_fail(__FILE__, __LINE__, "cannot build the guest: %s", why);
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
	enum vm_error err = vm_error(k->vm);
	ksnprintf(expect, sizeof(expect), "test %s ... ok", run->test);
	bool passed = guest_console_has(k, expect) && guest_console_has(k, "1 passed, 0 failed");
	char reason[300] = "";
	const char *why_check;
	if (err == VM_ERR_TIMEOUT)
		ksnprintf(reason, sizeof(reason), "the guest ran past its %us limit", run->timeout_s);
	else if (err != VM_ERR_NONE)
		ksnprintf(reason, sizeof(reason), "the VM stopped after %lu.%02lus: %s: %.180s",
		          took / TIMER_HZ, took % TIMER_HZ, vm_error_name(err), vm_report(k->vm));
	else if (console_line(k, " ... FAILED", line, sizeof(line)))
		ksnprintf(reason, sizeof(reason), "guest: %s", line);
	else if (console_line(k, "PANIC", line, sizeof(line)))
		ksnprintf(reason, sizeof(reason), "guest: %s", line);
	else if (!passed || status != 0)
		ksnprintf(reason, sizeof(reason), "the guest exited with status %d after %lu.%02lus without reporting '%s'",
		          status, took / TIMER_HZ, took % TIMER_HZ, expect);
	if (!reason[0] && run->check)
		if ((why_check = run->check(k, run->arg)))
			ksnprintf(reason, sizeof(reason), "%s", why_check);
	keos_vm_destroy(k);
	if (run->teardown)
		run->teardown(run->arg);
	if (reason[0])
		ktest_fail(__FILE__, __LINE__, "%s", reason);
	printk("guest test %s passed in %lu.%02lus\n", run->test, took / TIMER_HZ, took % TIMER_HZ);
}
