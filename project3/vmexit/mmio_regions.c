/* The set of MMIO regions of one VM (declared in project3/vmexit/mmio.h).
 *
 * ctl->handlers[0..count) is kept sorted by region start, and the regions are
 * pairwise disjoint half-open intervals [start, end). Because they are disjoint
 * and sorted, their ends are sorted too, so:
 *  - a new region can only overlap its two neighbours in sorted order, and
 *  - lookup is a binary search for the last region starting at or below gpa.
 * Registration checks everything before moving anything, so a refused region
 * leaves the set unchanged. Regions that only touch ([a,b) and [b,c)) do not
 * overlap. */
#include "project3/vmexit/mmio.h"

void mmio_ctl_init(struct mmio_ctl *ctl)
{
	for (unsigned i = 0; i < MMIO_CTL_MAX_REGIONS; i++)
		ctl->handlers[i] = NULL;
	ctl->count = 0;
}

/* Index of the first region whose start is greater than gpa (0..count). */
static unsigned upper_bound(const struct mmio_ctl *ctl, gpa_t gpa)
{
	unsigned lo = 0, hi = ctl->count;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (ctl->handlers[mid]->region.start <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum mmio_ctl_error mmio_ctl_register(struct mmio_ctl *ctl, struct mmio_handler *h)
{
	gpa_t start = h->region.start, end = h->region.end;
	if (start >= end)
		return MMIO_CTL_EMPTY;

	unsigned pos = upper_bound(ctl, start);
	/* The predecessor starts at or below start: it overlaps if it ends past it. */
	if (pos > 0 && ctl->handlers[pos - 1]->region.end > start)
		return MMIO_CTL_OVERLAP;
	/* The successor starts above start: it overlaps if it starts before end. */
	if (pos < ctl->count && ctl->handlers[pos]->region.start < end)
		return MMIO_CTL_OVERLAP;
	if (ctl->count >= MMIO_CTL_MAX_REGIONS)
		return MMIO_CTL_FULL;

	for (unsigned i = ctl->count; i > pos; i--)
		ctl->handlers[i] = ctl->handlers[i - 1];
	ctl->handlers[pos] = h;
	ctl->count++;
	return MMIO_CTL_OK;
}

struct mmio_handler *mmio_ctl_lookup(struct mmio_ctl *ctl, gpa_t gpa)
{
	unsigned pos = upper_bound(ctl, gpa);
	if (pos == 0)
		return NULL;
	struct mmio_handler *h = ctl->handlers[pos - 1];
	return gpa < h->region.end ? h : NULL;
}
