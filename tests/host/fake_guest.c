/* Host fakes for the svirtb device model (what each fake promises is in
 * fake_guest.h).
 *
 * Guest RAM is one static array indexed by guest-physical address, so ASan
 * catches any access that escapes it, and probe_* check every page of a range
 * before copying (all-or-nothing). disk_file is a static array of
 * FAKE_DISK_MAX bytes of which the first disk_size are the file; a request
 * that reaches past disk_size is a violation, because the device must clamp
 * to file_size. Allocations go to malloc so ASan sees overflows and leaks. */
#include "tests/host/fake_guest.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kev/probe.h"
#include "keos/fs/fs.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/mm/kmalloc.h"
#include "keos/sync/spinlock.h"
#include "keos/sync/mutex.h"

/* --- violations --------------------------------------------------------------- */

static unsigned violations;
static char last_violation[256];
static bool abort_on_violation;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_violation, sizeof(last_violation), fmt, ap);
	va_end(ap);
	violations++;
	if (abort_on_violation) {
		fprintf(stderr, "fake_guest violation: %s\n", last_violation);
		abort();
	}
}

unsigned fake_violations(void) { return violations; }
const char *fake_last_violation(void) { return last_violation; }
void fake_set_abort_on_violation(bool abort_now) { abort_on_violation = abort_now; }

/* --- guest RAM and the probe ---------------------------------------------------- */

static uint8_t ram[FAKE_RAM_MAX];
static uint64_t ram_size = FAKE_RAM_MAX;
static gpa_t hole_start = FAKE_HOLE_START, hole_end = FAKE_HOLE_END;
static unsigned long probe_calls;

struct probe {
	int unused;
};
static struct probe the_probe;

struct probe *fake_probe(void) { return &the_probe; }
unsigned long fake_probe_calls(void) { return probe_calls; }

void fake_ram_configure(uint64_t size, gpa_t hs, gpa_t he)
{
	if (size > FAKE_RAM_MAX)
		size = FAKE_RAM_MAX;
	ram_size = size;
	hole_start = hs;
	hole_end = he;
}

bool fake_ram_is_ram(gpa_t gpa)
{
	return gpa < ram_size && !(gpa >= hole_start && gpa < hole_end);
}

void *fake_ram_ptr(gpa_t gpa)
{
	if (!fake_ram_is_ram(gpa)) {
		violation("fake_ram_ptr(%#llx): not RAM", (unsigned long long)gpa);
		return NULL;
	}
	return &ram[gpa];
}

gpa_t fake_ram_gpa(const void *p)
{
	const uint8_t *b = p;
	if (b < ram || b >= ram + FAKE_RAM_MAX) {
		violation("fake_ram_gpa(%p): not in the RAM array", p);
		return ~0ull;
	}
	return (gpa_t)(b - ram);
}

/* True if every byte of [gpa, gpa + len) is RAM, checked page by page as the
 * real probe walks the nested page table. */
static bool range_is_ram(gpa_t gpa, size_t len)
{
	if (len == 0)
		return true;
	if (gpa > UINT64_MAX - (len - 1))
		return false;
	gpa_t last = gpa + (len - 1);
	for (gpa_t page = gpa & ~(GUEST_PAGE_SIZE - 1);; page += GUEST_PAGE_SIZE) {
		if (!fake_ram_is_ram(page < gpa ? gpa : page))
			return false;
		if (last - page < GUEST_PAGE_SIZE)
			return true;
	}
}

static bool probe_ok(struct probe *p, gpa_t gpa, const void *buf, size_t len)
{
	probe_calls++;
	if (p != &the_probe)
		violation("probe call with a foreign probe %p", (void *)p);
	if (buf == NULL && len != 0)
		violation("probe call with a NULL buffer");
	return range_is_ram(gpa, len);
}

bool probe_read(struct probe *p, gpa_t gpa, void *buf, size_t len)
{
	if (!probe_ok(p, gpa, buf, len))
		return false;
	if (len != 0)
		memcpy(buf, &ram[gpa], len);
	return true;
}

bool probe_write(struct probe *p, gpa_t gpa, const void *buf, size_t len)
{
	if (!probe_ok(p, gpa, buf, len))
		return false;
	if (len != 0)
		memcpy(&ram[gpa], buf, len);
	return true;
}

/* --- disk_file ---------------------------------------------------------------- */

struct file {
	int unused;
};
static struct file the_file;
static uint8_t disk[FAKE_DISK_MAX];
static uint64_t disk_size = FAKE_DISK_DEFAULT_SIZE;
static bool disk_missing, disk_failing;
static unsigned long disk_calls;

uint8_t fake_disk_pattern(uint64_t i)
{
	/* Varies within a sector and between sectors, never all zero. */
	return (uint8_t)(i * 7 + (i >> 9) * 13 + 1);
}

void fake_disk_reset(uint64_t size)
{
	if (size > FAKE_DISK_MAX)
		size = FAKE_DISK_MAX;
	/* Bytes past both sizes were never written: the fuzzer resets per input. */
	uint64_t end = size > disk_size ? size : disk_size;
	disk_size = size;
	for (uint64_t i = 0; i < end; i++)
		disk[i] = i < size ? fake_disk_pattern(i) : 0;
}

uint8_t *fake_disk_data(void) { return disk; }
uint64_t fake_disk_size(void) { return disk_size; }
void fake_disk_set_missing(bool missing) { disk_missing = missing; }
void fake_disk_set_failing(bool failing) { disk_failing = failing; }
unsigned long fake_disk_calls(void) { return disk_calls; }

struct file *fs_open(const char *name)
{
	if (disk_missing || strcmp(name, "disk_file") != 0)
		return NULL;
	return &the_file;
}

uint64_t file_size(const struct file *f)
{
	if (f != &the_file)
		violation("file_size on a foreign file");
	return disk_size;
}

/* Checks one file_read/file_write; returns the byte count keos/fs would move. */
static int64_t disk_check(const char *op, struct file *f, uint64_t off, const void *buf, uint64_t len)
{
	disk_calls++;
	if (f != &the_file)
		violation("%s on a foreign file", op);
	if (buf == NULL && len != 0)
		violation("%s with a NULL buffer", op);
	if (off > disk_size || len > disk_size - off)
		violation("%s of %llu bytes at %llu reaches past disk_file's %llu bytes", op,
		          (unsigned long long)len, (unsigned long long)off,
		          (unsigned long long)disk_size);
	if (disk_failing)
		return FS_ERR_IO;
	if (off > disk_size)
		return FS_ERR_BAD_OFFSET;
	return (int64_t)(len < disk_size - off ? len : disk_size - off);
}

int64_t file_read(struct file *f, uint64_t off, void *buf, uint64_t len)
{
	int64_t n = disk_check("file_read", f, off, buf, len);
	if (n > 0)
		memcpy(buf, &disk[off], (size_t)n);
	return n;
}

int64_t file_write(struct file *f, uint64_t off, const void *buf, uint64_t len)
{
	int64_t n = disk_check("file_write", f, off, buf, len);
	if (n > 0)
		memcpy(&disk[off], buf, (size_t)n);
	return n;
}

/* --- memory ----------------------------------------------------------------------- */

static long pages_out, kmallocs_out;

void *page_alloc(void)
{
	void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (p == NULL)
		return NULL;
	memset(p, 0, PAGE_SIZE);
	pages_out++;
	return p;
}

void page_free(void *page)
{
	if (page == NULL || ((uintptr_t)page & (PAGE_SIZE - 1)) != 0)
		violation("page_free(%p): not a page", page);
	pages_out--;
	free(page);
}

size_t page_free_count(void) { return 1024; }
long fake_pages_outstanding(void) { return pages_out; }

void *kmalloc(size_t size)
{
	if (size == 0)
		return NULL;
	void *p = malloc(size);
	if (p != NULL)
		kmallocs_out++;
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	if (p == NULL)
		return;
	kmallocs_out--;
	free(p);
}

long fake_kmallocs_outstanding(void) { return kmallocs_out; }

/* --- spinlocks: one thread, so holding twice is a self-deadlock ---------------- */

void spinlock_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->name = name;
	l->cpu = -1;
}

void spin_lock(struct spinlock *l)
{
	if (l->locked)
		violation("spin_lock(%s): already held (self-deadlock)", l->name ? l->name : "?");
	l->locked = 1;
	l->cpu = 0;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->locked)
		violation("spin_unlock(%s): not held", l->name ? l->name : "?");
	l->locked = 0;
	l->cpu = -1;
}

bool spin_holding(struct spinlock *l) { return l->locked && l->cpu == 0; }

/* --- console ---------------------------------------------------------------------- */

#define CONSOLE_SIZE (64 * 1024)
static char console[CONSOLE_SIZE];
static size_t console_len;
static unsigned console_lines;
static bool console_echo;

const char *fake_console(void) { return console; }
bool fake_console_has(const char *needle) { return strstr(console, needle) != NULL; }
unsigned fake_console_lines(void) { return console_lines; }
void fake_console_set_echo(bool echo) { console_echo = echo; }

void fake_console_clear(void)
{
	console_len = 0;
	console[0] = '\0';
	console_lines = 0;
}

int vprintk(const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	size_t len = strlen(line);
	/* Every message the device prints is one whole line: a reason must not be
	 * split across calls, where another CPU's output could cut into it. */
	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL)
		violation("printk output is not exactly one line: \"%s\"", line);
	if (console_echo)
		fputs(line, stderr);
	/* A full capture starts over: the tests look at recent lines only. */
	if (console_len + len + 1 > CONSOLE_SIZE)
		fake_console_clear();
	memcpy(console + console_len, line, len + 1);
	console_len += len;
	console_lines++;
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "panic at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* --- the pager -------------------------------------------------------------------- */

void fake_pager_init(struct kernel_vm_pager *pager)
{
	memset(pager, 0, sizeof(*pager));
}

enum ept_mapping_error pager_map_page(struct kernel_vm_pager *pager, gpa_t gpa, void *page, unsigned perm)
{
	if ((gpa & (GUEST_PAGE_SIZE - 1)) != 0 || ((uintptr_t)page & (PAGE_SIZE - 1)) != 0)
		return EPT_ERR_UNALIGNED;
	if (!(perm & EPT_PERM_READ) || (perm & ~(unsigned)(EPT_PERM_READ | EPT_PERM_WRITE | EPT_PERM_EXEC)))
		return EPT_ERR_BAD_PERM;
	for (unsigned i = 0; i < pager->count; i++)
		if (pager->maps[i].gpa == gpa)
			return EPT_ERR_DUPLICATED;
	if (pager->count == FAKE_PAGER_MAX_MAPPINGS)
		return EPT_ERR_NO_MEMORY;
	pager->maps[pager->count++] = (struct fake_mapping){ gpa, page, perm };
	return EPT_OK;
}

/* --- the whole world ---------------------------------------------------------------- */

void fake_guest_reset(void)
{
	/* Only configured RAM can have been written (probe and fake_ram_ptr refuse
	 * the rest), so a small configuration makes the reset cheap for the fuzzer. */
	memset(ram, 0, ram_size);
	fake_ram_configure(FAKE_RAM_MAX, FAKE_HOLE_START, FAKE_HOLE_END);
	fake_disk_reset(FAKE_DISK_DEFAULT_SIZE);
	disk_missing = false;
	disk_failing = false;
	fake_set_vm_stopping(false);
	disk_calls = 0;
	probe_calls = 0;
	fake_console_clear();
	violations = 0;
	last_violation[0] = '\0';
}

/* --- the mutex and the VM's liveness --------------------------------------------- */

static bool vm_stopping_now;

void fake_set_vm_stopping(bool stopping)
{
	vm_stopping_now = stopping;
}

bool probe_vm_stopping(struct probe *p)
{
	(void)p;
	return vm_stopping_now;
}

bool probe_range_is_ram(struct probe *p, gpa_t gpa, uint64_t len)
{
	if (p != &the_probe)
		violation("probe call with a foreign probe %p", (void *)p);
	return range_is_ram(gpa, len);
}

void mutex_init(struct mutex *m, const char *name)
{
	spinlock_init(&m->guard, name);
	m->owner = NULL;
	m->name = name;
}

void mutex_lock(struct mutex *m)
{
	if (m->owner)
		violation("mutex_lock(%s): already held (self-deadlock)", m->name ? m->name : "?");
	m->owner = (struct thread *)m;
}

void mutex_unlock(struct mutex *m)
{
	if (!m->owner)
		violation("mutex_unlock(%s): not held", m->name ? m->name : "?");
	m->owner = NULL;
}

bool mutex_holding(struct mutex *m)
{
	return m->owner != NULL;
}

void *probe_page(struct probe *p, gpa_t gpa, bool write)
{
	(void)write;
	probe_calls++;
	if (p != &the_probe)
		violation("probe call with a foreign probe %p", (void *)p);
	return fake_ram_is_ram(gpa) ? &ram[gpa] : NULL;
}
