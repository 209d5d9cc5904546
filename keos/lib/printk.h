/* Kernel console output: printf-style formatting to the serial console.
 *
 * A thread may carry a console hook (struct thread's console_hook): printk on
 * that thread first formats the start of its text and asks the hook whether
 * to print it. kev puts one on each vCPU thread, so that device code a VM
 * drives cannot flood the console. Panics and exception reports bypass the
 * hook, and so does printk_unhooked (for output the hook's owner accounts
 * for itself). */
#ifndef KEOS_LIB_PRINTK_H
#define KEOS_LIB_PRINTK_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A filter on one thread's console output. */
struct console_hook {
	/* text: the first CONSOLE_HOOK_PEEK - 1 bytes of one printk call's
	 * output, NUL-terminated; len: its full length. True prints the call's
	 * output, false drops it. Must print only with printk_unhooked. */
	bool (*admit)(struct console_hook *hook, const char *text, size_t len);
};
#define CONSOLE_HOOK_PEEK 200

/* Formats like printf (%d %i %u %x %X %o %p %s %c %%, flags -0+ #, width, precision, l ll z h hh) and writes to the console. */
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* va_list form of printk. */
int vprintk(const char *fmt, va_list ap);
/* printk that never consults the calling thread's console hook. */
int printk_unhooked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Removes the calling thread's console hook: everything it prints from now on
 * goes out (a thread that crashed must be able to say why). */
void console_hook_drop_current(void);
/* Stops the machine with a message and a backtrace (in a test: fails the test). */
void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#endif
