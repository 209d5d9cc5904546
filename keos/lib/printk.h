/* Kernel console output: printf-style formatting to the serial console. */
#ifndef KEOS_LIB_PRINTK_H
#define KEOS_LIB_PRINTK_H
#include <stdarg.h>
#include <stddef.h>

/* Formats like printf (%d %i %u %x %X %o %p %s %c %%, flags -0+ #, width, precision, l ll z h hh) and writes to the console. */
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* va_list form of printk. */
int vprintk(const char *fmt, va_list ap);
/* Stops the machine with a message and a backtrace (in a test: fails the test). */
void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#endif
