/* Stack backtraces with symbol names, for panics and exceptions. */
#ifndef KEOS_LIB_BACKTRACE_H
#define KEOS_LIB_BACKTRACE_H
#include <stddef.h>
#include <stdint.h>

/* Prints rip, then the return addresses found by following the frame-pointer chain from rbp. */
void backtrace_print(uint64_t rip, uint64_t rbp);
/* Writes the same frames on one line, "fn+0x1c <- caller+0x30 <- ...", into buf; returns the length. */
int backtrace_format(uint64_t rip, uint64_t rbp, char *buf, size_t size);
#endif
