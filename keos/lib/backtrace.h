/* Stack backtraces with symbol names, for panics and exceptions. */
#ifndef KEOS_LIB_BACKTRACE_H
#define KEOS_LIB_BACKTRACE_H
#include <stdint.h>

/* Prints rip, then the return addresses found by following the frame-pointer chain from rbp. */
void backtrace_print(uint64_t rip, uint64_t rbp);
#endif
