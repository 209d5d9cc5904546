/* The kernel's own symbol table, embedded at link time (tools/gen_ksyms.sh). */
#ifndef KEOS_LIB_KSYMS_H
#define KEOS_LIB_KSYMS_H
#include <stdint.h>

/* Name of the function containing addr and the offset into it; NULL if unknown. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);
#endif
