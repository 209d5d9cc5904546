/* The nested page table (course name: EPT). See ept.h for the format.
 *
 * A walk indexes the four levels with bits 47-39, 38-30, 29-21 and 20-12 of
 * the gpa. Intermediate entries are present, writable, user and executable:
 * the leaf alone decides the permissions. Large pages are never created; an
 * entry with PS set (only code outside this file could have written one)
 * covers its gpa: map reports it as EPT_ERR_DUPLICATED, walk and unmap as
 * EPT_ERR_NOT_EXIST, since they only understand 4 KiB leaves. */
#include "project3/ept.h"
#include "keos/lib/printk.h"
#include <string.h>

#define PTE_P     (1ull << 0)
#define PTE_W     (1ull << 1)
#define PTE_U     (1ull << 2)
#define PTE_PS    (1ull << 7)
#define PTE_NX    (1ull << 63)
#define PTE_ADDR  0x000ffffffffff000ull
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U)
#define ENTRIES   512

static unsigned index_at(gpa_t gpa, int level)
{
	return (unsigned)(gpa >> (12 + 9 * level)) & (ENTRIES - 1);
}

enum ept_mapping_error ept_init(struct ept *ept)
{
	ept->pml4 = ept_table_alloc();
	return ept->pml4 ? EPT_OK : EPT_ERR_NO_MEMORY;
}

hpa_t ept_root_pa(const struct ept *ept)
{
	return ept_table_pa(ept->pml4);
}

/* BEGIN SOLUTION */
static uint64_t leaf_entry(hpa_t hpa, unsigned perm)
{
	uint64_t e = hpa | PTE_P | PTE_U;
	if (perm & EPT_PERM_WRITE)
		e |= PTE_W;
	if (!(perm & EPT_PERM_EXEC))
		e |= PTE_NX;
	return e;
}

static unsigned entry_perm(uint64_t e)
{
	unsigned perm = EPT_PERM_READ;
	if (e & PTE_W)
		perm |= EPT_PERM_WRITE;
	if (!(e & PTE_NX))
		perm |= EPT_PERM_EXEC;
	return perm;
}

/* Finds the level-0 (page table) entry for gpa in *slot. A missing table on
 * the way gives EPT_ERR_NOT_EXIST, or is allocated with create (then
 * EPT_ERR_NO_MEMORY if that fails); a large page on the way gives EPT_ERR_DUPLICATED. */
static enum ept_mapping_error leaf_slot(const struct ept *ept, gpa_t gpa, bool create,
                                        uint64_t **slot)
{
	uint64_t *table = ept->pml4;
	for (int level = 3; level > 0; level--) {
		uint64_t *e = &table[index_at(gpa, level)];
		if (!(*e & PTE_P)) {
			if (!create)
				return EPT_ERR_NOT_EXIST;
			void *next = ept_table_alloc();
			if (!next)
				return EPT_ERR_NO_MEMORY;
			*e = ept_table_pa(next) | TABLE_FLAGS;
		} else if (*e & PTE_PS) {
			return EPT_ERR_DUPLICATED;
		}
		table = ept_table_va(*e & PTE_ADDR);
	}
	*slot = &table[index_at(gpa, 0)];
	return EPT_OK;
}

static bool table_empty(const uint64_t *table)
{
	for (int i = 0; i < ENTRIES; i++)
		if (table[i])
			return false;
	return true;
}

static void free_level(uint64_t *table, int level)
{
	if (level > 0) {
		for (int i = 0; i < ENTRIES; i++)
			if ((table[i] & PTE_P) && !(table[i] & PTE_PS))
				free_level(ept_table_va(table[i] & PTE_ADDR), level - 1);
	}
	ept_table_free(table);
}
/* END SOLUTION */

/* Maps the 4 KiB host page at hpa at guest-physical gpa with perm (enum
 * ept_perm bits), building the missing PDPT, PD and PT on the way
 * (ept_table_alloc(); an intermediate entry is present, writable and user).
 * The leaf is present and user; writable iff EPT_PERM_WRITE; NX iff no
 * EPT_PERM_EXEC. Errors, checked in this order: EPT_ERR_BAD_PERM (no READ, or
 * a bit outside enum ept_perm), EPT_ERR_UNALIGNED (gpa or hpa), EPT_ERR_OUT_OF_RANGE
 * (gpa of 2^48 or more, hpa of 2^52 or more), EPT_ERR_DUPLICATED (gpa
 * already mapped: the table is left exactly as it was), EPT_ERR_NO_MEMORY. */
enum ept_mapping_error ept_map(struct ept *ept, gpa_t gpa, hpa_t hpa, unsigned perm)
{
	/* BEGIN SOLUTION */
	if (!(perm & EPT_PERM_READ) || (perm & ~(unsigned)EPT_PERM_RWX))
		return EPT_ERR_BAD_PERM;
	if ((gpa | hpa) & (GUEST_PAGE_SIZE - 1))
		return EPT_ERR_UNALIGNED;
	if (gpa >> EPT_GPA_BITS || hpa >> EPT_HPA_BITS)
		return EPT_ERR_OUT_OF_RANGE;
	/* Look before building, so a duplicate leaves no new empty tables behind.
	 * Tables built before running out of memory stay (empty, and reusable). */
	uint64_t *slot;
	enum ept_mapping_error err = leaf_slot(ept, gpa, false, &slot);
	if (err == EPT_OK && (*slot & PTE_P))
		return EPT_ERR_DUPLICATED;
	if (err == EPT_ERR_NOT_EXIST)
		err = leaf_slot(ept, gpa, true, &slot);
	if (err != EPT_OK)
		return err;
	*slot = leaf_entry(hpa, perm);
	return EPT_OK;
	/* END SOLUTION */
}

/* Removes the mapping of the page-aligned gpa and returns the page it mapped
 * in *hpa (if hpa is not NULL). A table the removal leaves empty is freed
 * (ept_table_free()) and its entry in the level above cleared, up to (not
 * including) the PML4. Errors: EPT_ERR_UNALIGNED, EPT_ERR_OUT_OF_RANGE,
 * EPT_ERR_NOT_EXIST (nothing mapped at gpa). */
enum ept_mapping_error ept_unmap(struct ept *ept, gpa_t gpa, hpa_t *hpa)
{
	/* BEGIN SOLUTION */
	if (gpa & (GUEST_PAGE_SIZE - 1))
		return EPT_ERR_UNALIGNED;
	if (gpa >> EPT_GPA_BITS)
		return EPT_ERR_OUT_OF_RANGE;
	/* Remember the path so empty tables can be freed bottom-up. */
	uint64_t *path[4];
	uint64_t *table = ept->pml4;
	for (int level = 3; level >= 0; level--) {
		uint64_t *e = &table[index_at(gpa, level)];
		path[level] = e;
		if (!(*e & PTE_P) || (level > 0 && (*e & PTE_PS)))
			return EPT_ERR_NOT_EXIST;
		if (level > 0)
			table = ept_table_va(*e & PTE_ADDR);
	}
	if (hpa)
		*hpa = *path[0] & PTE_ADDR;
	*path[0] = 0;
	/* path[level] lives in the table that path[level + 1] points to. */
	for (int level = 0; level < 3; level++) {
		uint64_t *t = ept_table_va(*path[level + 1] & PTE_ADDR);
		if (!table_empty(t))
			break;
		ept_table_free(t);
		*path[level + 1] = 0;
	}
	return EPT_OK;
	/* END SOLUTION */
}

/* Translates any gpa (aligned or not): *hpa receives the host-physical
 * address of that byte, *perm the page's enum ept_perm bits; either pointer
 * may be NULL. Changes nothing. Errors: EPT_ERR_OUT_OF_RANGE, EPT_ERR_NOT_EXIST
 * (some level on the way is not present). */
enum ept_mapping_error ept_walk(const struct ept *ept, gpa_t gpa, hpa_t *hpa, unsigned *perm)
{
	/* BEGIN SOLUTION */
	if (gpa >> EPT_GPA_BITS)
		return EPT_ERR_OUT_OF_RANGE;
	uint64_t *slot;
	if (leaf_slot(ept, gpa, false, &slot) != EPT_OK || !(*slot & PTE_P))
		return EPT_ERR_NOT_EXIST;
	if (hpa)
		*hpa = (*slot & PTE_ADDR) | (gpa & (GUEST_PAGE_SIZE - 1));
	if (perm)
		*perm = entry_perm(*slot);
	return EPT_OK;
	/* END SOLUTION */
}

/* Frees every table page of ept, the root included (never the pages the
 * leaves map: they belong to whoever mapped them), and sets ept->pml4 to NULL. */
void ept_destroy(struct ept *ept)
{
	/* BEGIN SOLUTION */
	if (ept->pml4)
		free_level(ept->pml4, 3);
	ept->pml4 = NULL;
	/* END SOLUTION */
}

const char *ept_strerror(enum ept_mapping_error e)
{
	switch (e) {
	case EPT_OK: return "ok";
	case EPT_ERR_DUPLICATED: return "already mapped";
	case EPT_ERR_UNALIGNED: return "not page-aligned";
	case EPT_ERR_NOT_EXIST: return "not mapped";
	case EPT_ERR_NO_MEMORY: return "out of memory";
	case EPT_ERR_BAD_PERM: return "bad permissions";
	case EPT_ERR_OUT_OF_RANGE: return "beyond the guest-physical address width";
	}
	return "unknown error";
}

#ifndef KEOS_HOST
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"

void *ept_table_alloc(void)
{
	return page_alloc();
}

void ept_table_free(void *table)
{
	page_free(table);
}

hpa_t ept_table_pa(const void *table)
{
	return virt_to_phys(table);
}

void *ept_table_va(hpa_t pa)
{
	return phys_to_virt(pa);
}
#endif
