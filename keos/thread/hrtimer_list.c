/* The sorted timer list (see hrtimer_list.h). Insertion walks the list, so
 * it costs O(armed timers); a CPU holds a handful (one per vCPU deadline or
 * guest timer), which a list serves better than a heap. */
#include "keos/thread/hrtimer_list.h"

void hrtimer_list_insert(struct hrtimer_list *l, struct hrtimer *t)
{
	struct hrtimer **pp = &l->head;
	while (*pp && (*pp)->deadline <= t->deadline)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	t->list = l;
}

bool hrtimer_list_remove(struct hrtimer_list *l, struct hrtimer *t)
{
	if (t->list != l)
		return false;
	for (struct hrtimer **pp = &l->head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = 0;
			t->list = 0;
			return true;
		}
	}
	return false;
}

struct hrtimer *hrtimer_list_pop_expired(struct hrtimer_list *l, uint64_t now)
{
	struct hrtimer *t = l->head;
	if (!t || t->deadline > now)
		return 0;
	l->head = t->next;
	t->next = 0;
	t->list = 0;
	return t;
}

uint64_t hrtimer_list_next_deadline(const struct hrtimer_list *l)
{
	return l->head ? l->head->deadline : UINT64_MAX;
}
