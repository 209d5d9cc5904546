/* Kernel tests written for the functions whose deleted body went unnoticed
 * by the rest of the suite (tools/mutate_bodies.sh): thread_detach (both the
 * running and the already-exited case), waitq_init, waitq_wake_one,
 * spinlock_init and spin_holding. One more pins down check_may_block: a
 * thread that would block with a spinlock held must panic before it joins a
 * wait queue, not after (its deletion was caught before only because the
 * corrupted queue later crashed the kernel). */
#include "keos/test/ktest.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/mm/kmalloc.h"
#include "keos/mm/palloc.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"
#include <string.h>

/* Sleeps tick by tick (at most 2 s) until the heap and the page allocator are
 * back to the given counts; false if they never are. */
static bool counts_return_to(size_t pages, size_t blocks)
{
	for (int i = 0; i < 2 * TIMER_HZ; i++) {
		if (page_free_count() == pages && kmalloc_live_count() == blocks)
			return true;
		thread_sleep(1);
	}
	return false;
}

struct gate {
	volatile int go, done;
};

static void wait_for_go(void *arg)
{
	struct gate *g = arg;
	while (!g->go)
		pause();
	g->done = 1;
}

KTEST(thread_detach_frees_a_thread_when_it_exits)
{
	size_t pages = page_free_count(), blocks = kmalloc_live_count();
	struct gate g = { 0, 0 };
	struct thread *t = thread_create("detached", wait_for_go, &g);
	KASSERT(t != NULL);
	KASSERT(page_free_count() < pages);
	thread_detach(t);          /* it is still running: freed when it exits */
	g.go = 1;
	KASSERT(counts_return_to(pages, blocks));
	KASSERT(g.done);
}

static void return_at_once(void *arg)
{
	(void)arg;
}

KTEST(thread_detach_frees_an_exited_thread_at_once)
{
	size_t pages = page_free_count(), blocks = kmalloc_live_count();
	struct thread *t = thread_create("quitter", return_at_once, NULL);
	KASSERT(t != NULL);
	volatile enum thread_state *state = &t->state;
	for (int i = 0; i < 2 * TIMER_HZ && *state != THREAD_ZOMBIE; i++)
		thread_sleep(1);
	KASSERT_EQ(*state, THREAD_ZOMBIE);
	KASSERT(page_free_count() < pages);
	thread_detach(t);          /* nobody will join it: it goes now */
	KASSERT_EQ(page_free_count(), pages);
	KASSERT_EQ(kmalloc_live_count(), blocks);
}

KTEST(waitq_init_empties_a_queue)
{
	struct waitq q;
	memset(&q, 0xa5, sizeof(q));
	waitq_init(&q);
	KASSERT(q.head == NULL);
	KASSERT(q.tail == NULL);
	KASSERT(!waitq_wake_one(&q));
	KASSERT_EQ(waitq_wake_all(&q), 0);
}

/* Threads that each wait for one token. */
struct tokens {
	struct spinlock lock;
	struct waitq q;
	int waiting, tokens, taken;
};

static void take_token(void *arg)
{
	struct tokens *s = arg;
	spin_lock(&s->lock);
	s->waiting++;
	while (s->tokens == 0)
		waitq_wait(&s->q, &s->lock);
	s->tokens--;
	s->taken++;
	spin_unlock(&s->lock);
}

static int read_locked(struct tokens *s, int *field)
{
	spin_lock(&s->lock);
	int v = *field;
	spin_unlock(&s->lock);
	return v;
}

static void give_token(struct tokens *s)
{
	spin_lock(&s->lock);
	s->tokens++;
	spin_unlock(&s->lock);
}

KTEST(waitq_wake_one_wakes_exactly_one)
{
	struct tokens s = { .waiting = 0, .tokens = 0, .taken = 0 };
	spinlock_init(&s.lock, "tokens");
	waitq_init(&s.q);
	struct thread *a = thread_create("taker-a", take_token, &s);
	struct thread *b = thread_create("taker-b", take_token, &s);
	KASSERT(a && b);
	/* Once both counted themselves under the lock, both are queued: waitq_wait
	 * drops the lock only after taking the scheduler lock to queue the thread. */
	for (int i = 0; i < 2 * TIMER_HZ && read_locked(&s, &s.waiting) < 2; i++)
		thread_sleep(1);
	KASSERT_EQ(read_locked(&s, &s.waiting), 2);
	give_token(&s);
	KASSERT(waitq_wake_one(&s.q));
	for (int i = 0; i < 2 * TIMER_HZ && read_locked(&s, &s.taken) < 1; i++)
		thread_sleep(1);
	thread_sleep(3);
	KASSERT_EQ(read_locked(&s, &s.taken), 1);      /* the other one still sleeps */
	KASSERT(s.q.head != NULL && s.q.head == s.q.tail);
	give_token(&s);
	KASSERT(waitq_wake_one(&s.q));
	thread_join(a);
	thread_join(b);
	KASSERT_EQ(s.taken, 2);
	KASSERT(s.q.head == NULL);
	KASSERT(!waitq_wake_one(&s.q));
}

static void relock(void *arg)
{
	struct spinlock *l = arg;
	spin_lock(l);
	spin_lock(l);
}

KTEST(spinlock_init_makes_a_free_named_lock)
{
	struct spinlock l;
	memset(&l, 0xff, sizeof(l));
	spinlock_init(&l, "fresh");
	KASSERT_EQ(l.locked, 0);
	KASSERT_EQ(l.cpu, -1);
	KASSERT(l.name && !strcmp(l.name, "fresh"));
	spin_lock(&l);
	spin_unlock(&l);
	/* the name is what a deadlock report shows */
	char msg[200];
	KASSERT(ktest_expect_panic(relock, &l, msg, sizeof(msg)));
	KASSERT(strstr(msg, "spinlock 'fresh'"));
}

struct holder {
	struct spinlock lock;
	volatile int held, release;
};

static void hold_until_released(void *arg)
{
	struct holder *h = arg;
	spin_lock(&h->lock);
	h->held = 1;
	while (!h->release)
		pause();
	spin_unlock(&h->lock);
}

KTEST(spin_holding_is_true_only_for_the_holding_cpu)
{
	struct holder h = { .held = 0, .release = 0 };
	spinlock_init(&h.lock, "holding");
	KASSERT(!spin_holding(&h.lock));
	spin_lock(&h.lock);
	KASSERT(spin_holding(&h.lock));
	spin_unlock(&h.lock);
	KASSERT(!spin_holding(&h.lock));
	if (ncpus < 2)
		return;
	/* Held on CPU 1 with interrupts off there, so this thread runs elsewhere. */
	struct thread *t = thread_create_on("holder", 1, hold_until_released, &h);
	KASSERT(t != NULL);
	while (!h.held)
		thread_yield();
	KASSERT(h.lock.locked);
	KASSERT(!spin_holding(&h.lock));
	h.release = 1;
	thread_join(t);
	KASSERT(!spin_holding(&h.lock));
}

struct held_wait {
	struct spinlock lock;
	struct waitq q;
};

static void wait_holding_a_lock(void *arg)
{
	struct held_wait *w = arg;
	spin_lock(&w->lock);
	waitq_wait(&w->q, NULL);
}

KTEST(blocking_with_a_spinlock_panics_before_queueing)
{
	struct held_wait w;
	spinlock_init(&w.lock, "held");
	waitq_init(&w.q);
	char msg[200];
	KASSERT(ktest_expect_panic(wait_holding_a_lock, &w, msg, sizeof(msg)));
	KASSERT(strstr(msg, "holding a spinlock"));
	KASSERT(w.q.head == NULL);        /* the dead thread never joined the queue */
	KASSERT_EQ(waitq_wake_all(&w.q), 0);
}
