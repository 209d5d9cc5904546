/* Probe: the only way host code touches guest memory.
 *
 * A guest-physical range is copied page by page through the VM's nested page
 * table; contiguous guest pages need not be contiguous on the host. Every
 * function fails cleanly (returns false) when any byte of the range is not
 * guest RAM or when the range's arithmetic overflows, and writes fail on
 * pages the nested table maps read-only (the guest could not write them). */
#ifndef KEV_PROBE_H
#define KEV_PROBE_H
#include "kev/types.h"

struct probe;

/* Copies len bytes of guest-physical memory at gpa into buf; false if any byte is not guest RAM. */
bool probe_read(struct probe *p, gpa_t gpa, void *buf, size_t len);
/* Copies len bytes from buf into guest-physical memory at gpa; false if any
 * byte is not guest RAM or its page is mapped read-only in the nested table. */
bool probe_write(struct probe *p, gpa_t gpa, const void *buf, size_t len);
/* True if every byte of [gpa, gpa + len) is guest RAM (pages not loaded yet
 * included), in constant time; false on overflow. len 0 is always true. */
bool probe_range_is_ram(struct probe *p, gpa_t gpa, uint64_t len);
/* True once the VM is ending (it exited, failed, or ran past its deadline):
 * a device in the middle of long work on its behalf should stop. */
bool probe_vm_stopping(struct probe *p);
/* The host address of guest RAM's byte at gpa, for a device that moves data
 * straight between guest memory and elsewhere (a file) without a copy of
 * its own: the bytes from gpa to the end of its guest page are contiguous
 * there; the next guest page is elsewhere. NULL unless gpa is guest RAM (and
 * the nested table lets the guest write the page, if write). Valid while the
 * VM exists: kev never takes a RAM page away from a VM. */
void *probe_page(struct probe *p, gpa_t gpa, bool write);
#endif
