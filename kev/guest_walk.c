/* The guest page-table walk (see guest_walk.h).
 *
 * Level 4 is the PML4, indexed by gva bits 47-39; level 1 is the page table,
 * bits 20-12. A PS entry ends the walk at level 3 (1 GiB) or level 2 (2 MiB);
 * PS in a PML4 entry is reserved and refused, and so is NX while EFER.NXE is
 * clear (the bit is then reserved). Permissions are the AND of W and U and
 * the OR of NX over every level, as the MMU combines them. */
#include "kev/guest_walk.h"

static bool canonical48(gva_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

enum guest_walk_error guest_walk(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
                                 gva_t gva, guest_read64_fn read, void *ctx,
                                 struct guest_walk *out)
{
	*out = (struct guest_walk){ .writable = true, .user = true, .executable = true };
	if (!(cr0 & GUEST_CR0_PG)) {
		out->gpa = gva;
		return GWALK_OK;
	}
	if (!(cr4 & GUEST_CR4_PAE) || !(efer & GUEST_EFER_LMA) || (cr4 & GUEST_CR4_LA57))
		return GWALK_UNSUPPORTED;
	out->paging = true;
	if (!canonical48(gva))
		return GWALK_NON_CANONICAL;
	gpa_t table = cr3 & GPTE_ADDR;
	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		gpa_t slot = table + ((gva >> shift) & 0x1ff) * 8;
		uint64_t e;
		if (!read(ctx, slot, &e))
			return GWALK_BAD_TABLE;
		if (!(e & GPTE_P)) {
			out->fault_level = level;
			return GWALK_NOT_PRESENT;
		}
		if ((e & GPTE_NX) && !(efer & GUEST_EFER_NXE)) {
			out->fault_level = level;
			return GWALK_RESERVED;
		}
		out->writable &= (e & GPTE_W) != 0;
		out->user &= (e & GPTE_U) != 0;
		out->executable &= (e & GPTE_NX) == 0;
		if (level == 1 || ((e & GPTE_PS) && level <= 3)) {
			uint64_t size = 1ull << shift;
			gpa_t base = e & GPTE_ADDR;
			/* A large page's address bits below its size are reserved (bit 12 is PAT). */
			if (level > 1 && (base & (size - 1) & ~0x1000ull)) {
				out->fault_level = level;
				return GWALK_RESERVED;
			}
			base &= ~(size - 1);
			out->page_size = size;
			out->gpa = base | (gva & (size - 1));
			return GWALK_OK;
		}
		if (e & GPTE_PS) {
			out->fault_level = level;
			return GWALK_RESERVED;
		}
		table = e & GPTE_ADDR;
	}
	return GWALK_UNSUPPORTED;   /* not reached */
}

enum guest_walk_error guest_walk_permits(const struct guest_walk *w, enum guest_access access,
                                         unsigned cpl, uint64_t cr0, uint64_t cr4,
                                         uint64_t rflags)
{
	if (!w->paging)
		return GWALK_OK;
	bool user_mode = cpl == 3;
	if (user_mode && !w->user)
		return GWALK_USER_TO_SUPERVISOR;
	if (access == GUEST_ACCESS_FETCH) {
		if (!w->executable)
			return GWALK_NO_EXECUTE;
		if (!user_mode && w->user && (cr4 & GUEST_CR4_SMEP))
			return GWALK_SUPERVISOR_TO_USER;
		return GWALK_OK;
	}
	if (!user_mode && w->user && (cr4 & GUEST_CR4_SMAP) && !(rflags & GUEST_RFLAGS_AC))
		return GWALK_SUPERVISOR_TO_USER;
	if (access == GUEST_ACCESS_WRITE && !w->writable && (user_mode || (cr0 & GUEST_CR0_WP)))
		return GWALK_READ_ONLY;
	return GWALK_OK;
}

const char *guest_access_name(enum guest_access access)
{
	switch (access) {
	case GUEST_ACCESS_READ: return "read";
	case GUEST_ACCESS_WRITE: return "write";
	case GUEST_ACCESS_FETCH: return "fetch";
	}
	return "access";
}

const char *guest_walk_strerror(enum guest_walk_error e)
{
	switch (e) {
	case GWALK_OK: return "ok";
	case GWALK_NOT_PRESENT: return "not present in the guest's page tables";
	case GWALK_RESERVED: return "reserved bits set in a guest page-table entry";
	case GWALK_NON_CANONICAL: return "non-canonical address";
	case GWALK_BAD_TABLE: return "a guest page table is outside guest RAM";
	case GWALK_UNSUPPORTED: return "unsupported guest paging mode";
	case GWALK_USER_TO_SUPERVISOR: return "user-mode access to a supervisor page (U=0)";
	case GWALK_SUPERVISOR_TO_USER: return "supervisor access to a user page (SMEP/SMAP)";
	case GWALK_READ_ONLY: return "write to a read-only page (W=0)";
	case GWALK_NO_EXECUTE: return "instruction fetch from a no-execute page (NX=1)";
	}
	return "unknown error";
}
