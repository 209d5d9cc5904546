/* Guest memory as a vCPU sees it: guest-virtual addresses translated through
 * the guest's own page tables (its current CR0, CR3, CR4 and EFER), then
 * copied through the VM's probe. Exit handlers use this to read hypercall
 * arguments and the instruction bytes at RIP (there is no decode assist). */
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/probe.h"
#include "kev/vmcb.h"
#include "keos/arch/x86.h"

static bool read_gpa64(void *ctx, gpa_t gpa, uint64_t *value)
{
	struct vcpu *v = ctx;
	return probe_read(&v->vm->probe, gpa, value, sizeof(*value));
}

bool vcpu_gva_to_gpa(struct vcpu *v, gva_t gva, gpa_t *gpa, enum guest_walk_error *werr)
{
	struct guest_walk w;
	enum guest_walk_error err = guest_walk(v->state.cr0, v->state.cr3, v->state.cr4,
	                                       v->state.efer, gva, read_gpa64, v, &w);
	if (werr)
		*werr = err;
	if (err != GWALK_OK)
		return false;
	*gpa = w.gpa;
	return true;
}

bool vcpu_read_gva(struct vcpu *v, gva_t gva, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len) {
		size_t chunk = GUEST_PAGE_SIZE - (gva & (GUEST_PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		gpa_t gpa;
		if (!vcpu_gva_to_gpa(v, gva, &gpa, NULL) || !probe_read(&v->vm->probe, gpa, out, chunk))
			return false;
		gva += chunk;
		out += chunk;
		len -= chunk;
	}
	return true;
}

size_t vcpu_fetch_insn(struct vcpu *v, uint8_t *buf, size_t max)
{
	uint64_t linear = v->state.rip;
	if (!(v->state.efer & EFER_LMA) || !(v->vmcb->save.cs.attrib & SEG_ATTR_L))
		linear = (uint32_t)(linear + v->vmcb->save.cs.base);
	size_t got = 0;
	while (got < max) {
		size_t chunk = GUEST_PAGE_SIZE - ((linear + got) & (GUEST_PAGE_SIZE - 1));
		if (chunk > max - got)
			chunk = max - got;
		if (!vcpu_read_gva(v, linear + got, buf + got, chunk))
			break;
		got += chunk;
	}
	return got;
}
