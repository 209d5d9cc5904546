/* The MMIO exit controller.
 *
 * A nested page fault (exit 0x400) carries the faulting guest-physical
 * address in EXITINFO2 and a page-fault error code in EXITINFO1. A RAM
 * address that is simply not loaded yet goes to the lazy pager. An address
 * inside a registered device region is an access to a device register, but
 * the exit does not say its size or the value written: those come from the
 * instruction at the guest's RIP, which the controller fetches through the
 * guest's own page tables (there is no decode assist under QEMU) and decodes
 * in the guest's CPU mode (64-, 32- or 16-bit code).
 *
 * The bytes kev reads are not necessarily the bytes the CPU ran: another vCPU
 * may have rewritten them, or the guest may have changed a page-table entry
 * without INVLPG so that the CPU still uses the old translation. So before
 * any device sees the access, the controller checks that the exit and the
 * instruction describe the same access:
 *   1. the fault came from an instruction's data access: not from the
 *      guest's page-table walk (NPF_GUEST_PT), not from an instruction fetch
 *      (NPF_FETCH), not from delivering an interrupt or exception;
 *   2. the instruction is a MOV the decoder knows;
 *   3. it writes if and only if the exit is a write (the error code's W bit);
 *   4. its address, computed from its ModRM/SIB/displacement, the registers,
 *      the segment base and the address size, and translated through the
 *      guest's page tables with the access's rights at the guest's CPL, is
 *      the faulting address, and [gpa, gpa + size) lies in one page of the
 *      device's region.
 * Anything else stops the VM with one line that says which check failed
 * (and the instruction bytes); the device sees nothing.
 *
 * What a guest can still do: make kev emulate an instruction other than the
 * one the CPU ran, as long as it performs the identical access (same
 * address, direction, and a size that fits the region's page): e.g. the
 * CPU stores ECX but kev reads the bytes of a store of EDX, or of a 1-byte
 * store where the CPU stored 4 bytes, and RIP moves by the length of the
 * instruction kev decoded. That is harmless: each such access is one the
 * guest could make by running that instruction itself, from the same vCPU,
 * registers and page tables, so it gains no address, value or privilege it
 * did not have.
 *
 * A read's answer is written to the destination register with x86
 * semantics; then RIP moves past the instruction, whose length only the
 * decoder knows. An address that is neither RAM nor a device is passed on,
 * and kev reports it. */
#include "project3/vmexit/mmio_exit.h"
#include "project3/vmexit/mmio_decode.h"
#include "project3/keos_vm/pager.h"
#include "kev/exit.h"
#include "kev/vcpu.h"
#include "kev/vmcb.h"
#include "kev/vm.h"
#include "keos/lib/format.h"

/* Check 1: why the fault is not an instruction's data access, or NULL. */
static const char *not_a_data_access(const struct exit_reason *e)
{
	if (e->u.npf.error & NPF_GUEST_PT)
		return "the guest's page-table walk reached device memory (a guest page table lies in a device region)";
	if (e->u.npf.error & NPF_FETCH)
		return "instruction fetch from device memory";
	if (e->int_info & EVENT_VALID)
		return "the access came from delivering an interrupt or exception (the guest's stack or descriptor tables lie in device memory)";
	return NULL;
}

/* Checks 3 and 4: true if the decoded instruction makes exactly the access
 * the exit reports, inside one page of region r; otherwise false, with the
 * reason in why. */
static bool same_access_as_exit(struct vcpu *v, const struct exit_reason *e,
                                const struct mmio_insn *in, const struct mmio_region *r,
                                char *why, size_t why_size)
{
	bool insn_writes = in->dir == MMIO_WRITE;
	if (insn_writes != ((e->u.npf.error & NPF_WRITE) != 0)) {
		ksnprintf(why, why_size, "the exit is a %s but the instruction %s",
		          insn_writes ? "read" : "write", insn_writes ? "writes" : "reads");
		return false;
	}
	uint64_t linear = mmio_insn_linear_address(in, v->state.gpr, v->state.rip,
	                                           vcpu_segment_base(v, in->mem.seg));
	if ((linear & (GUEST_PAGE_SIZE - 1)) + in->size > GUEST_PAGE_SIZE) {
		ksnprintf(why, why_size, "the %u-byte access at address 0x%lx crosses a page boundary "
		          "(an access split between pages is not emulated)", in->size, linear);
		return false;
	}
	enum guest_access access = insn_writes ? GUEST_ACCESS_WRITE : GUEST_ACCESS_READ;
	gpa_t gpa;
	enum guest_walk_error werr = vcpu_translate(v, linear, access, &gpa);
	if (werr != GWALK_OK) {
		ksnprintf(why, why_size, "the instruction's address 0x%lx does not translate for a %s "
		          "at CPL %u: %s", linear, guest_access_name(access), vcpu_cpl(v),
		          guest_walk_strerror(werr));
		return false;
	}
	if (gpa != e->u.npf.gpa) {
		ksnprintf(why, why_size, "the instruction accesses gpa 0x%lx (address 0x%lx), not the "
		          "faulting gpa: the instruction or the guest's page tables changed after it ran",
		          gpa, linear);
		return false;
	}
	if (gpa + in->size > r->end) {
		ksnprintf(why, why_size, "the %u-byte access runs past the end of the device region "
		          "[0x%lx, 0x%lx)", in->size, r->start, r->end);
		return false;
	}
	return true;
}

/* Why the instruction bytes at RIP + n could not be fetched. */
static void describe_unfetchable(struct vcpu *v, size_t n, char *buf, size_t size)
{
	gva_t at = vcpu_rip_linear(v) + n;
	gpa_t gpa;
	enum guest_walk_error werr = vcpu_translate(v, at, GUEST_ACCESS_FETCH, &gpa);
	if (werr != GWALK_OK)
		ksnprintf(buf, size, "; address 0x%lx: %s", at, guest_walk_strerror(werr));
	else
		ksnprintf(buf, size, "; address 0x%lx is gpa 0x%lx, not guest RAM", at, gpa);
}

static enum vmexit_verdict device_access(struct npf_controller *npf, struct vcpu *v,
                                         struct mmio_handler *h, const struct exit_reason *e)
{
	gpa_t gpa = e->u.npf.gpa;
	const char *kind = not_a_data_access(e);
	if (kind) {
		vcpu_fail(v, VM_ERR_BAD_GUEST_ACCESS, "refused the access to device address 0x%lx at "
		          "rip 0x%lx: %s", gpa, v->state.rip, kind);
		return VMEXIT_STOP;
	}

	enum mmio_cpu_mode mode = (enum mmio_cpu_mode)vcpu_code_bits(v);
	uint8_t bytes[MMIO_INSN_MAX_LEN];
	size_t n = vcpu_fetch_insn(v, bytes, sizeof(bytes));
	char hex[3 * MMIO_INSN_MAX_LEN + 1];
	mmio_format_bytes(bytes, n, hex, sizeof(hex));
	struct mmio_insn in;
	enum mmio_decode_error derr = mmio_decode(bytes, n, mode, &in);
	if (derr != MMIO_DECODE_OK) {
		char unfetchable[120] = "";
		if (n < sizeof(bytes))
			describe_unfetchable(v, n, unfetchable, sizeof(unfetchable));
		vcpu_fail(v, VM_ERR_DECODE,
		          "cannot decode the access to device address 0x%lx at rip 0x%lx (%s code): "
		          "%s (bytes: %s%s)", gpa, v->state.rip, mmio_cpu_mode_name(mode),
		          mmio_decode_strerror(derr), n ? hex : "none readable", unfetchable);
		return VMEXIT_STOP;
	}

	mmio_format_bytes(bytes, in.length, hex, sizeof(hex));
	char why[200];
	if (!same_access_as_exit(v, e, &in, &h->region, why, sizeof(why))) {
		vcpu_fail(v, VM_ERR_BAD_GUEST_ACCESS, "refused the access to device address 0x%lx at "
		          "rip 0x%lx: %s (bytes: %s)", gpa, v->state.rip, why, hex);
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
	/* IP and EIP wrap around like the CPU's own. */
	if (mode != MMIO_MODE_64)
		v->state.rip &= mode == MMIO_MODE_32 ? 0xffffffffull : 0xffffull;
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
	return device_access(npf, v, h, e);
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
