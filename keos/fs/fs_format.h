/* The on-disk format of the keos flat file system.
 *
 * Layout, in 512-byte sectors:
 *   sector 0                 superblock (struct fs_superblock, rest of the sector zero)
 *   table_start ..           file table: file_count entries of 64 bytes, 8 per
 *                            sector, so an entry never straddles a sector;
 *                            table_sectors = ceil(file_count * 64 / 512) exactly
 *   after the table          file data, one contiguous extent per file
 *
 * Invariants that fs_mount checks (tools/mkfs produces exactly these):
 *   - every extent lies inside [0, total_sectors) and overlaps neither the
 *     superblock, the table, nor another extent: files never share a sector,
 *     so writing one file can never change another;
 *   - size <= sector_count * 512 (the tail of the last sector is slack);
 *   - names are non-empty, NUL-terminated inside the 48-byte field, unique;
 *   - table_checksum is FNV-1a over the file_count * 64 table bytes, so a
 *     scribbled table is noticed even when each field still looks plausible.
 * Sizes are fixed when the image is built: a file never grows or shrinks, so
 * the table is never written after mkfs and its checksum stays valid.
 *
 * All integers are little-endian; host and target are both x86-64, so the
 * structs are read and written as they are (the assertion below keeps it so). */
#ifndef KEOS_FS_FS_FORMAT_H
#define KEOS_FS_FS_FORMAT_H
#include <stdint.h>
#include <stddef.h>

/* "KEOSFS" and two NULs: readable in a hex dump of the image. */
#define FS_MAGIC "KEOSFS\0"
#define FS_MAGIC_LEN 8
#define FS_VERSION 1u

/* The kernel keeps the mounted table in a static array of this many entries;
 * mkfs refuses to build an image the kernel could not mount. */
#define FS_MAX_FILES 64u
/* The name field; a name is at most FS_NAME_MAX - 1 bytes plus its NUL. */
#define FS_NAME_MAX 48u
#define FS_ENTRY_SIZE 64u
#define FS_ENTRIES_PER_SECTOR (512u / FS_ENTRY_SIZE)

struct fs_superblock {
	char magic[FS_MAGIC_LEN];   /* FS_MAGIC */
	uint32_t version;           /* FS_VERSION */
	uint32_t entry_size;        /* FS_ENTRY_SIZE: catches a table layout change without a version bump */
	uint64_t total_sectors;     /* the file system's size; the device may be larger */
	uint64_t table_start;       /* first sector of the file table (mkfs: 1) */
	uint32_t table_sectors;     /* sectors of the table, exactly ceil(file_count * 64 / 512) */
	uint32_t file_count;        /* entries in the table, at most FS_MAX_FILES */
	uint32_t table_checksum;    /* fs_checksum over the file_count entries */
	uint32_t reserved;          /* zero */
};

struct fs_entry {
	char name[FS_NAME_MAX];     /* NUL-terminated, NUL-padded */
	uint64_t size;              /* bytes */
	uint32_t first_sector;      /* start of the extent; for an empty file any value <= total_sectors */
	uint32_t sector_count;      /* length of the extent; ceil(size / 512) from mkfs */
};

_Static_assert(sizeof(struct fs_superblock) == 48, "superblock layout");
_Static_assert(sizeof(struct fs_entry) == FS_ENTRY_SIZE, "file table entry layout");
_Static_assert(512 % FS_ENTRY_SIZE == 0, "table entries must not straddle sectors");
_Static_assert(offsetof(struct fs_entry, size) == FS_NAME_MAX, "no padding after the name");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is read as little-endian structs");

#define FS_CHECKSUM_INIT 2166136261u

/* Continues an FNV-1a checksum h over n bytes; start from FS_CHECKSUM_INIT. */
static inline uint32_t fs_checksum(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* Sectors of the file table for n files. */
static inline uint32_t fs_table_sectors(uint32_t n)
{
	return (uint32_t)(((uint64_t)n * FS_ENTRY_SIZE + 511) / 512);
}

/* Why the last fs_mount failed, more precisely than its error code (for the
 * host tools' messages); "" after a successful mount. Implemented in fs.c. */
const char *fs_mount_detail(void);

#endif
