/* printk and panic.
 *
 * A whole printk call goes out under the console lock, so lines from
 * different CPUs never mix mid-line. The lock is taken with a bounded spin:
 * a CPU that panics while another (or itself) holds the lock still gets its
 * message out rather than deadlocking in the panic path.
 *
 * A thread with a console hook (printk.h) has each printk call formatted
 * twice: first the start of the text into a small buffer for the hook to
 * judge, then, if admitted, the whole text to the console. The hook is asked
 * before the console lock is taken, so it may print (unhooked) itself. */
#include "keos/lib/printk.h"
#include "keos/lib/format.h"
#include "keos/lib/backtrace.h"
#include "keos/dev/serial.h"
#include "keos/dev/qemu_exit.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"

static volatile uint32_t console_locked;

static void console_lock(void)
{
	for (long spins = 0; spins < 50000000; spins++) {
		if (!__atomic_exchange_n(&console_locked, 1, __ATOMIC_ACQUIRE))
			return;
		pause();
	}
}

static void console_unlock(void)
{
	__atomic_store_n(&console_locked, 0, __ATOMIC_RELEASE);
}

static void console_putc(char c, void *arg)
{
	(void)arg;
	serial_putc(c);
}

static int write_console(const char *fmt, va_list ap)
{
	bool on = intr_save();
	console_lock();
	int n = format_v(console_putc, NULL, fmt, ap);
	console_unlock();
	intr_restore(on);
	return n;
}

/* The calling thread's hook; NULL before the scheduler runs (no thread yet).
 * Interrupts are off while the CPU's current thread is read, so a thread
 * preempted and moved meanwhile never reads another thread's hook. */
static struct console_hook *current_hook(void)
{
	bool on = intr_save();
	struct thread *t = thread_current();
	struct console_hook *hook = t ? t->console_hook : NULL;
	intr_restore(on);
	return hook;
}

int vprintk(const char *fmt, va_list ap)
{
	struct console_hook *hook = current_hook();
	if (hook) {
		char peek[CONSOLE_HOOK_PEEK];
		va_list again;
		va_copy(again, ap);
		int len = kvsnprintf(peek, sizeof(peek), fmt, again);
		va_end(again);
		if (!hook->admit(hook, peek, len > 0 ? (size_t)len : 0))
			return len;
	}
	return write_console(fmt, ap);
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}

int printk_unhooked(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = write_console(fmt, ap);
	va_end(ap);
	return n;
}

void console_hook_drop_current(void)
{
	struct thread *t = thread_current();
	if (t)
		t->console_hook = NULL;
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli();
	console_hook_drop_current();
	struct cpu *c = cpu_current();
	printk("PANIC on cpu %d at %s:%d: %s\n", c ? c->id : -1, file, line, msg);
	const uint64_t *frame = (const uint64_t *)read_rbp();
	backtrace_print(frame[1] - 1, frame[0]);
	thread_fail_current(file, line, msg);
	qemu_exit(KEOS_EXIT_PANIC);
}
