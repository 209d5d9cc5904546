/* ELF64 parsing for the guest kernel image (gKeOS).
 *
 * Only what a loader needs: the loadable segments with their physical
 * addresses and the entry point translated to a physical address. Every
 * field is validated against the file size before it is used; the file is
 * read through a callback so the image can stay on disk (the pager loads
 * pages on first touch). */
#ifndef PROJECT3_KEOS_VM_ELF_H
#define PROJECT3_KEOS_VM_ELF_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define ELF_MAX_SEGMENTS 16

/* The on-disk ELF64 file and program headers (System V ABI). */
struct elf64_ehdr {
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __attribute__((packed));

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
} __attribute__((packed));

/* A section header and a symbol table entry (for elf_symbol_at). */
struct elf64_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
} __attribute__((packed));

struct elf64_sym {
	uint32_t name;
	uint8_t info, other;
	uint16_t shndx;
	uint64_t value, size;
} __attribute__((packed));

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF header size");
_Static_assert(sizeof(struct elf64_shdr) == 64, "section header size");
_Static_assert(sizeof(struct elf64_sym) == 24, "symbol size");
_Static_assert(sizeof(struct elf64_phdr) == 56, "program header size");

enum elf_error {
	ELF_OK = 0,
	ELF_ERR_IO,             /* the reader failed */
	ELF_ERR_TRUNCATED,      /* file shorter than the ELF header */
	ELF_ERR_MAGIC,          /* not an ELF file */
	ELF_ERR_CLASS,          /* not 64-bit */
	ELF_ERR_ENDIAN,         /* not little-endian */
	ELF_ERR_VERSION,
	ELF_ERR_TYPE,           /* not an executable */
	ELF_ERR_MACHINE,        /* not x86-64 */
	ELF_ERR_PHDR,           /* program header table size, count or place is wrong */
	ELF_ERR_SEGMENT_FILE,   /* a segment's bytes lie outside the file */
	ELF_ERR_SEGMENT_SIZE,   /* file size larger than memory size, or address overflow */
	ELF_ERR_OVERLAP,        /* two segments share physical memory */
	ELF_ERR_TOO_MANY,       /* more loadable segments than ELF_MAX_SEGMENTS */
	ELF_ERR_NO_SEGMENTS,
	ELF_ERR_ENTRY,          /* entry point not inside an executable segment */
};

struct elf_segment {
	uint64_t offset;        /* in the file */
	uint64_t vaddr, paddr;
	uint64_t filesz, memsz;
	uint32_t flags;         /* PF_X 1, PF_W 2, PF_R 4 */
};

struct elf_image {
	uint64_t entry_vaddr;
	uint64_t entry_paddr;   /* entry translated through its segment */
	unsigned nsegments;
	struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* Reads len bytes at off of the file into buf; returns 0 on success. */
typedef int (*elf_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

/* Parses and validates the headers of a file of file_size bytes. */
enum elf_error elf_parse(elf_read_fn read, void *ctx, uint64_t file_size, struct elf_image *out);
/* A short English description of an error. */
const char *elf_strerror(enum elf_error e);
/* The segment whose memory holds physical address pa, or NULL. */
const struct elf_segment *elf_segment_at(const struct elf_image *img, uint64_t pa);
/* Names addr from the file's symbol table (.symtab): the function or object
 * symbol that contains it (or the nearest one below, if sizes are 0), its
 * name in name (cut to name_size) and addr's offset in *offset; false if the
 * file has no symbol table or no symbol below addr. Every offset is checked
 * against the file size. */
bool elf_symbol_at(elf_read_fn read, void *ctx, uint64_t file_size, uint64_t addr,
                   char *name, size_t name_size, uint64_t *offset);
#endif
