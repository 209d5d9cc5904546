/* Kernel threads and the scheduler.
 *
 * Every CPU runs threads from one shared round-robin run queue; the
 * scheduler tick (TIMER_HZ, driven by keos/thread/hrtimer.c) preempts the
 * running thread. A thread may be pinned
 * to one CPU (kev pins vCPUs to spread them over CPUs). Threads block on wait
 * queues; joining a thread waits for it to exit and frees it. */
#ifndef KEOS_THREAD_THREAD_H
#define KEOS_THREAD_THREAD_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

struct spinlock;
struct console_hook;

enum thread_state {
	THREAD_RUNNING,
	THREAD_READY,
	THREAD_BLOCKED,
	THREAD_DYING,     /* exited, still on its own stack */
	THREAD_ZOMBIE,    /* exited and switched away: join may free it */
};

/* Called by panic or an exception in the thread; must not return. */
typedef void (*thread_fail_fn)(const char *file, int line, const char *msg);

struct thread {
	uint64_t saved_rsp;          /* at offset 0: keos/thread/switch.S */
	int tid;
	char name[32];
	enum thread_state state;
	int pinned_cpu;              /* -1: any CPU */
	int last_cpu;
	void *stack;                 /* NULL for a CPU's boot/idle thread */
	void (*fn)(void *);
	void *arg;
	int exit_status;
	bool detached;
	uint64_t wake_tick;          /* while sleeping */
	struct thread *next;         /* run queue or wait queue link */
	struct thread *joiner;       /* blocked in thread_join on us */
	thread_fail_fn on_fail;
	void *fail_ctx;              /* owner's data for on_fail (keos/test) */
	struct console_hook *console_hook; /* filters this thread's printk (keos/lib/printk.h); NULL: none */
};

/* A list of blocked threads; all wait queues are protected by the scheduler lock. */
struct waitq {
	struct thread *head, *tail;
};

#define THREAD_STACK_PAGES 4
#define TIMER_HZ 100

/* Starts scheduling on the bootstrap CPU: the caller becomes thread "main". */
void sched_init(void);
/* Joins the scheduler on an application processor; never returns. */
void __attribute__((noreturn)) sched_start_ap(void);
/* Creates a ready thread running fn(arg); NULL when out of memory. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg);
/* Like thread_create, but the thread only ever runs on CPU cpu (-1: any). It inherits the creator's on_fail hook. */
struct thread *thread_create_on(const char *name, int cpu, void (*fn)(void *), void *arg);
/* Creates a ready thread with an explicit on_fail hook and its context. */
struct thread *thread_create_full(const char *name, int cpu, void (*fn)(void *), void *arg,
                                  thread_fail_fn on_fail, void *fail_ctx);
/* Waits until t exits, frees it and returns its exit status. */
int thread_join(struct thread *t);
/* Lets t be freed when it exits, without a join. */
void thread_detach(struct thread *t);
/* Ends the calling thread with status. */
void __attribute__((noreturn)) thread_exit(int status);
/* The running thread. */
struct thread *thread_current(void);
/* Gives up the CPU to the next ready thread. */
void thread_yield(void);
/* Blocks the calling thread for at least ticks timer ticks. */
void thread_sleep(uint64_t ticks);
/* Ticks since boot (TIMER_HZ per second). */
uint64_t timer_ticks(void);
/* The scheduler's tick, TIMER_HZ times a second on each CPU (called by the
 * timer interrupt, keos/thread/hrtimer.c): counts ticks, wakes sleepers, preempts. */
void sched_timer_tick(void);
/* If the running thread has an on_fail hook, calls it (never returns); else returns. */
void thread_fail_current(const char *file, int line, const char *msg);

/* Empties q. */
void waitq_init(struct waitq *q);
/* Atomically releases lk (if not NULL), blocks on q until woken, then retakes lk. */
void waitq_wait(struct waitq *q, struct spinlock *lk);
/* Makes every thread blocked on q ready; returns how many. */
int waitq_wake_all(struct waitq *q);
/* Makes the first thread blocked on q ready; returns whether there was one. */
bool waitq_wake_one(struct waitq *q);
#endif
