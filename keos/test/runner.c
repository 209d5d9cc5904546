/* The test runner: keos_main of every test kernel.
 *
 * Each test runs in a fresh thread whose on_fail hook records the failure
 * and ends the thread, so the runner survives assertion failures, panics and
 * exceptions in the test. A test also fails if it leaves pages or heap
 * blocks allocated (compared before and after, once its thread is freed).
 *
 * The command line selects tests: "test=NAME" runs one test, "test=PREFIX*"
 * those that start with PREFIX. Without a selection every test runs but
 * the opt-in groups listed in opt_in_prefixes. */
#include "keos/test/ktest.h"
#include "keos/boot/boot.h"
#include "keos/dev/qemu_exit.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/thread/thread.h"
#include <stdarg.h>
#include <string.h>

extern const struct ktest __ktests_start[], __ktests_end[];

struct failure {
	bool failed;
	char reason[200];
};

static void record_failure(const char *file, int line, const char *msg)
{
	struct failure *f = thread_current()->fail_ctx;
	if (!f->failed) {
		f->failed = true;
		ksnprintf(f->reason, sizeof(f->reason), "%s:%d: %s", file, line, msg);
	}
	thread_exit(1);
}

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	thread_fail_current(file, line, msg);
	panic("ktest_fail outside a test: %s:%d: %s", file, line, msg);
}

struct panic_probe {
	void (*fn)(void *);
	void *arg;
	struct failure f;
};

static void panic_probe_thread(void *arg)
{
	struct panic_probe *p = arg;
	p->fn(p->arg);
}

bool ktest_expect_panic(void (*fn)(void *), void *arg, char *msg, size_t msg_size)
{
	struct panic_probe p = { .fn = fn, .arg = arg };
	struct thread *t = thread_create_full("panic-probe", -1, panic_probe_thread, &p,
	                                      record_failure, &p.f);
	if (!t)
		ktest_fail(__FILE__, __LINE__, "no memory for a thread");
	thread_join(t);
	if (msg && msg_size)
		ksnprintf(msg, msg_size, "%s", p.f.reason);
	return p.f.failed;
}

static void test_thread(void *arg)
{
	const struct ktest *t = arg;
	t->fn();
}

/* Tests that run only when the command line selects them: deliberate
 * failures that check this runner, and tests that need a disk image
 * attached (tools/run_kernel_tests.sh --drive, mk/storage.mk). */
static const char *const opt_in_prefixes[] = {
	"selftest_", "storage_", "storagebad_", "project3_", "project3bad_", "project4_",
	"project4bench_", "project4hostile_",
};

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool selected(const char *name, const char *filter)
{
	if (!filter) {
		for (size_t i = 0; i < sizeof(opt_in_prefixes) / sizeof(opt_in_prefixes[0]); i++)
			if (starts_with(name, opt_in_prefixes[i]))
				return false;
		return true;
	}
	size_t n = strlen(filter);
	if (n && filter[n - 1] == '*')
		return strncmp(name, filter, n - 1) == 0;
	return strcmp(name, filter) == 0;
}

/* The value of "test=" on the command line, copied into buf; NULL if absent. */
static const char *test_filter(const char *cmdline, char *buf, size_t size)
{
	for (const char *p = cmdline; *p; p++) {
		if ((p == cmdline || p[-1] == ' ') && !strncmp(p, "test=", 5)) {
			p += 5;
			size_t n = 0;
			while (p[n] && p[n] != ' ' && n + 1 < size)
				n++;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

static bool run_one(const struct ktest *t)
{
	struct failure f = { 0 };
	size_t pages = page_free_count(), blocks = kmalloc_live_count();
	struct thread *th = thread_create_full(t->name, -1, test_thread, (void *)t,
	                                       record_failure, &f);
	if (!th) {
		printk("test %s ... FAILED: no memory for the test thread\n", t->name);
		return false;
	}
	thread_join(th);
	if (!f.failed && kmalloc_live_count() != blocks)
		ksnprintf(f.reason, sizeof(f.reason), "%s: leaked %ld heap block(s)", t->file,
		          (long)(kmalloc_live_count() - blocks)), f.failed = true;
	if (!f.failed && page_free_count() != pages)
		ksnprintf(f.reason, sizeof(f.reason), "%s: leaked %ld page(s)", t->file,
		          (long)(pages - page_free_count())), f.failed = true;
	if (f.failed)
		printk("test %s ... FAILED: %s\n", t->name, f.reason);
	else
		printk("test %s ... ok\n", t->name);
	return !f.failed;
}

void keos_main(const char *cmdline)
{
	char buf[64];
	const char *filter = test_filter(cmdline, buf, sizeof(buf));
	int total = 0, passed = 0;
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
		total += selected(t->name, filter);
	printk("running %d test%s\n", total, total == 1 ? "" : "s");
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
		if (selected(t->name, filter))
			passed += run_one(t);
	printk("%d passed, %d failed\n", passed, total - passed);
	qemu_exit(total > 0 && passed == total ? KEOS_EXIT_SUCCESS : KEOS_EXIT_FAILURE);
}
