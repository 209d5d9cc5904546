/* Host tests of elf_symbol_at (project3/keos_vm/elf.c), which names guest
 * addresses in the reports of VMs that hang: an image with a symbol table
 * built in memory, lookups inside, between and outside symbols, and hostile
 * section headers that must give "unknown" without reading outside the file. */
#include <check.h>
#include <string.h>
#include "project3/keos_vm/elf.h"

#define FILE_SIZE 0x1000
#define SHOFF 0x800
#define SYMOFF 0x100
#define STROFF 0x400
#define BASE 0xffffffff80001000ull

static unsigned char file[FILE_SIZE];
static int reads_outside;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	(void)ctx;
	if (off > FILE_SIZE || len > FILE_SIZE - off) {
		reads_outside++;
		return -1;
	}
	memcpy(buf, file + off, len);
	return 0;
}

static struct elf64_shdr *sh(int i) { return (struct elf64_shdr *)(file + SHOFF + i * 64); }

static void build(void)
{
	memset(file, 0, sizeof(file));
	reads_outside = 0;
	struct elf64_ehdr *h = (struct elf64_ehdr *)file;
	memcpy(h->ident, "\177ELF\2\1\1", 7);
	h->type = 2;
	h->machine = 62;
	h->version = 1;
	h->shoff = SHOFF;
	h->shentsize = 64;
	h->shnum = 3;
	static const char strings[] = "\0alpha\0beta\0gamma\0notype\0undefined";
	memcpy(file + STROFF, strings, sizeof(strings));
	struct elf64_sym syms[] = {
		{ 0 },
		{ 1, 0x12, 0, 1, BASE, 0x100 },            /* alpha: global function */
		{ 7, 0x02, 0, 1, BASE + 0x100, 0x40 },     /* beta: local function */
		{ 12, 0x11, 0, 2, BASE + 0x200, 0x10 },    /* gamma: object */
		{ 18, 0x10, 0, 1, BASE + 0x150, 0 },       /* notype: ignored */
		{ 25, 0x12, 0, 0, BASE + 0x160, 0x10 },    /* undefined: ignored */
	};
	memcpy(file + SYMOFF, syms, sizeof(syms));
	*sh(1) = (struct elf64_shdr){ .type = 2, .offset = SYMOFF, .size = sizeof(syms), .link = 2, .entsize = 24 };
	*sh(2) = (struct elf64_shdr){ .type = 3, .offset = STROFF, .size = sizeof(strings) };
}

static bool lookup(uint64_t addr, char *name, size_t size, uint64_t *off)
{
	return elf_symbol_at(mem_read, NULL, FILE_SIZE, addr, name, size, off);
}

START_TEST(names_addresses_inside_symbols)
{
	build();
	char name[32];
	uint64_t off;
	ck_assert(lookup(BASE, name, sizeof(name), &off));
	ck_assert_str_eq(name, "alpha");
	ck_assert_uint_eq(off, 0);
	ck_assert(lookup(BASE + 0xff, name, sizeof(name), &off));
	ck_assert_str_eq(name, "alpha");
	ck_assert_uint_eq(off, 0xff);
	ck_assert(lookup(BASE + 0x123, name, sizeof(name), &off));
	ck_assert_str_eq(name, "beta");
	ck_assert_uint_eq(off, 0x23);
	ck_assert(lookup(BASE + 0x20f, name, sizeof(name), &off));
	ck_assert_str_eq(name, "gamma");
	ck_assert_int_eq(reads_outside, 0);
}
END_TEST

START_TEST(unknown_between_and_outside_symbols)
{
	build();
	char name[32];
	uint64_t off;
	ck_assert(!lookup(BASE - 1, name, sizeof(name), &off));
	ck_assert(!lookup(BASE + 0x150, name, sizeof(name), &off));   /* past beta; notype ignored */
	ck_assert(!lookup(BASE + 0x165, name, sizeof(name), &off));   /* an undefined symbol */
	ck_assert(!lookup(BASE + 0x210, name, sizeof(name), &off));
	ck_assert_int_eq(reads_outside, 0);
}
END_TEST

START_TEST(long_names_are_cut)
{
	build();
	char name[4];
	uint64_t off;
	ck_assert(lookup(BASE + 1, name, sizeof(name), &off));
	ck_assert_str_eq(name, "alp");
}
END_TEST

START_TEST(hostile_headers_give_unknown)
{
	char name[32];
	uint64_t off;
	build();
	sh(1)->offset = FILE_SIZE - 8;                /* symbols past the end */
	ck_assert(!lookup(BASE, name, sizeof(name), &off));
	build();
	sh(1)->link = 9;                              /* no such string table */
	ck_assert(!lookup(BASE, name, sizeof(name), &off));
	build();
	sh(2)->size = UINT64_MAX;                     /* strings wrap around */
	ck_assert(!lookup(BASE, name, sizeof(name), &off));
	build();
	((struct elf64_ehdr *)file)->shoff = UINT64_MAX - 10;
	ck_assert(!lookup(BASE, name, sizeof(name), &off));
	build();
	sh(1)->type = 1;                              /* no symbol table at all */
	ck_assert(!lookup(BASE, name, sizeof(name), &off));
	build();
	((struct elf64_sym *)(file + SYMOFF))[1].name = 0x7fff;   /* name outside the strings */
	ck_assert(!lookup(BASE + 1, name, sizeof(name), &off));
	ck_assert_int_eq(reads_outside, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("elf_symbols");
	TCase *tc = tcase_create("elf_symbols");
	tcase_add_test(tc, names_addresses_inside_symbols);
	tcase_add_test(tc, unknown_between_and_outside_symbols);
	tcase_add_test(tc, long_names_are_cut);
	tcase_add_test(tc, hostile_headers_give_unknown);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
