/* The kernel that `make run` boots: it shows that the machine came up and
 * that every CPU schedules threads, then stops QEMU. */
#include "keos/boot/boot.h"
#include "keos/arch/cpu.h"
#include "keos/lib/printk.h"
#include "keos/thread/thread.h"

static void hello(void *arg)
{
	(void)arg;
	printk("hello from thread '%s' on cpu %d\n", thread_current()->name, cpu_current()->id);
}

void keos_main(const char *cmdline)
{
	printk("keos: command line '%s'\n", cmdline);
	struct thread *t[MAX_CPUS];
	for (int i = 0; i < ncpus; i++)
		t[i] = thread_create_on(i == 0 ? "hello0" : "hello1+", i, hello, NULL);
	for (int i = 0; i < ncpus; i++)
		if (t[i])
			thread_join(t[i]);
	printk("keos: done\n");
}
