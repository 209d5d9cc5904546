/* The per-CPU list of armed high-resolution timers, as pure data: no locks,
 * no hardware, so it is unit-tested on the host (tests/host/test_hrtimer_list.c).
 *
 * The list is kept sorted by deadline (TSC value), earliest first; timers
 * with equal deadlines stay in the order they were armed. A timer is on at
 * most one list: its `list` pointer names it, NULL when not armed. */
#ifndef KEOS_THREAD_HRTIMER_LIST_H
#define KEOS_THREAD_HRTIMER_LIST_H
#include <stdbool.h>
#include <stdint.h>

struct hrtimer_list;

struct hrtimer {
	uint64_t deadline;                  /* TSC value at which fn runs */
	void (*fn)(void *arg);
	int cpu;                            /* the CPU whose list it was last armed on */
	void *arg;
	struct hrtimer *next;               /* list link */
	struct hrtimer_list *list;          /* the list it is armed on, NULL if not armed */
};

struct hrtimer_list {
	struct hrtimer *head;               /* earliest first */
};

/* Inserts t (not on any list) in deadline order, after timers with the same deadline. */
void hrtimer_list_insert(struct hrtimer_list *l, struct hrtimer *t);
/* Removes t if it is on l; returns whether it was. */
bool hrtimer_list_remove(struct hrtimer_list *l, struct hrtimer *t);
/* Removes and returns the earliest timer whose deadline is <= now, or NULL. */
struct hrtimer *hrtimer_list_pop_expired(struct hrtimer_list *l, uint64_t now);
/* The earliest deadline on l, or UINT64_MAX when l is empty. */
uint64_t hrtimer_list_next_deadline(const struct hrtimer_list *l);
#endif
