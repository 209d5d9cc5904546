/* A VM that boots keos (gKeOS) from the host's file system: the builder that
 * puts kev, the lazy pager and the MMIO exit controller together.
 *
 *     struct keos_vm_config cfg = { "gKeOS", 32 * 1024, 1, "test=foo", 30 * TIMER_HZ };
 *     struct keos_vm *k = keos_vm_create(&cfg, why, sizeof(why));
 *     mmio_ctl_register(&k->mmio, &device->handler);   // devices, before start
 *     keos_vm_start(k);
 *     int status = keos_vm_join(k);   // vm_error(k->vm) says if it failed
 *     keos_vm_destroy(k);
 *
 * The guest starts as a multiboot loader leaves a kernel (32-bit protected
 * mode, paging off, EAX = 0x2BADB002, EBX = the information structure). */
#ifndef PROJECT3_KEOS_VM_KEOS_VM_H
#define PROJECT3_KEOS_VM_KEOS_VM_H
#include "project3/keos_vm/pager.h"
#include "project3/vmexit/mmio.h"
#include "project3/vmexit/mmio_exit.h"

struct keos_vm_config {
	const char *image;          /* file name in the host file system */
	uint64_t ram_kib;
	unsigned nvcpus;
	const char *cmdline;        /* the guest's multiboot command line */
	uint64_t timeout_ticks;     /* the VM is stopped after this long (0: never) */
};

struct keos_vm {
	struct vm *vm;
	struct kernel_vm_pager *pager;
	struct mmio_ctl mmio;
	struct npf_controller npf;
	uint64_t created_tick;
	struct file *image;         /* gKeOS, for naming guest addresses in reports */
};

/* Builds the VM; NULL with a one-line reason in why on error. */
struct keos_vm *keos_vm_create(const struct keos_vm_config *cfg, char *why, size_t why_size);
/* Starts the bootstrap vCPU; false when out of memory. */
bool keos_vm_start(struct keos_vm *k);
/* Waits for the VM to end and returns the guest's exit status (see vm_error). */
int keos_vm_join(struct keos_vm *k);
/* Frees the VM, the pager and every page the guest had. */
void keos_vm_destroy(struct keos_vm *k);
#endif
