/* The probe: host access to guest-physical memory (kev/probe.h).
 *
 * Every access goes through the VM's nested page table, one page at a time,
 * because contiguous guest pages need not be contiguous on the host (and
 * pages may be mapped lazily, or be a device's). A range is checked whole
 * before a single byte moves, so a copy that fails has changed nothing. A gpa
 * that is not mapped is offered to vm->npt_miss (the lazy pager) once.
 *
 * The probe writes only where the guest itself could: a page the nested
 * table maps without write permission (a device's register page, mapped
 * read-only so reads do not exit) is refused, or a guest could point a DMA
 * buffer at it and have a device overwrite its own registers. */
#include "kev/probe.h"
#include "kev/vm.h"
#include "keos/mm/vm.h"
#include "keos/sync/spinlock.h"
#include <string.h>

/* The host address of gpa's byte if it is mapped (and writable, if write). */
static void *walk(struct vm *vm, gpa_t gpa, bool write)
{
	hpa_t hpa;
	unsigned perm = 0;
	spin_lock(&vm->npt_lock);
	enum ept_mapping_error err = ept_walk(&vm->npt, gpa, &hpa, &perm);
	spin_unlock(&vm->npt_lock);
	if (err != EPT_OK || hpa >= PHYS_MAP_SIZE || (write && !(perm & EPT_PERM_WRITE)))
		return NULL;
	return phys_to_virt(hpa);
}

/* walk(), asking the lazy pager for the page once if it is not mapped. */
static void *translate(struct vm *vm, gpa_t gpa, bool write)
{
	void *hva = walk(vm, gpa, write);
	if (!hva && vm->npt_miss && vm->npt_miss(vm, gpa & ~(GUEST_PAGE_SIZE - 1)))
		hva = walk(vm, gpa, write);
	return hva;
}

void *vm_gpa_to_hva(struct vm *vm, gpa_t gpa)
{
	return translate(vm, gpa, false);
}

/* True if every byte of [gpa, gpa + len) is mapped (writable, if write); len > 0. */
static bool range_mapped(struct vm *vm, gpa_t gpa, size_t len, bool write)
{
	gpa_t last = gpa + len - 1;
	if (last < gpa)
		return false;
	for (gpa_t page = gpa & ~(GUEST_PAGE_SIZE - 1);; page += GUEST_PAGE_SIZE) {
		if (!translate(vm, page, write))
			return false;
		if (page >= (last & ~(GUEST_PAGE_SIZE - 1)))
			return true;
	}
}

/* Copies len bytes between guest memory at gpa and buf, page by page. */
static bool copy(struct probe *p, gpa_t gpa, void *buf, size_t len, bool to_guest)
{
	if (len == 0)
		return true;
	struct vm *vm = p->vm;
	if (!range_mapped(vm, gpa, len, to_guest))
		return false;
	uint8_t *b = buf;
	while (len) {
		size_t chunk = GUEST_PAGE_SIZE - (gpa & (GUEST_PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		uint8_t *hva = translate(vm, gpa, to_guest);
		if (!hva)
			return false;     /* unmapped meanwhile by another CPU */
		if (to_guest)
			memcpy(hva, b, chunk);
		else
			memcpy(b, hva, chunk);
		gpa += chunk;
		b += chunk;
		len -= chunk;
	}
	return true;
}

bool probe_read(struct probe *p, gpa_t gpa, void *buf, size_t len)
{
	return copy(p, gpa, buf, len, false);
}

bool probe_write(struct probe *p, gpa_t gpa, const void *buf, size_t len)
{
	return copy(p, gpa, (void *)buf, len, true);
}

bool probe_range_is_ram(struct probe *p, gpa_t gpa, uint64_t len)
{
	/* Guest RAM is [0, ram_bytes): one range, known when the VM was built. */
	return len == 0 || (gpa < p->vm->ram_bytes && len <= p->vm->ram_bytes - gpa);
}

bool probe_vm_stopping(struct probe *p)
{
	struct vm *vm = p->vm;
	return vm_stopping(vm) || vm_past_deadline(vm);
}

void *probe_page(struct probe *p, gpa_t gpa, bool write)
{
	if (!probe_range_is_ram(p, gpa, 1))
		return NULL;
	return translate(p->vm, gpa, write);
}
