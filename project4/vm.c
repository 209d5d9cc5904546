/* Wiring project4's VM. The device is attached before the first vCPU runs:
 * attach maps the register page into the VM's nested table once, whatever
 * the number of vCPUs (KeV attached per vCPU and mapped the page twice). */
#include "project4/vm.h"
#include "keos/lib/format.h"
#include "keos/mm/kmalloc.h"

struct simple_virtio_dev *project4_attach_svirtb(struct keos_vm *k, char *why, size_t why_size)
{
	struct simple_virtio_dev *dev = simple_virtio_new();
	if (!dev) {
		ksnprintf(why, why_size, "svirtb: no file disk_file in the host file system (or no memory)");
		return NULL;
	}
	enum simple_virtio_error err = simple_virtio_attach(dev, k->pager, &k->mmio);
	if (err != SIMPLE_VIRTIO_OK) {
		ksnprintf(why, why_size, "svirtb: attach failed: %s", simple_virtio_strerror(err));
		simple_virtio_free(dev);
		return NULL;
	}
	return dev;
}

struct project4_vm *project4_vm_create(const struct keos_vm_config *cfg, char *why, size_t why_size)
{
	struct project4_vm *p = kzalloc(sizeof(*p));
	if (!p) {
		ksnprintf(why, why_size, "out of memory");
		return NULL;
	}
	p->k = keos_vm_create(cfg, why, why_size);
	if (p->k)
		p->svirtb = project4_attach_svirtb(p->k, why, why_size);
	if (!p->svirtb) {
		if (p->k)
			keos_vm_destroy(p->k);
		kfree(p);
		return NULL;
	}
	return p;
}

void project4_vm_destroy(struct project4_vm *p)
{
	keos_vm_destroy(p->k);
	simple_virtio_free(p->svirtb);
	kfree(p);
}
