/* Ping-pong between two pinned threads: the one on cpu_a raises ping and
 * waits for pong, the one on cpu_b waits for ping and raises pong. Neither
 * yields, so both finish only if both CPUs run them at once; with one CPU
 * the test hangs and the run's time limit reports it. */
#include "tests/kernel/smp_check.h"
#include "keos/test/ktest.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"

struct pingpong { volatile int ping, pong; };

static void pinger(void *arg)
{
	struct pingpong *p = arg;
	p->ping = 1;
	while (!p->pong)
		pause();
}

static void ponger(void *arg)
{
	struct pingpong *p = arg;
	while (!p->ping)
		pause();
	p->pong = 1;
}

void ktest_expect_parallel(int cpu_a, int cpu_b)
{
	struct pingpong p = { 0, 0 };
	struct thread *a = thread_create_on("ping", cpu_a, pinger, &p);
	struct thread *b = thread_create_on("pong", cpu_b, ponger, &p);
	KASSERT(a != NULL && b != NULL);
	thread_join(a);
	thread_join(b);
	KASSERT(p.ping && p.pong);
}
