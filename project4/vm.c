/* Wiring project4's VM. The devices are attached before the first vCPU
 * runs, the x2APIC first: every project4 guest runs with its timer, so the
 * svirtb tests run preemptively too. Attach maps svirtb's register page into
 * the VM's nested table once, whatever the number of vCPUs (KeV attached per
 * vCPU and mapped the page twice). The devices outlive the VM: vm_destroy
 * stops the x2APIC's timers (its destroy hook), then the devices are freed. */
#include "project4/vm.h"
#include "keos/lib/format.h"
#include "keos/mm/kmalloc.h"
#include "kev/vm.h"

/* svirtb's spec forbids a ring or a buffer over the register page; the
 * device's check that both are all guest RAM covers it, because no VM has
 * RAM up there. */
_Static_assert(SIMPLE_VIRTIO_REGION_START >= KEV_MAX_RAM,
               "svirtb's register page must lie above every VM's RAM");

struct x2apic *project4_attach_x2apic(struct keos_vm *k, char *why, size_t why_size)
{
	struct x2apic *apic = x2apic_new();
	if (!apic) {
		ksnprintf(why, why_size, "x2apic: out of memory");
		return NULL;
	}
	enum x2apic_error err = x2apic_attach(apic, k->vm);
	if (err != X2APIC_OK) {
		ksnprintf(why, why_size, "x2apic: attach failed: %s", x2apic_strerror(err));
		x2apic_free(apic);
		return NULL;
	}
	return apic;
}

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

bool project4_attach_devices(struct project4_vm *p, char *why, size_t why_size)
{
	p->apic = project4_attach_x2apic(p->k, why, why_size);
	if (p->apic)
		p->svirtb = project4_attach_svirtb(p->k, why, why_size);
	return p->apic && p->svirtb;
}

void project4_free_devices(struct project4_vm *p)
{
	x2apic_free(p->apic);
	simple_virtio_free(p->svirtb);
	p->apic = NULL;
	p->svirtb = NULL;
}

struct project4_vm *project4_vm_create(const struct keos_vm_config *cfg, char *why, size_t why_size)
{
	struct project4_vm *p = kzalloc(sizeof(*p));
	if (!p) {
		ksnprintf(why, why_size, "out of memory");
		return NULL;
	}
	p->k = keos_vm_create(cfg, why, why_size);
	if (!p->k || !project4_attach_devices(p, why, why_size)) {
		if (p->k)
			keos_vm_destroy(p->k);
		project4_free_devices(p);
		kfree(p);
		return NULL;
	}
	return p;
}

void project4_vm_destroy(struct project4_vm *p)
{
	keos_vm_destroy(p->k);
	project4_free_devices(p);
	kfree(p);
}
