/* ELF64 header and program-header validation.
 *
 * The checks run in file order: identification, header fields, the program
 * header table's place in the file, then each PT_LOAD. Sums of untrusted
 * 64-bit fields are checked for overflow before they are compared, so a
 * hostile header cannot wrap around a bound. Non-loadable program headers
 * (notes, GNU_STACK) are ignored. */
#include "project3/keos_vm/elf.h"
#include <stdbool.h>

#define PT_LOAD 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PF_X 1
#define PHDR_SIZE 56u
#define MAX_PHDRS 64u


static bool add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

static enum elf_error check_ident(const struct elf64_ehdr *h)
{
	const unsigned char *id = h->ident;
	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return ELF_ERR_MAGIC;
	if (id[4] != 2)
		return ELF_ERR_CLASS;
	if (id[5] != 1)
		return ELF_ERR_ENDIAN;
	if (id[6] != 1 || h->version != 1)
		return ELF_ERR_VERSION;
	if (h->type != ET_EXEC)
		return ELF_ERR_TYPE;
	if (h->machine != EM_X86_64)
		return ELF_ERR_MACHINE;
	return ELF_OK;
}

static enum elf_error check_segment(const struct elf64_phdr *p, uint64_t file_size)
{
	uint64_t file_end, mem_end;
	if (add_overflows(p->offset, p->filesz, &file_end) || file_end > file_size)
		return ELF_ERR_SEGMENT_FILE;
	if (p->filesz > p->memsz || p->memsz == 0 ||
	    add_overflows(p->paddr, p->memsz, &mem_end) ||
	    add_overflows(p->vaddr, p->memsz, &mem_end))
		return ELF_ERR_SEGMENT_SIZE;
	return ELF_OK;
}

static bool overlaps(const struct elf_segment *a, const struct elf_segment *b)
{
	return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

static enum elf_error add_segment(struct elf_image *img, const struct elf64_phdr *p)
{
	if (img->nsegments == ELF_MAX_SEGMENTS)
		return ELF_ERR_TOO_MANY;
	struct elf_segment s = {
		.offset = p->offset, .vaddr = p->vaddr, .paddr = p->paddr,
		.filesz = p->filesz, .memsz = p->memsz, .flags = p->flags,
	};
	for (unsigned i = 0; i < img->nsegments; i++)
		if (overlaps(&s, &img->segments[i]))
			return ELF_ERR_OVERLAP;
	img->segments[img->nsegments++] = s;
	return ELF_OK;
}

static enum elf_error find_entry(struct elf_image *img)
{
	for (unsigned i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->segments[i];
		if ((s->flags & PF_X) && img->entry_vaddr >= s->vaddr &&
		    img->entry_vaddr - s->vaddr < s->memsz) {
			img->entry_paddr = img->entry_vaddr - s->vaddr + s->paddr;
			return ELF_OK;
		}
	}
	return ELF_ERR_ENTRY;
}

enum elf_error elf_parse(elf_read_fn read, void *ctx, uint64_t file_size, struct elf_image *out)
{
	struct elf64_ehdr h;
	out->nsegments = 0;
	if (file_size < sizeof(h))
		return ELF_ERR_TRUNCATED;
	if (read(ctx, 0, &h, sizeof(h)))
		return ELF_ERR_IO;
	enum elf_error e = check_ident(&h);
	if (e)
		return e;
	uint64_t table_end;
	if (h.phentsize != PHDR_SIZE || h.phnum == 0 || h.phnum > MAX_PHDRS ||
	    add_overflows(h.phoff, (uint64_t)h.phnum * PHDR_SIZE, &table_end) ||
	    table_end > file_size)
		return ELF_ERR_PHDR;
	out->entry_vaddr = h.entry;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf64_phdr p;
		if (read(ctx, h.phoff + (uint64_t)i * PHDR_SIZE, &p, sizeof(p)))
			return ELF_ERR_IO;
		if (p.type != PT_LOAD)
			continue;
		if ((e = check_segment(&p, file_size)) || (e = add_segment(out, &p)))
			return e;
	}
	if (out->nsegments == 0)
		return ELF_ERR_NO_SEGMENTS;
	return find_entry(out);
}

const struct elf_segment *elf_segment_at(const struct elf_image *img, uint64_t pa)
{
	for (unsigned i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->segments[i];
		if (pa >= s->paddr && pa - s->paddr < s->memsz)
			return s;
	}
	return NULL;
}

const char *elf_strerror(enum elf_error e)
{
	switch (e) {
	case ELF_OK: return "ok";
	case ELF_ERR_IO: return "the file could not be read";
	case ELF_ERR_TRUNCATED: return "the file is shorter than an ELF header";
	case ELF_ERR_MAGIC: return "not an ELF file (bad magic)";
	case ELF_ERR_CLASS: return "not a 64-bit ELF file";
	case ELF_ERR_ENDIAN: return "not a little-endian ELF file";
	case ELF_ERR_VERSION: return "unknown ELF version";
	case ELF_ERR_TYPE: return "not an executable ELF file";
	case ELF_ERR_MACHINE: return "not an x86-64 ELF file";
	case ELF_ERR_PHDR: return "program header table has a bad entry size, count or place";
	case ELF_ERR_SEGMENT_FILE: return "a loadable segment lies outside the file";
	case ELF_ERR_SEGMENT_SIZE: return "a loadable segment has a bad size or address";
	case ELF_ERR_OVERLAP: return "two loadable segments overlap in physical memory";
	case ELF_ERR_TOO_MANY: return "too many loadable segments";
	case ELF_ERR_NO_SEGMENTS: return "no loadable segment";
	case ELF_ERR_ENTRY: return "the entry point is not in an executable segment";
	}
	return "unknown ELF error";
}
