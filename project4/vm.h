/* The project4 VM: gKeOS booted by kev with the svirtb device attached
 * (KeV's VmState): the lazy pager and the #NPF controller of project3, and
 * the Simple VirtIO Block device at 0xcafe0000 backed by the host file
 * disk_file. */
#ifndef PROJECT4_VM_H
#define PROJECT4_VM_H
#include "project3/keos_vm/keos_vm.h"
#include "project4/dev/simple_virtio.h"

struct project4_vm {
	struct keos_vm *k;
	struct simple_virtio_dev *svirtb;
};

/* Opens disk_file and attaches a new svirtb device to k; NULL with a reason in why on error. */
struct simple_virtio_dev *project4_attach_svirtb(struct keos_vm *k, char *why, size_t why_size);
/* Builds the VM (cfg as for keos_vm_create) with svirtb attached; NULL with a reason in why. */
struct project4_vm *project4_vm_create(const struct keos_vm_config *cfg, char *why, size_t why_size);
/* Frees the VM, then the device. */
void project4_vm_destroy(struct project4_vm *p);
#endif
