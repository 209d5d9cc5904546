/* The project4 VM: gKeOS booted by kev with project4's devices attached
 * (KeV's VmState): the lazy pager and the #NPF controller of project3, the
 * x2APIC (part 1: one local APIC per vCPU with its TSC-deadline timer, so
 * gKeOS schedules preemptively) and the Simple VirtIO Block device at
 * 0xcafe0000 backed by the host file disk_file (part 2). */
#ifndef PROJECT4_VM_H
#define PROJECT4_VM_H
#include "project3/keos_vm/keos_vm.h"
#include "project4/dev/simple_virtio.h"
#include "project4/dev/x2apic.h"

struct project4_vm {
	struct keos_vm *k;
	struct x2apic *apic;
	struct simple_virtio_dev *svirtb;
};

/* Attaches a new x2APIC to k (before it runs); NULL with a reason in why on error. */
struct x2apic *project4_attach_x2apic(struct keos_vm *k, char *why, size_t why_size);
/* Opens disk_file and attaches a new svirtb device to k; NULL with a reason in why on error. */
struct simple_virtio_dev *project4_attach_svirtb(struct keos_vm *k, char *why, size_t why_size);
/* Attaches both devices to p->k (the x2APIC first); false with a reason in why, nothing left attached to free. */
bool project4_attach_devices(struct project4_vm *p, char *why, size_t why_size);
/* Frees p's devices (after the VM is destroyed) and clears the pointers. */
void project4_free_devices(struct project4_vm *p);
/* Builds the VM (cfg as for keos_vm_create) with both devices attached; NULL with a reason in why. */
struct project4_vm *project4_vm_create(const struct keos_vm_config *cfg, char *why, size_t why_size);
/* Frees the VM, then the devices. */
void project4_vm_destroy(struct project4_vm *p);
#endif
