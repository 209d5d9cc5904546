/* Guest memory as a vCPU sees it: guest-virtual addresses translated through
 * the guest's own page tables (its current CR0, CR3, CR4 and EFER) with the
 * access checks its MMU would make at its current privilege (the CPL the VMCB
 * holds), then copied through the VM's probe. Exit handlers use this to read
 * hypercall arguments and the instruction bytes at RIP (there is no decode
 * assist), and the MMIO controller to check the address an instruction
 * accesses. The code mode and segment bases come from the VMCB, which holds
 * the guest's segment registers as they were at the exit. Guest-physical
 * pages are found through a per-vCPU cache of nested-table translations
 * (struct vcpu_npt_cache): a walk reads the same few pages at every exit. */
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/probe.h"
#include "kev/vmcb.h"
#include "keos/arch/x86.h"
#include <string.h>

#define RFLAGS_VM (1ull << 17)
#define INSN_BYTES_MAX 15

/* The host address of guest-physical page gpa for this vCPU's own reads, or
 * NULL if it is not guest memory: the vCPU's small cache of nested-table
 * translations first, then vm_gpa_to_hva (which may load a lazy page). */
static const uint8_t *host_page(struct vcpu *v, gpa_t gpa)
{
	struct vcpu_npt_cache *c = &v->npt_cache;
	gpa_t page = gpa / GUEST_PAGE_SIZE;
	unsigned slot = page % VCPU_NPT_CACHE_SLOTS;
	uint64_t generation = __atomic_load_n(&v->vm->npt_generation, __ATOMIC_ACQUIRE);
	if (c->generation != generation) {
		memset(c, 0, sizeof(*c));
		c->generation = generation;
	}
	if (c->page[slot] != page + 1) {
		const uint8_t *hva = vm_gpa_to_hva(v->vm, page * GUEST_PAGE_SIZE);
		if (!hva)
			return NULL;
		c->page[slot] = page + 1;
		c->hva[slot] = hva;
	}
	return c->hva[slot];
}

/* Copies len bytes of guest-physical memory at gpa, all in one page. */
static bool read_in_page(struct vcpu *v, gpa_t gpa, void *buf, size_t len)
{
	const uint8_t *page = host_page(v, gpa);
	if (!page)
		return false;
	const uint8_t *src = page + gpa % GUEST_PAGE_SIZE;
	if (len > INSN_BYTES_MAX) {
		memcpy(buf, src, len);
		return true;
	}
	/* Instruction bytes: a few loads beat the string copy's setup. */
	uint8_t *dst = buf;
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i];
	return true;
}

/* Reads the 8-byte page-table entry at gpa (aligned, so within one page)
 * with one load. */
static bool read_entry(struct vcpu *v, gpa_t gpa, uint64_t *value)
{
	const uint8_t *page = host_page(v, gpa);
	if (!page)
		return false;
	*value = *(const uint64_t *)(page + gpa % GUEST_PAGE_SIZE);
	return true;
}

static bool read_gpa64(void *ctx, gpa_t gpa, uint64_t *value)
{
	struct vcpu *v = ctx;
	if (!read_entry(v, gpa, value))
		return false;
	struct vcpu_walk_memo *m = v->recording;
	if (m && m->nentries < VCPU_WALK_MAX_ENTRIES) {
		m->entry_gpa[m->nentries] = gpa;
		m->entry[m->nentries] = *value;
	}
	if (m)
		m->nentries++;
	return true;
}

unsigned vcpu_cpl(const struct vcpu *v)
{
	return v->vmcb->save.cpl & 3;
}

/* True if memo m is the walk of gva for this vCPU as it is now: same key,
 * and every entry the walk read still holds the value it read. */
static bool memo_holds(struct vcpu *v, const struct vcpu_walk_memo *m, gva_t gva)
{
	const struct vcpu_state *s = &v->state;
	if (!m->valid || m->gva_page != gva / GUEST_PAGE_SIZE || m->cr3 != s->cr3 ||
	    m->cr0 != s->cr0 || m->cr4 != s->cr4 || m->efer != s->efer ||
	    m->rflags_ac != (s->rflags & GUEST_RFLAGS_AC) || m->cpl != vcpu_cpl(v))
		return false;
	for (unsigned i = 0; i < m->nentries; i++) {
		uint64_t now;
		if (!read_entry(v, m->entry_gpa[i], &now) || now != m->entry[i])
			return false;
	}
	return true;
}

enum guest_walk_error vcpu_translate(struct vcpu *v, gva_t gva, enum guest_access access,
                                     gpa_t *gpa)
{
	const struct vcpu_state *s = &v->state;
	struct vcpu_walk_memo *m = &v->walk_memo[access];
	if (memo_holds(v, m, gva)) {
		*gpa = m->gpa_page * GUEST_PAGE_SIZE + gva % GUEST_PAGE_SIZE;
		return GWALK_OK;
	}
	struct guest_walk w;
	m->valid = false;
	m->nentries = 0;
	v->recording = m;
	enum guest_walk_error err = guest_walk(s->cr0, s->cr3, s->cr4, s->efer, gva, read_gpa64, v, &w);
	v->recording = NULL;
	if (err == GWALK_OK)
		err = guest_walk_permits(&w, access, vcpu_cpl(v), s->cr0, s->cr4, s->rflags);
	if (err != GWALK_OK)
		return err;
	*gpa = w.gpa;
	m->gva_page = gva / GUEST_PAGE_SIZE;
	m->cr0 = s->cr0, m->cr3 = s->cr3, m->cr4 = s->cr4, m->efer = s->efer;
	m->rflags_ac = s->rflags & GUEST_RFLAGS_AC;
	m->cpl = vcpu_cpl(v);
	m->gpa_page = w.gpa / GUEST_PAGE_SIZE;
	m->valid = m->nentries <= VCPU_WALK_MAX_ENTRIES;
	return GWALK_OK;
}

bool vcpu_gva_to_gpa(struct vcpu *v, gva_t gva, gpa_t *gpa, enum guest_walk_error *werr)
{
	enum guest_walk_error err = vcpu_translate(v, gva, GUEST_ACCESS_READ, gpa);
	if (werr)
		*werr = err;
	return err == GWALK_OK;
}

/* Copies len bytes at gva, page by page, each page checked for access. */
static bool read_gva(struct vcpu *v, gva_t gva, void *buf, size_t len, enum guest_access access)
{
	uint8_t *out = buf;
	while (len) {
		size_t chunk = GUEST_PAGE_SIZE - (gva & (GUEST_PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		gpa_t gpa;
		if (vcpu_translate(v, gva, access, &gpa) != GWALK_OK ||
		    !read_in_page(v, gpa, out, chunk))
			return false;
		gva += chunk;
		out += chunk;
		len -= chunk;
	}
	return true;
}

bool vcpu_read_gva(struct vcpu *v, gva_t gva, void *buf, size_t len)
{
	return read_gva(v, gva, buf, len, GUEST_ACCESS_READ);
}

unsigned vcpu_code_bits(const struct vcpu *v)
{
	uint16_t cs = v->vmcb->save.cs.attrib;
	if ((v->state.efer & EFER_LMA) && (cs & SEG_ATTR_L))
		return 64;
	/* Virtual-8086 code is 16-bit. Real mode (CR0.PE=0) keeps the D bit of
	 * the CS descriptor cache, as the CPU does: 0 after reset or a real-mode
	 * far jump, so 16-bit unless the guest left protected mode with a
	 * 32-bit CS still loaded. */
	if (v->state.rflags & RFLAGS_VM)
		return 16;
	return (cs & SEG_ATTR_DB) ? 32 : 16;
}

uint64_t vcpu_segment_base(const struct vcpu *v, unsigned sreg)
{
	const struct vmcb_save_area *s = &v->vmcb->save;
	const struct vmcb_seg *segs[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };
	return sreg < 6 ? segs[sreg]->base : 0;
}

gva_t vcpu_rip_linear(const struct vcpu *v)
{
	if (vcpu_code_bits(v) == 64)
		return v->state.rip;
	return (uint32_t)(v->state.rip + vcpu_segment_base(v, 1));
}

size_t vcpu_fetch_insn(struct vcpu *v, uint8_t *buf, size_t max)
{
	gva_t linear = vcpu_rip_linear(v);
	size_t got = 0;
	while (got < max) {
		size_t chunk = GUEST_PAGE_SIZE - ((linear + got) & (GUEST_PAGE_SIZE - 1));
		if (chunk > max - got)
			chunk = max - got;
		if (!read_gva(v, linear + got, buf + got, chunk, GUEST_ACCESS_FETCH))
			break;
		got += chunk;
	}
	return got;
}
