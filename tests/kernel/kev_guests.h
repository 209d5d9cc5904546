/* Helpers for kev's kernel tests: the embedded guests (tests/guests/) and
 * running one in a fresh VM. */
#ifndef TESTS_KERNEL_KEV_GUESTS_H
#define TESTS_KERNEL_KEV_GUESTS_H
#include "kev/vm.h"
#include "kev/vcpu.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_image {
	const char *name;
	const uint8_t *start, *end;
};

#define GUEST_IMAGE(n)                                                         \
	({                                                                     \
		extern const uint8_t kev_guest_##n##_start[], kev_guest_##n##_end[];   \
		(struct guest_image){ #n, kev_guest_##n##_start, kev_guest_##n##_end }; \
	})

/* Guest RAM of the test VMs, and how long any test guest may run. */
#define KEV_TEST_RAM     (1u << 20)
#define KEV_TEST_TIMEOUT (20 * 100)      /* ticks: 20 s */

/* A VM with nvcpus vCPUs and KEV_TEST_RAM of RAM, the image loaded for the flat
 * 64-bit boot, and the test timeout; fails the test if any step fails. */
struct vm *kev_test_vm(struct guest_image img, unsigned nvcpus);
/* Runs vm to its end; returns the exit status. */
int kev_test_run(struct vm *vm);
/* True if needle occurs in hay. */
bool kev_contains(const char *hay, const char *needle);

/* --- the hostile-guest suite (tests/kernel/test_kev_hostile.c) --- */

/* A test VM (kev_test_vm) for a guest with its own IDT (tests/guests/hostile.h):
 * kev intercepts no exception, so the guest takes each one itself. */
struct vm *kev_test_vm_own_idt(struct guest_image img);
/* Runs a known-good guest (the hypercall guest) in a fresh VM and fails the
 * test unless it exits 0 without an error: the machine survived what ran
 * before. Returns the VM, already joined, for more checks (destroy it). */
struct vm *kev_run_next_vm_clean(void);
#endif
