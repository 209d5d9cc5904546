/* printf-style formatting, independent of any output device, so the same code
 * runs in the kernel (printk) and in host unit tests. */
#ifndef KEOS_LIB_FORMAT_H
#define KEOS_LIB_FORMAT_H
#include <stdarg.h>
#include <stddef.h>

/* Receives formatted output one character at a time. */
typedef void (*format_putc_fn)(char c, void *arg);

/* Formats fmt with ap, feeding each character to putc; returns the number of characters produced. */
int format_v(format_putc_fn putc, void *arg, const char *fmt, va_list ap);
/* Formats into buf (always NUL-terminated if size > 0); returns the full length as C99 snprintf does. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* va_list form of ksnprintf. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
#endif
