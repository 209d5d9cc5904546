/* Host tests of the guest-image ELF parser (project3/keos_vm/elf.c): a valid
 * image built in memory, then one corruption per validation rule, each of
 * which must give its own error and never read outside the buffer. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include "project3/keos_vm/elf.h"

#define FILE_SIZE 0x3000


static unsigned char file[FILE_SIZE];
static int reads_outside;

static struct elf64_ehdr *eh(void) { return (struct elf64_ehdr *)file; }
static struct elf64_phdr *ph(int i) { return (struct elf64_phdr *)(file + 64 + i * 56); }

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	uint64_t size = *(uint64_t *)ctx;
	if (off > size || len > size - off) {
		reads_outside++;
		return -1;
	}
	memcpy(buf, file + off, len);
	return 0;
}

/* A keos-shaped image: a low boot segment (vaddr == paddr, holds the entry),
 * a high text segment, a note, and a data segment with bss. */
static void build_valid(void)
{
	memset(file, 0, sizeof(file));
	reads_outside = 0;
	memcpy(eh()->ident, "\177ELF\2\1\1", 7);
	eh()->type = 2;
	eh()->machine = 62;
	eh()->version = 1;
	eh()->entry = 0x100020;
	eh()->phoff = 64;
	eh()->phentsize = 56;
	eh()->phnum = 4;
	eh()->ehsize = 64;
	*ph(0) = (struct elf64_phdr){ 1, 5, 0x1000, 0x100000, 0x100000, 0x800, 0x800, 0x1000 };
	*ph(1) = (struct elf64_phdr){ 1, 5, 0x1800, 0xffffffff80101000, 0x101000, 0x800, 0x800, 0x1000 };
	*ph(2) = (struct elf64_phdr){ 4, 4, 0x200, 0, 0, 0x20, 0x20, 4 };
	*ph(3) = (struct elf64_phdr){ 1, 6, 0x2000, 0xffffffff80102000, 0x102000, 0x1000, 0x5000, 0x1000 };
}

static enum elf_error parse(uint64_t size, struct elf_image *img)
{
	uint64_t s = size;
	return elf_parse(mem_read, &s, size, img);
}

START_TEST(valid_image)
{
	build_valid();
	struct elf_image img;
	ck_assert_int_eq(parse(FILE_SIZE, &img), ELF_OK);
	ck_assert_uint_eq(img.nsegments, 3);
	ck_assert_uint_eq(img.entry_paddr, 0x100020);
	ck_assert_uint_eq(img.segments[1].paddr, 0x101000);
	ck_assert_uint_eq(img.segments[2].memsz, 0x5000);
	ck_assert_ptr_eq(elf_segment_at(&img, 0x106fff), &img.segments[2]);
	ck_assert_ptr_null(elf_segment_at(&img, 0x107000));
	ck_assert_int_eq(reads_outside, 0);
}
END_TEST

START_TEST(entry_in_high_segment_is_translated)
{
	build_valid();
	eh()->entry = 0xffffffff80101010;
	struct elf_image img;
	ck_assert_int_eq(parse(FILE_SIZE, &img), ELF_OK);
	ck_assert_uint_eq(img.entry_paddr, 0x101010);
}
END_TEST

struct corruption {
	const char *what;
	void (*apply)(void);
	enum elf_error expect;
};

static void c_magic(void) { file[1] = 'X'; }
static void c_class(void) { file[4] = 1; }
static void c_endian(void) { file[5] = 2; }
static void c_version(void) { eh()->version = 2; }
static void c_type(void) { eh()->type = 3; }
static void c_machine(void) { eh()->machine = 3; }
static void c_phentsize(void) { eh()->phentsize = 32; }
static void c_phnum_zero(void) { eh()->phnum = 0; }
static void c_phnum_huge(void) { eh()->phnum = 0xffff; }
static void c_phoff_past_end(void) { eh()->phoff = FILE_SIZE - 100; }
static void c_phoff_wraps(void) { eh()->phoff = UINT64_MAX - 10; }
static void c_seg_past_file(void) { ph(1)->filesz = FILE_SIZE; }
static void c_seg_offset_wraps(void) { ph(1)->offset = UINT64_MAX - 0x10; }
static void c_filesz_gt_memsz(void) { ph(3)->memsz = 0x10; }
static void c_paddr_wraps(void) { ph(3)->paddr = UINT64_MAX - 0x100; }
static void c_memsz_zero(void) { ph(0)->memsz = 0; ph(0)->filesz = 0; }
static void c_overlap(void) { ph(3)->paddr = 0x101400; }
static void c_entry_outside(void) { eh()->entry = 0x5000000; }
static void c_entry_not_exec(void) { eh()->entry = 0xffffffff80102010; }
static void c_no_load(void) { ph(0)->type = 4; ph(1)->type = 4; ph(3)->type = 6; }

static const struct corruption corruptions[] = {
	{ "bad magic", c_magic, ELF_ERR_MAGIC },
	{ "32-bit class", c_class, ELF_ERR_CLASS },
	{ "big endian", c_endian, ELF_ERR_ENDIAN },
	{ "version", c_version, ELF_ERR_VERSION },
	{ "shared object", c_type, ELF_ERR_TYPE },
	{ "i386 machine", c_machine, ELF_ERR_MACHINE },
	{ "phentsize", c_phentsize, ELF_ERR_PHDR },
	{ "no program headers", c_phnum_zero, ELF_ERR_PHDR },
	{ "too many program headers", c_phnum_huge, ELF_ERR_PHDR },
	{ "table past end of file", c_phoff_past_end, ELF_ERR_PHDR },
	{ "table offset wraps", c_phoff_wraps, ELF_ERR_PHDR },
	{ "segment past end of file", c_seg_past_file, ELF_ERR_SEGMENT_FILE },
	{ "segment offset wraps", c_seg_offset_wraps, ELF_ERR_SEGMENT_FILE },
	{ "filesz > memsz", c_filesz_gt_memsz, ELF_ERR_SEGMENT_SIZE },
	{ "paddr + memsz wraps", c_paddr_wraps, ELF_ERR_SEGMENT_SIZE },
	{ "empty segment", c_memsz_zero, ELF_ERR_SEGMENT_SIZE },
	{ "overlapping segments", c_overlap, ELF_ERR_OVERLAP },
	{ "entry outside every segment", c_entry_outside, ELF_ERR_ENTRY },
	{ "entry in a data segment", c_entry_not_exec, ELF_ERR_ENTRY },
	{ "no loadable segment", c_no_load, ELF_ERR_NO_SEGMENTS },
};

START_TEST(each_corruption_has_its_error)
{
	const struct corruption *c = &corruptions[_i];
	build_valid();
	c->apply();
	struct elf_image img;
	enum elf_error e = parse(FILE_SIZE, &img);
	ck_assert_msg(e == c->expect, "%s: got '%s', expected '%s'", c->what,
	              elf_strerror(e), elf_strerror(c->expect));
	ck_assert_int_eq(reads_outside, 0);
}
END_TEST

START_TEST(truncated_files_never_read_outside)
{
	for (uint64_t size = 0; size < FILE_SIZE; size += 7) {
		build_valid();
		struct elf_image img;
		enum elf_error e = parse(size, &img);
		ck_assert_int_eq(reads_outside, 0);
		if (size < 64)
			ck_assert_int_eq(e, ELF_ERR_TRUNCATED);
		else if (size < 0x3000)
			ck_assert_int_ne(e, ELF_OK);
	}
}
END_TEST

START_TEST(too_many_segments)
{
	build_valid();
	eh()->phnum = ELF_MAX_SEGMENTS + 1;
	for (int i = 0; i < ELF_MAX_SEGMENTS + 1; i++)
		*ph(i) = (struct elf64_phdr){ 1, 5, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0x10, 0x10, 0x1000 };
	eh()->entry = 0x100000;
	struct elf_image img;
	ck_assert_int_eq(parse(FILE_SIZE, &img), ELF_ERR_TOO_MANY);
}
END_TEST

START_TEST(reader_errors_propagate)
{
	build_valid();
	struct elf_image img;
	uint64_t lie = 64;      /* claims a bigger file than the reader can serve */
	ck_assert_int_eq(elf_parse(mem_read, &lie, FILE_SIZE, &img), ELF_ERR_IO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("elf");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, valid_image);
	tcase_add_test(tc, entry_in_high_segment_is_translated);
	tcase_add_loop_test(tc, each_corruption_has_its_error, 0,
	                    sizeof(corruptions) / sizeof(corruptions[0]));
	tcase_add_test(tc, truncated_files_never_read_outside);
	tcase_add_test(tc, too_many_segments);
	tcase_add_test(tc, reader_errors_propagate);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
