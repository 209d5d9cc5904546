/* Host implementations of the kernel's spinlocks, printk and panic_at for the
 * host unit tests of keos/mm/palloc.c and keos/mm/kmalloc.c (see
 * keos_host_shim.h). A lock's "CPU" is a small id given to each pthread. */
#include "tests/host/keos_host_shim.h"
#include "keos/lib/printk.h"
#include "keos/sync/spinlock.h"
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shim_panic shim_last_panic;
jmp_buf *shim_panic_target;

static char printk_buf[4096];
static size_t printk_len;
static int locks_held;
static int next_thread_id;
static _Thread_local int thread_id = -1;

static int self_id(void)
{
	if (thread_id < 0)
		thread_id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
	return thread_id;
}

void spinlock_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->name = name;
	l->cpu = -1;
}

bool spin_holding(struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_ACQUIRE) && l->cpu == self_id();
}

void spin_lock(struct spinlock *l)
{
	if (spin_holding(l))
		panic("spinlock '%s': already held by this CPU", l->name);
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	l->cpu = self_id();
	__atomic_add_fetch(&locks_held, 1, __ATOMIC_RELAXED);
}

void spin_unlock(struct spinlock *l)
{
	if (!spin_holding(l))
		panic("spinlock '%s': released by a CPU that does not hold it", l->name);
	l->cpu = -1;
	__atomic_sub_fetch(&locks_held, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

int vprintk(const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	size_t room = sizeof(printk_buf) - 1 - printk_len;
	size_t len = strnlen(line, sizeof(line));
	if (len > room)
		len = room;
	memcpy(printk_buf + printk_len, line, len);
	printk_len += len;
	printk_buf[printk_len] = '\0';
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
	va_start(ap, fmt);
	vsnprintf(shim_last_panic.msg, sizeof(shim_last_panic.msg), fmt, ap);
	va_end(ap);
	shim_last_panic.file = file;
	shim_last_panic.line = line;
	shim_last_panic.count++;
	if (shim_panic_target)
		longjmp(*shim_panic_target, 1);
	fprintf(stderr, "unexpected PANIC at %s:%d: %s\n", file, line, shim_last_panic.msg);
	abort();
}

const char *shim_printk_output(void)
{
	return printk_buf;
}

int shim_locks_held(void)
{
	return __atomic_load_n(&locks_held, __ATOMIC_RELAXED);
}

void shim_reset(void)
{
	memset(&shim_last_panic, 0, sizeof(shim_last_panic));
	shim_panic_target = NULL;
	printk_len = 0;
	printk_buf[0] = '\0';
	__atomic_store_n(&locks_held, 0, __ATOMIC_RELAXED);
}
