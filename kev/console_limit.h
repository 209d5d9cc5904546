/* Console rate limits of a VM.
 *
 * A guest prints as fast as it can exit (COM1, the PUTS hypercall), and a
 * student's device prints with printk on the vCPU thread that runs it: either
 * could bury the host console (and slow the host down printing). Each VM has
 * two line budgets: its guest's console lines, and the host lines printed on
 * its behalf by its vCPU threads. A budget lets burst lines through at once,
 * then rate lines a second; a line over budget is counted and dropped. A
 * notice says how many were dropped: before the next line that goes out, at
 * most once a second, and at the end of the VM. The guest's capture
 * (vm_console) does not depend on the budget.
 *
 * Host lines are seen through a console hook (keos/lib/printk.h) that
 * kev_console_attach() puts on each vCPU thread before it enters the guest.
 * The hook also records the VM's last host line (vm_last_host_line). kev's
 * own stop report, which starts "kev: vm N vcpu M: " (vcpu_fail), is always
 * printed and never recorded as a host line.
 *
 * A budget is the generic cell rate algorithm on one word, updated with
 * compare-and-swap: no lock (printk may run anywhere), and zeroed memory is a
 * full budget. */
#ifndef KEV_CONSOLE_LIMIT_H
#define KEV_CONSOLE_LIMIT_H
#include "kev/types.h"
#include "keos/lib/printk.h"

struct vm;
struct vcpu;

/* The budgets: a guest's console lines, and host lines on a VM's behalf. */
#define KEV_GUEST_LINES_BURST    200
#define KEV_GUEST_LINES_PER_SEC  50
#define KEV_HOST_LINES_BURST     40
#define KEV_HOST_LINES_PER_SEC   10

struct line_budget {
	uint64_t tat;            /* when the budget is full again, in 1/rate ticks */
	uint64_t printed;        /* lines let through */
	uint64_t dropped;        /* lines dropped */
	uint64_t unreported;     /* dropped since the last notice */
	uint64_t next_notice;    /* the tick before which no notice is due */
	uint64_t notices;        /* notices printed (kev/console_limit.c) */
	uint64_t forced;         /* printed whatever the budget (kev's stop reports) */
};

/* A VM's console state (struct vm's console). */
struct kev_console {
	struct line_budget guest_lines;
	struct line_budget host_lines;
	uint32_t last_line_lock;   /* serializes writers of vm->last_host_line */
};

/* A vCPU's console hook (struct vcpu's console_hook). */
struct kev_console_hook {
	struct console_hook hook;  /* first: the hook keos calls is this struct */
	struct vcpu *vcpu;
};

/* Takes cost lines from b (burst lines at once, then rate a second) at timer
 * tick now; false, counting them as dropped, when over budget. When it
 * returns true, *unreported is how many lines were dropped since the last
 * notice if a notice is due (at most one a second), else 0; the caller
 * prints the notice. */
bool line_budget_take(struct line_budget *b, unsigned burst, unsigned rate, unsigned cost,
                      uint64_t now, uint64_t *unreported);
/* The lines dropped and not reported yet, now counted as reported (for the
 * last notice, at the VM's end). */
uint64_t line_budget_unreported(struct line_budget *b);

/* Puts v's console hook on the calling thread (v's own vCPU thread). */
void kev_console_attach(struct vcpu *v);
/* True if the guest's next console line may go to the host console; prints
 * the notice of lines dropped before it first. */
bool kev_console_guest_line(struct vm *vm);
/* Prints the notices of lines dropped and not reported yet (at the VM's end). */
void kev_console_flush_notices(struct vm *vm);
#endif
