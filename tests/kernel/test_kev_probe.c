/* kev's probe and nested-table plumbing, from the host side (no guest runs):
 * guest-physical copies page by page, their failures, the walk of the flat
 * boot's page tables, and pages mapped into a VM after it was built. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "kev/probe.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "keos/mm/palloc.h"
#include <string.h>

KTEST(kev_probe_copies_across_pages)
{
	struct vm *vm = vm_create(1, 3 * 4096);
	KASSERT(vm != NULL);
	uint8_t out[6000], in[6000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	/* Spans all three pages: 100 bytes before the end of page 0 to page 2. */
	bool wrote = probe_write(&vm->probe, 4096 - 100, out, sizeof(out));
	bool read = probe_read(&vm->probe, 4096 - 100, in, sizeof(in));
	/* The bytes are where a host walk of the nested table says. */
	uint8_t *page1 = vm_gpa_to_hva(vm, 4096);
	bool placed = page1 && page1[0] == out[100] && page1[4095] == out[100 + 4095];
	vm_destroy(vm);
	KASSERT(wrote && read);
	KASSERT(!memcmp(in, out, sizeof(in)));
	KASSERT(placed);
}

KTEST(kev_probe_fails_cleanly_outside_ram)
{
	struct vm *vm = vm_create(1, 2 * 4096);
	KASSERT(vm != NULL);
	uint8_t buf[64];
	memset(buf, 0xab, sizeof(buf));
	bool straddle = probe_write(&vm->probe, 2 * 4096 - 32, buf, sizeof(buf));
	uint8_t last[32];
	bool tail_read = probe_read(&vm->probe, 2 * 4096 - 32, last, sizeof(last));
	bool beyond = probe_read(&vm->probe, 1ull << 30, buf, 1);
	bool wraps = probe_read(&vm->probe, ~0ull - 10, buf, 64);
	bool empty = probe_read(&vm->probe, 1ull << 40, buf, 0);
	vm_destroy(vm);
	KASSERT(!straddle);          /* 32 bytes in RAM, 32 beyond: refused whole */
	KASSERT(tail_read);
	for (size_t i = 0; i < sizeof(last); i++)
		KASSERT_EQ(last[i], 0);  /* ... and nothing of it was written */
	KASSERT(!beyond);
	KASSERT(!wraps);
	KASSERT(empty);
}

KTEST(kev_probe_walks_guest_page_tables)
{
	struct guest_image img = GUEST_IMAGE(exit);
	struct vm *vm = kev_test_vm(img, 1);
	struct vcpu *v = vm->vcpus[0];
	gpa_t gpa = 0;
	enum guest_walk_error werr;
	bool inside = vcpu_gva_to_gpa(v, 0x12345, &gpa, &werr);
	gpa_t high = 0;
	bool at_3g = vcpu_gva_to_gpa(v, 0xc0001234, &high, NULL);
	bool beyond = vcpu_gva_to_gpa(v, 0x100000000ull, &high, &werr);
	enum guest_walk_error beyond_err = werr;
	bool noncanon = vcpu_gva_to_gpa(v, 0x0000800000000000ull, &high, &werr);
	enum guest_walk_error noncanon_err = werr;
	uint8_t insn[15];
	size_t n = vcpu_fetch_insn(v, insn, sizeof(insn));
	bool same = n == sizeof(insn) && !memcmp(insn, img.start, sizeof(insn));
	vm_destroy(vm);
	KASSERT(inside);
	KASSERT_EQ(gpa, 0x12345);
	KASSERT(at_3g);
	KASSERT(!beyond);
	KASSERT_EQ(beyond_err, GWALK_NOT_PRESENT);
	KASSERT(!noncanon);
	KASSERT_EQ(noncanon_err, GWALK_NON_CANONICAL);
	KASSERT(same);               /* the bytes at RIP are the image's first */
}

KTEST(kev_npt_map_and_unmap_a_page)
{
	struct vm *vm = vm_create(1, 4096);
	KASSERT(vm != NULL);
	void *page = page_alloc();
	KASSERT(page != NULL);
	memcpy(page, "device", 7);
	char buf[8] = { 0 };
	enum ept_mapping_error e1 = vm_npt_map(vm, 0x200000, page, EPT_PERM_READ);
	enum ept_mapping_error dup = vm_npt_map(vm, 0x200000, page, EPT_PERM_READ);
	bool read = probe_read(&vm->probe, 0x200000, buf, 7);
	void *back = NULL;
	enum ept_mapping_error e2 = vm_npt_unmap(vm, 0x200000, &back);
	bool after = probe_read(&vm->probe, 0x200000, buf, 1);
	bool flush = vm->vcpus[0]->flush_tlb;
	vm_destroy(vm);
	page_free(page);
	KASSERT_EQ(e1, EPT_OK);
	KASSERT_EQ(dup, EPT_ERR_DUPLICATED);
	KASSERT(read && !strcmp(buf, "device"));
	KASSERT_EQ(e2, EPT_OK);
	KASSERT(back == page);
	KASSERT(!after);
	KASSERT(flush);              /* the guest TLB is flushed before the next run */
}

/* A vCPU's translations are remembered with the entries they read and the
 * nested-table pages they went through: a changed guest entry, or a nested
 * page unmapped under them, must show at the very next translation. */
KTEST(kev_vcpu_translations_follow_page_table_changes)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(exit), 1);
	struct vcpu *v = vm->vcpus[0];
	gpa_t first = 0, second = 0, third = 0;
	enum guest_walk_error e1 = vcpu_translate(v, 0x200123, GUEST_ACCESS_READ, &first);
	enum guest_walk_error e1again = vcpu_translate(v, 0x200456, GUEST_ACCESS_READ, &first);
	/* The flat map's second 2 MiB entry now maps 4 MiB. */
	uint64_t pde = 0x400000 | 0x83;
	bool wrote = probe_write(&vm->probe, KEV_FLAT_PD_GPA + 8, &pde, sizeof(pde));
	enum guest_walk_error e2 = vcpu_translate(v, 0x200123, GUEST_ACCESS_READ, &second);
	/* The page directory itself leaves the nested table. */
	enum ept_mapping_error unmapped = vm_npt_unmap(vm, KEV_FLAT_PD_GPA, NULL);
	enum guest_walk_error e3 = vcpu_translate(v, 0x200123, GUEST_ACCESS_READ, &third);
	vm_destroy(vm);
	KASSERT_EQ(e1, GWALK_OK);
	KASSERT_EQ(e1again, GWALK_OK);
	KASSERT_EQ(first, 0x200456);
	KASSERT(wrote);
	KASSERT_EQ(e2, GWALK_OK);
	KASSERT_EQ(second, 0x400123);
	KASSERT_EQ(unmapped, EPT_OK);
	KASSERT(e3 != GWALK_OK);
}
