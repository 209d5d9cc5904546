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

/* --- symbols ------------------------------------------------------------------ */

#define SHT_SYMTAB 2
#define SHDR_SIZE 64u
#define SYM_SIZE 24u
#define STT_OBJECT 1
#define STT_FUNC 2
#define SYM_CHUNK 64


/* Reads section header i; false if it lies outside the file. */
static bool read_shdr(elf_read_fn read, void *ctx, uint64_t file_size, const struct elf64_ehdr *h,
                      unsigned i, struct elf64_shdr *out)
{
	uint64_t off = h->shoff + (uint64_t)i * SHDR_SIZE, end;
	return i < h->shnum && !add_overflows(off, SHDR_SIZE, &end) && end <= file_size &&
	       read(ctx, off, out, sizeof(*out)) == 0;
}

static bool section_in_file(const struct elf64_shdr *s, uint64_t file_size)
{
	uint64_t end;
	return !add_overflows(s->offset, s->size, &end) && end <= file_size;
}

/* The best symbol for addr in one chunk of symbols: the highest value <= addr,
 * preferring one whose size covers addr. */
static void pick(const struct elf64_sym *syms, unsigned n, uint64_t addr, struct elf64_sym *best, bool *found)
{
	for (unsigned i = 0; i < n; i++) {
		const struct elf64_sym *y = &syms[i];
		unsigned type = y->info & 0xf;
		if ((type != STT_FUNC && type != STT_OBJECT) || y->shndx == 0 || y->value > addr)
			continue;
		if (y->size && addr - y->value >= y->size)
			continue;
		if (!*found || y->value > best->value) {
			*best = *y;
			*found = true;
		}
	}
}

bool elf_symbol_at(elf_read_fn read, void *ctx, uint64_t file_size, uint64_t addr,
                   char *name, size_t name_size, uint64_t *offset)
{
	struct elf64_ehdr h;
	struct elf64_shdr symtab, strtab;
	if (name_size == 0 || file_size < sizeof(h) || read(ctx, 0, &h, sizeof(h)) ||
	    check_ident(&h) != ELF_OK || h.shentsize != SHDR_SIZE)
		return false;
	unsigned i = 0;
	while (read_shdr(read, ctx, file_size, &h, i, &symtab) && symtab.type != SHT_SYMTAB)
		i++;
	if (i >= h.shnum || symtab.entsize != SYM_SIZE || !section_in_file(&symtab, file_size) ||
	    !read_shdr(read, ctx, file_size, &h, symtab.link, &strtab) ||
	    !section_in_file(&strtab, file_size))
		return false;
	struct elf64_sym chunk[SYM_CHUNK], best;
	bool found = false;
	uint64_t count = symtab.size / SYM_SIZE;
	for (uint64_t first = 0; first < count; first += SYM_CHUNK) {
		unsigned n = count - first < SYM_CHUNK ? (unsigned)(count - first) : SYM_CHUNK;
		if (read(ctx, symtab.offset + first * SYM_SIZE, chunk, n * SYM_SIZE))
			return false;
		pick(chunk, n, addr, &best, &found);
	}
	if (!found || best.name >= strtab.size)
		return false;
	uint64_t len = strtab.size - best.name < name_size - 1 ? strtab.size - best.name : name_size - 1;
	if (read(ctx, strtab.offset + best.name, name, len))
		return false;
	name[len] = '\0';
	*offset = addr - best.value;
	return name[0] != '\0';
}
