/* The kernel that `make run` boots: it shows that the machine came up and
 * that every CPU schedules threads, then stops QEMU.
 *
 * "crash=pagefault" or "crash=panic" on the command line makes it fail on
 * purpose, so the exception and panic reports can be checked
 * (tools/run_crash_check.sh). */
#include "keos/boot/boot.h"
#include "keos/arch/cpu.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"
#include <string.h>

static void hello(void *arg)
{
	(void)arg;
	printk("hello from thread '%s' on cpu %d\n", thread_current()->name, cpu_current()->id);
}

static void __attribute__((noinline)) crash(const char *how)
{
	if (!strcmp(how, "panic"))
		panic("crash requested on the command line");
	volatile uintptr_t where = 0x8;
	*(volatile uint64_t *)where = 1;
}

void keos_main(const char *cmdline)
{
	printk("keos: command line '%s'\n", cmdline);
	const char *c = strstr(cmdline, "crash=");
	if (c)
		crash(c + 6);
	struct thread *t[MAX_CPUS];
	for (int i = 0; i < ncpus; i++)
		t[i] = thread_create_on(i == 0 ? "hello0" : "hello1+", i, hello, NULL);
	for (int i = 0; i < ncpus; i++)
		if (t[i])
			thread_join(t[i]);
	printk("keos: done\n");
}
