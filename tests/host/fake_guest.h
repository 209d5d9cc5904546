/* Host fakes for the svirtb device model, its ring and its driver.
 *
 * The device model (project4/dev/simple_virtio.c) and the ring build for the
 * host unchanged; these fakes stand in for everything they call in the kernel:
 *   - guest RAM: a byte array addressed by guest-physical address, with a
 *     hole and an end, behind probe_read/probe_write (all-or-nothing, false
 *     outside RAM or on overflow, as kev/probe.h specifies);
 *   - disk_file: a memory buffer behind fs_open/file_read/file_write/
 *     file_size. It is stricter than keos/fs: the device is meant to clamp
 *     every access to [0, file_size), so any request that reaches past the end
 *     is recorded as a violation;
 *   - page_alloc/page_free, kmalloc/kzalloc/kfree over malloc, with counts;
 *   - the spinlock and the mutex (a violation on recursion or an unlock of a
 *     free lock); probe_vm_stopping (false unless a test sets it);
 *   - printk into a capture buffer; each call must be one whole line;
 *   - pager_map_page recording mappings and refusing duplicates.
 * The MMIO region set is the real one (project3/vmexit/mmio_regions.c).
 * A violation is a host-side bug the tests must see: it is counted with a
 * message, or aborts the process when abort-on-violation is set (the fuzzer). */
#ifndef TESTS_HOST_FAKE_GUEST_H
#define TESTS_HOST_FAKE_GUEST_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "kev/types.h"
#include "project3/keos_vm/pager.h"

/* The default world: 1 MiB of RAM with a hole at [FAKE_HOLE_START, FAKE_HOLE_END). */
#define FAKE_RAM_MAX     (1024u * 1024u)
#define FAKE_HOLE_START  0x40000ull
#define FAKE_HOLE_END    0x42000ull
/* The default disk_file size: not a multiple of 512, so the last sector is partial. */
#define FAKE_DISK_DEFAULT_SIZE 3000u
#define FAKE_DISK_MAX    (64u * 1024u)

/* Restores the default world: RAM zeroed, disk refilled with its pattern, console and violations cleared. */
void fake_guest_reset(void);

/* Sets RAM to [0, size) minus the hole [hole_start, hole_end) (size <= FAKE_RAM_MAX, page multiples). */
void fake_ram_configure(uint64_t size, gpa_t hole_start, gpa_t hole_end);
/* True if the byte at gpa is guest RAM. */
bool fake_ram_is_ram(gpa_t gpa);
/* The host address of guest RAM at gpa, for test setup; a violation (and NULL) outside RAM. */
void *fake_ram_ptr(gpa_t gpa);
/* The guest-physical address of a host pointer into the RAM array; a violation outside it. */
gpa_t fake_ram_gpa(const void *p);
/* The probe handed to handle(). */
struct probe *fake_probe(void);
/* Number of probe_read/probe_write calls so far. */
unsigned long fake_probe_calls(void);

/* Refills disk_file with size bytes of the pattern fake_disk_pattern(i) (size <= FAKE_DISK_MAX). */
void fake_disk_reset(uint64_t size);
/* The byte disk_file holds at offset i after fake_disk_reset. */
uint8_t fake_disk_pattern(uint64_t i);
/* disk_file's bytes, for checks and setup. */
uint8_t *fake_disk_data(void);
/* disk_file's size. */
uint64_t fake_disk_size(void);
/* While set, fs_open("disk_file") returns NULL. */
void fake_disk_set_missing(bool missing);
/* While set, file_read/file_write fail with FS_ERR_IO. */
void fake_disk_set_failing(bool failing);
/* Number of file_read/file_write calls so far. */
unsigned long fake_disk_calls(void);

/* Everything printk wrote since the last clear (NUL-terminated). */
const char *fake_console(void);
/* Empties the console capture. */
void fake_console_clear(void);
/* True if needle occurs in the captured console output. */
bool fake_console_has(const char *needle);
/* Number of lines printed since the last clear. */
unsigned fake_console_lines(void);
/* While set, printk also copies each line to stderr (debugging). */
void fake_console_set_echo(bool echo);

/* Number of violations recorded since the last reset. */
unsigned fake_violations(void);
/* The last violation's message, or "" if none. */
const char *fake_last_violation(void);
/* While set, a violation aborts the process at once (the fuzzer). */
void fake_set_abort_on_violation(bool abort_now);
/* While set, probe_vm_stopping says the VM is ending (vq_fetcher_pop then stops). */
void fake_set_vm_stopping(bool stopping);

/* Pages from page_alloc not yet freed. */
long fake_pages_outstanding(void);
/* kmalloc blocks not yet freed. */
long fake_kmallocs_outstanding(void);

/* The fake pager: the mappings pager_map_page made. */
struct fake_mapping {
	gpa_t gpa;
	void *page;
	unsigned perm;
};
#define FAKE_PAGER_MAX_MAPPINGS 8
struct kernel_vm_pager {
	struct fake_mapping maps[FAKE_PAGER_MAX_MAPPINGS];
	unsigned count;
};
/* Empties a fake pager. */
void fake_pager_init(struct kernel_vm_pager *pager);
#endif
