/* Mutexes (keos/sync/mutex.h): mutual exclusion across CPUs while holders
 * sleep, interrupts kept on while held, and every misuse caught by name. */
#include "keos/test/ktest.h"
#include "keos/sync/mutex.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"
#include <string.h>

enum { ROUNDS = 200 };

struct shared {
	struct mutex m;
	volatile int inside;       /* threads inside the critical section */
	volatile int overlaps;     /* times a thread found another inside */
	volatile uint64_t count;
	volatile bool irq_off_seen;
};

static void worker(void *arg)
{
	struct shared *s = arg;
	for (int i = 0; i < ROUNDS; i++) {
		mutex_lock(&s->m);
		if (__atomic_add_fetch(&s->inside, 1, __ATOMIC_ACQ_REL) != 1)
			s->overlaps++;
		if (!interrupts_enabled())
			s->irq_off_seen = true;
		uint64_t c = s->count;
		if (i % 16 == 0)
			thread_sleep(1);       /* the holder sleeps: the others must wait, not enter */
		else
			thread_yield();
		s->count = c + 1;
		__atomic_sub_fetch(&s->inside, 1, __ATOMIC_ACQ_REL);
		mutex_unlock(&s->m);
	}
}

KTEST(mutex_excludes_sleeping_holders_on_two_cpus)
{
	static struct shared s;
	memset(&s, 0, sizeof(s));
	mutex_init(&s.m, "test");
	struct thread *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = thread_create_on("mutex-worker", i % ncpus, worker, &s);
	for (int i = 0; i < 4; i++)
		thread_join(t[i]);
	KASSERT_EQ(s.overlaps, 0);
	KASSERT_EQ(s.count, 4 * ROUNDS);
	KASSERT(!s.irq_off_seen);
	KASSERT(!mutex_holding(&s.m));
}

static void relock(void *arg)
{
	struct mutex *m = arg;
	mutex_lock(m);
	mutex_lock(m);
}

KTEST(mutex_self_deadlock_panics)
{
	struct mutex m;
	mutex_init(&m, "twice");
	char msg[200];
	KASSERT(ktest_expect_panic(relock, &m, msg, sizeof(msg)));
	KASSERT(strstr(msg, "twice") && strstr(msg, "already held"));
}

static void unlock_free(void *arg)
{
	mutex_unlock(arg);
}

KTEST(mutex_unlock_by_non_holder_panics)
{
	struct mutex m;
	mutex_init(&m, "not mine");
	char msg[200];
	KASSERT(ktest_expect_panic(unlock_free, &m, msg, sizeof(msg)));
	KASSERT(strstr(msg, "not mine") && strstr(msg, "does not hold"));
}

struct lock_pair {
	struct spinlock s;
	struct mutex m;
};

static void mutex_under_spinlock(void *arg)
{
	struct lock_pair *p = arg;
	spin_lock(&p->s);
	mutex_lock(&p->m);
}

KTEST(mutex_with_a_spinlock_held_panics)
{
	struct lock_pair p;
	spinlock_init(&p.s, "outer");
	mutex_init(&p.m, "inner");
	char msg[200];
	KASSERT(ktest_expect_panic(mutex_under_spinlock, &p, msg, sizeof(msg)));
	KASSERT(strstr(msg, "inner") && strstr(msg, "interrupts off"));
}
