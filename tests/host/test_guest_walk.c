/* Host tests for the guest page-table walk (kev/guest_walk.c).
 *
 * Guest-physical memory is a byte array (gpa = offset) with a hole, read
 * through the same callback shape the kernel gives the walk (the probe).
 * Each test builds its own tables: PML4 at 0x1000, PDPT 0x2000, PD 0x3000,
 * PT 0x4000, and checks the translation, the combined permissions, or the
 * error with the level it happened at; then the access checks of
 * guest_walk_permits() for each privilege, access kind and control bit. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "kev/guest_walk.h"

#define MEM_SIZE   (64 * 4096)
#define HOLE_START 0x20000ull      /* reads here fail, as outside guest RAM */
#define HOLE_END   0x21000ull
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD   0x3000ull
#define PT   0x4000ull
#define P  GPTE_P
#define W  GPTE_W
#define U  GPTE_U
#define PS GPTE_PS
#define NX GPTE_NX

#define CR0_PG_PE (GUEST_CR0_PG | GUEST_CR0_PE)

static uint8_t mem[MEM_SIZE];
static unsigned reads;

static bool read64(void *ctx, gpa_t gpa, uint64_t *value)
{
	ck_assert_ptr_eq(ctx, mem);
	reads++;
	if (gpa + 8 > MEM_SIZE || gpa + 8 < gpa || (gpa < HOLE_END && gpa + 8 > HOLE_START))
		return false;
	memcpy(value, mem + gpa, 8);
	return true;
}

static void set(gpa_t table, unsigned index, uint64_t entry)
{
	memcpy(mem + table + index * 8, &entry, 8);
}

static void setup(void)
{
	memset(mem, 0, sizeof(mem));
	reads = 0;
}

static enum guest_walk_error walk(gva_t gva, struct guest_walk *w)
{
	return guest_walk(CR0_PG_PE, PML4, GUEST_CR4_PAE, GUEST_EFER_LMA | GUEST_EFER_NXE | (1u << 8),
	                  gva, read64, mem, w);
}

/* gva 0x40201000 + off -> the 4 KiB page at 0x9000: PML4[0], PDPT[1], PD[1], PT[1]. */
static void map_4k(uint64_t pml4e, uint64_t pdpte, uint64_t pde, uint64_t pte)
{
	set(PML4, 0, PDPT | pml4e);
	set(PDPT, 1, PD | pdpte);
	set(PD, 1, PT | pde);
	set(PT, 1, 0x9000 | pte);
}

START_TEST(paging_off_is_identity)
{
	struct guest_walk w;
	ck_assert_int_eq(guest_walk(GUEST_CR0_PE, 0, 0, 0, 0x12345678, read64, mem, &w), GWALK_OK);
	ck_assert_uint_eq(w.gpa, 0x12345678);
	ck_assert_uint_eq(reads, 0);
}
END_TEST

START_TEST(four_level_4k)
{
	map_4k(P | W | U, P | W | U, P | W | U, P | W | U);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x40201abc, &w), GWALK_OK);
	ck_assert_uint_eq(w.gpa, 0x9abc);
	ck_assert_uint_eq(w.page_size, 4096);
	ck_assert(w.writable && w.user && w.executable);
	ck_assert_uint_eq(reads, 4);
}
END_TEST

START_TEST(permissions_combine_over_levels)
{
	/* W cleared at the PD, U at the PML4, NX at the PDPT: each counts. */
	map_4k(P | W, P | W | U | NX, P | U, P | W | U);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_OK);
	ck_assert(!w.writable);
	ck_assert(!w.user);
	ck_assert(!w.executable);
	map_4k(P | W | U, P | W | U, P | W | U, P | U | NX);
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_OK);
	ck_assert(!w.writable && w.user && !w.executable);
}
END_TEST

START_TEST(large_2m_page)
{
	set(PML4, 0, PDPT | P | W);
	set(PDPT, 0, PD | P | W);
	set(PD, 3, 0x800000 | P | W | PS | (1ull << 12));    /* PAT bit: not an address bit */
	struct guest_walk w;
	ck_assert_int_eq(walk(0x6abcde, &w), GWALK_OK);
	ck_assert_uint_eq(w.gpa, 0x8abcde);
	ck_assert_uint_eq(w.page_size, 2u << 20);
	ck_assert_uint_eq(reads, 3);
	set(PD, 3, 0x801000 | P | W | PS | (1ull << 13));    /* misaligned base */
	ck_assert_int_eq(walk(0x6abcde, &w), GWALK_RESERVED);
	ck_assert_int_eq(w.fault_level, 2);
}
END_TEST

START_TEST(large_1g_page)
{
	set(PML4, 1, PDPT | P | W);
	set(PDPT, 2, 0xc0000000 | P | PS);
	struct guest_walk w;
	gva_t gva = (1ull << 39) + (2ull << 30) + 0x12345678;
	ck_assert_int_eq(walk(gva, &w), GWALK_OK);
	ck_assert_uint_eq(w.gpa, 0xc0000000ull + 0x12345678);
	ck_assert_uint_eq(w.page_size, 1ull << 30);
	ck_assert(!w.writable);
	set(PDPT, 2, 0xc0200000 | P | PS);                    /* misaligned base */
	ck_assert_int_eq(walk(gva, &w), GWALK_RESERVED);
	ck_assert_int_eq(w.fault_level, 3);
}
END_TEST

START_TEST(ps_in_pml4_is_reserved)
{
	set(PML4, 0, PDPT | P | W | PS);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x1000, &w), GWALK_RESERVED);
	ck_assert_int_eq(w.fault_level, 4);
}
END_TEST

START_TEST(not_present_at_each_level)
{
	struct guest_walk w;
	map_4k(0, P, P, P);
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_NOT_PRESENT);
	ck_assert_int_eq(w.fault_level, 4);
	map_4k(P, 0, P, P);
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_NOT_PRESENT);
	ck_assert_int_eq(w.fault_level, 3);
	map_4k(P, P, 0, P);
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_NOT_PRESENT);
	ck_assert_int_eq(w.fault_level, 2);
	map_4k(P, P, P, 0);
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_NOT_PRESENT);
	ck_assert_int_eq(w.fault_level, 1);
	map_4k(P, P, P, P);
	ck_assert_int_eq(walk(0x40202000, &w), GWALK_NOT_PRESENT);   /* the neighbour PTE */
	ck_assert_int_eq(w.fault_level, 1);
}
END_TEST

START_TEST(canonical_addresses)
{
	struct guest_walk w;
	ck_assert_int_eq(walk(0x0000800000000000ull, &w), GWALK_NON_CANONICAL);
	ck_assert_int_eq(walk(0xfffe000000000000ull, &w), GWALK_NON_CANONICAL);
	ck_assert_uint_eq(reads, 0);
	/* The high half indexes PML4 entries 256..511. */
	set(PML4, 256, PDPT | P | W);
	set(PDPT, 0, 0 | P | W | PS);
	ck_assert_int_eq(walk(0xffff800000001234ull, &w), GWALK_OK);
	ck_assert_uint_eq(w.gpa, 0x1234);
}
END_TEST

START_TEST(table_outside_ram)
{
	set(PML4, 0, HOLE_START | P | W);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x1000, &w), GWALK_BAD_TABLE);
	ck_assert_int_eq(guest_walk(CR0_PG_PE, 0x7fff000, GUEST_CR4_PAE, GUEST_EFER_LMA, 0, read64,
	                            mem, &w), GWALK_BAD_TABLE);
}
END_TEST

START_TEST(cr3_flag_bits_ignored)
{
	map_4k(P | W | U, P | W | U, P | W | U, P | W | U);
	struct guest_walk w;
	ck_assert_int_eq(guest_walk(CR0_PG_PE, PML4 | 0x18, GUEST_CR4_PAE, GUEST_EFER_LMA, 0x40201004,
	                            read64, mem, &w), GWALK_OK);
	ck_assert_uint_eq(w.gpa, 0x9004);
}
END_TEST

START_TEST(unsupported_modes)
{
	struct guest_walk w;
	/* 32-bit paging, PAE without long mode, 5-level paging. */
	ck_assert_int_eq(guest_walk(CR0_PG_PE, PML4, 0, 0, 0x1000, read64, mem, &w), GWALK_UNSUPPORTED);
	ck_assert_int_eq(guest_walk(CR0_PG_PE, PML4, GUEST_CR4_PAE, 0, 0x1000, read64, mem, &w),
	                 GWALK_UNSUPPORTED);
	ck_assert_int_eq(guest_walk(CR0_PG_PE, PML4, GUEST_CR4_PAE | GUEST_CR4_LA57, GUEST_EFER_LMA,
	                            0x1000, read64, mem, &w), GWALK_UNSUPPORTED);
	ck_assert_uint_eq(reads, 0);
	ck_assert_str_ne(guest_walk_strerror(GWALK_UNSUPPORTED), "unknown error");
}
END_TEST


START_TEST(nx_without_nxe_is_reserved)
{
	map_4k(P | W, P | W, P | W, P | W | NX);
	struct guest_walk w;
	ck_assert_int_eq(guest_walk(CR0_PG_PE, PML4, GUEST_CR4_PAE, GUEST_EFER_LMA, 0x40201000, read64,
	                            mem, &w), GWALK_RESERVED);
	ck_assert_int_eq(w.fault_level, 1);
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_OK);
	ck_assert(!w.executable);
}
END_TEST

/* The access check of a page with the given leaf bits (upper levels grant everything). */
static enum guest_walk_error access_to(uint64_t pte, enum guest_access a, unsigned cpl,
                                       uint64_t cr0, uint64_t cr4, uint64_t rflags)
{
	map_4k(P | W | U, P | W | U, P | W | U, pte);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_OK);
	return guest_walk_permits(&w, a, cpl, cr0, cr4, rflags);
}

#define READ  GUEST_ACCESS_READ
#define WRITE GUEST_ACCESS_WRITE
#define FETCH GUEST_ACCESS_FETCH
#define WP    GUEST_CR0_WP
#define SMEP  GUEST_CR4_SMEP
#define SMAP  GUEST_CR4_SMAP
#define AC    GUEST_RFLAGS_AC

START_TEST(user_mode_needs_u)
{
	for (int a = READ; a <= FETCH; a++) {
		ck_assert_int_eq(access_to(P | W, a, 3, WP, 0, 0), GWALK_USER_TO_SUPERVISOR);
		ck_assert_int_eq(access_to(P | W | U, a, 3, WP, 0, 0), GWALK_OK);
		/* Supervisor code may touch both (no SMEP/SMAP). */
		ck_assert_int_eq(access_to(P | W, a, 0, WP, 0, 0), GWALK_OK);
		ck_assert_int_eq(access_to(P | W | U, a, 0, WP, 0, 0), GWALK_OK);
	}
	/* CPL 1 and 2 are supervisor too. */
	ck_assert_int_eq(access_to(P | W, READ, 2, 0, 0, 0), GWALK_OK);
	/* U must be set at every level: clear it in the PML4 entry only. */
	map_4k(P | W, P | W | U, P | W | U, P | W | U);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_OK);
	ck_assert_int_eq(guest_walk_permits(&w, READ, 3, 0, 0, 0), GWALK_USER_TO_SUPERVISOR);
}
END_TEST

START_TEST(writes_need_w_at_cpl3_or_with_wp)
{
	ck_assert_int_eq(access_to(P | U, WRITE, 3, 0, 0, 0), GWALK_READ_ONLY);
	ck_assert_int_eq(access_to(P | U, WRITE, 3, WP, 0, 0), GWALK_READ_ONLY);
	ck_assert_int_eq(access_to(P | U, WRITE, 0, WP, 0, 0), GWALK_READ_ONLY);
	ck_assert_int_eq(access_to(P | U, WRITE, 0, 0, 0, 0), GWALK_OK);     /* WP=0: allowed */
	ck_assert_int_eq(access_to(P | U, READ, 3, WP, 0, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P | U | W, WRITE, 3, WP, 0, 0), GWALK_OK);
	/* W must be set at every level. */
	map_4k(P | W | U, P | U, P | W | U, P | W | U);
	struct guest_walk w;
	ck_assert_int_eq(walk(0x40201000, &w), GWALK_OK);
	ck_assert_int_eq(guest_walk_permits(&w, WRITE, 0, WP, 0, 0), GWALK_READ_ONLY);
}
END_TEST

START_TEST(fetch_needs_no_nx)
{
	ck_assert_int_eq(access_to(P | W | U | NX, FETCH, 0, 0, 0, 0), GWALK_NO_EXECUTE);
	ck_assert_int_eq(access_to(P | W | U | NX, FETCH, 3, 0, 0, 0), GWALK_NO_EXECUTE);
	ck_assert_int_eq(access_to(P | W | U | NX, READ, 3, 0, 0, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P | W | U | NX, WRITE, 3, 0, 0, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P | U, FETCH, 3, WP, 0, 0), GWALK_OK);   /* W is not needed */
}
END_TEST

START_TEST(smep_and_smap)
{
	/* SMEP: supervisor fetches from user pages fault; user fetches do not. */
	ck_assert_int_eq(access_to(P | U, FETCH, 0, 0, SMEP, 0), GWALK_SUPERVISOR_TO_USER);
	ck_assert_int_eq(access_to(P | U, FETCH, 3, 0, SMEP, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P, FETCH, 0, 0, SMEP, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P | U, READ, 0, 0, SMEP, 0), GWALK_OK);
	/* SMAP: supervisor data accesses to user pages fault unless RFLAGS.AC. */
	ck_assert_int_eq(access_to(P | U, READ, 0, 0, SMAP, 0), GWALK_SUPERVISOR_TO_USER);
	ck_assert_int_eq(access_to(P | W | U, WRITE, 0, 0, SMAP, 0), GWALK_SUPERVISOR_TO_USER);
	ck_assert_int_eq(access_to(P | U, READ, 0, 0, SMAP, AC), GWALK_OK);
	ck_assert_int_eq(access_to(P | U, READ, 3, 0, SMAP, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P | U, FETCH, 0, 0, SMAP, 0), GWALK_OK);
	ck_assert_int_eq(access_to(P, READ, 0, 0, SMAP, 0), GWALK_OK);
}
END_TEST

START_TEST(paging_off_allows_everything)
{
	struct guest_walk w;
	ck_assert_int_eq(guest_walk(GUEST_CR0_PE, 0, 0, 0, 0x1000, read64, mem, &w), GWALK_OK);
	ck_assert(!w.paging);
	for (int a = READ; a <= FETCH; a++)
		ck_assert_int_eq(guest_walk_permits(&w, a, 3, WP, SMEP | SMAP, 0), GWALK_OK);
}
END_TEST

START_TEST(access_names_and_messages)
{
	ck_assert_str_eq(guest_access_name(READ), "read");
	ck_assert_str_eq(guest_access_name(WRITE), "write");
	ck_assert_str_eq(guest_access_name(FETCH), "fetch");
	for (int e = GWALK_OK; e <= GWALK_NO_EXECUTE; e++) {
		const char *s = guest_walk_strerror(e);
		ck_assert_str_ne(s, "unknown error");
		for (int f = GWALK_OK; f < e; f++)
			ck_assert_str_ne(s, guest_walk_strerror(f));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_walk");
	TCase *tc = tcase_create("walk");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, paging_off_is_identity);
	tcase_add_test(tc, four_level_4k);
	tcase_add_test(tc, permissions_combine_over_levels);
	tcase_add_test(tc, large_2m_page);
	tcase_add_test(tc, large_1g_page);
	tcase_add_test(tc, ps_in_pml4_is_reserved);
	tcase_add_test(tc, not_present_at_each_level);
	tcase_add_test(tc, canonical_addresses);
	tcase_add_test(tc, table_outside_ram);
	tcase_add_test(tc, cr3_flag_bits_ignored);
	tcase_add_test(tc, unsupported_modes);
	tcase_add_test(tc, nx_without_nxe_is_reserved);
	tcase_add_test(tc, user_mode_needs_u);
	tcase_add_test(tc, writes_need_w_at_cpl3_or_with_wp);
	tcase_add_test(tc, fetch_needs_no_nx);
	tcase_add_test(tc, smep_and_smap);
	tcase_add_test(tc, paging_off_allows_everything);
	tcase_add_test(tc, access_names_and_messages);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
