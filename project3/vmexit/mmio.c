/* The MMIO exit controller.
 *
 * A nested page fault (exit 0x400) carries the faulting guest-physical
 * address in EXITINFO2. A RAM address that is simply not loaded yet goes to
 * the lazy pager. An address inside a registered device region is an access
 * to a device register: the instruction at the guest's RIP is fetched
 * through the guest's own page tables (there is no decode assist under
 * QEMU), decoded, and handed to the device as a struct mmio_info. A read's
 * answer is written to the destination register with x86 semantics; then
 * RIP moves past the instruction, whose length only the decoder knows.
 *
 * What the controller cannot make sense of stops the VM with the reason and
 * the instruction bytes: an undecodable instruction, or a device error. An
 * address that is neither RAM nor a device is passed on, and kev reports it. */
#include "project3/vmexit/mmio_exit.h"
#include "project3/vmexit/mmio_decode.h"
#include "project3/keos_vm/pager.h"
#include "kev/vcpu.h"
#include "kev/vm.h"

static enum vmexit_verdict device_access(struct npf_controller *npf, struct vcpu *v,
                                         struct mmio_handler *h, gpa_t gpa)
{
	uint8_t bytes[15];
	size_t n = vcpu_fetch_insn(v, bytes, sizeof(bytes));
	struct mmio_insn in;
	enum mmio_decode_error derr = mmio_decode(bytes, n, &in);
	if (derr != MMIO_DECODE_OK) {
		char hex[64];
		mmio_format_bytes(bytes, n, hex, sizeof(hex));
		vcpu_fail(v, VM_ERR_DECODE,
		          "cannot decode the access to device address 0x%lx at rip 0x%lx: %s (bytes: %s)",
		          gpa, v->state.rip, mmio_decode_strerror(derr), n ? hex : "none readable");
		return VMEXIT_STOP;
	}
	struct mmio_info info;
	mmio_insn_to_info(&in, v->state.gpr, gpa, &info);
	uint64_t answer = 0;
	enum vm_error err = h->handle(h, &v->vm->probe, &info, &answer, &v->state);
	if (err != VM_ERR_NONE) {
		vcpu_fail(v, err, "the device at 0x%lx failed on a %u-byte %s at rip 0x%lx",
		          h->region.start, info.size, info.dir == MMIO_WRITE ? "write" : "read",
		          v->state.rip);
		return VMEXIT_STOP;
	}
	if (info.dir == MMIO_READ)
		mmio_insn_apply_read(&in, v->state.gpr, answer);
	vcpu_skip(v, in.length);
	__atomic_add_fetch(&npf->mmio_exits, 1, __ATOMIC_RELAXED);
	return VMEXIT_RESUME;
}

static enum vmexit_verdict npf_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                      const struct exit_reason *e)
{
	struct npf_controller *npf = ctl->priv;
	if (e->code != SVM_EXIT_NPF)
		return VMEXIT_PASS;
	gpa_t gpa = e->u.npf.gpa;
	if (npf->pager && gpa < pager_ram_bytes(npf->pager)) {
		__atomic_add_fetch(&npf->ram_faults, 1, __ATOMIC_RELAXED);
		if (try_lazy_paging(npf->pager, gpa))
			return VMEXIT_RESUME;
		vcpu_fail(v, VM_ERR_NO_MEMORY, "cannot load guest RAM page 0x%lx", gpa);
		return VMEXIT_STOP;
	}
	struct mmio_handler *h = npf->mmio ? mmio_ctl_lookup(npf->mmio, gpa) : NULL;
	if (!h)
		return VMEXIT_PASS;
	return device_access(npf, v, h, gpa);
}

void npf_controller_init(struct npf_controller *npf, struct kernel_vm_pager *pager,
                         struct mmio_ctl *mmio)
{
	*npf = (struct npf_controller){
		.ctl = { "npf (lazy paging, MMIO)", npf_handle, npf },
		.pager = pager,
		.mmio = mmio,
	};
}
