/* A write-back block cache: a struct blockdev that keeps recently used
 * sectors of another blockdev (the "lower" device) in memory.
 *
 * Memory is cut into extents of BCACHE_EXTENT_SECTORS sectors; an extent
 * caches one aligned range of the lower device, with a valid and a dirty bit
 * per sector. Reads fill what they miss and read ahead to the end of the
 * extent when they continue a sequential run; writes only mark sectors dirty.
 * Dirty sectors reach the lower device when their extent is evicted (least
 * recently used first) or at bcache_flush, and nowhere else. Mechanism,
 * locking and what a crash loses: keos/fs/bcache.c. */
#ifndef KEOS_FS_BCACHE_H
#define KEOS_FS_BCACHE_H
#include <stdbool.h>
#include <stdint.h>
#include "keos/fs/blockdev.h"
#include "keos/sync/spinlock.h"

#define BCACHE_EXTENT_SECTORS 128u          /* 64 KiB: one request of the virtio-blk driver */
#define BCACHE_EXTENT_BYTES (BCACHE_EXTENT_SECTORS * SECTOR_SIZE)
#define BCACHE_MAX_EXTENTS 64u
#define BCACHE_HASH_BUCKETS 64u
#define BCACHE_BITMAP_WORDS (BCACHE_EXTENT_SECTORS / 64)

/* The cache's own errors; the lower device's errors pass through unchanged.
 * Far below the drivers' codes, so a caller can tell them apart. */
enum bcache_error {
	BCACHE_ERR_RANGE = -100,     /* sectors outside the device */
	BCACHE_ERR_STUCK = -101,     /* an extent stayed in use past the wait limit */
	BCACHE_ERR_SELF = -102,      /* the caller already uses the extent (a flush from inside the cache's own I/O) */
	BCACHE_ERR_ARGS = -103,      /* bcache_init: no lower device, no memory or a bad extent count */
};

/* What the cache has done, for tests and benchmarks. */
struct bcache_stats {
	uint64_t reads, writes;             /* calls of the blockdev's read and write */
	uint64_t hit_sectors;               /* sectors a read found in the cache */
	uint64_t miss_sectors;              /* sectors a read had to fetch */
	uint64_t readahead_sectors;         /* sectors fetched beyond what a read asked for */
	uint64_t lower_reads, lower_read_sectors;
	uint64_t lower_writes, lower_write_sectors;
	uint64_t evictions;                 /* extents given to another range */
	uint64_t dirty_evictions;           /* of those, extents written back first */
	uint64_t flushes;
	uint64_t bytes_copied;              /* between callers' buffers and the cache */
	uint64_t lower_cycles;              /* TSC cycles inside the lower device's calls */
	uint64_t copy_cycles;               /* TSC cycles copying */
};

/* One extent; fields are the cache's (see bcache.c for who may touch what). */
struct bcache_extent {
	uint64_t first;                     /* first sector cached, BCACHE_UNUSED when none */
	uint64_t valid[BCACHE_BITMAP_WORDS];
	uint64_t dirty[BCACHE_BITMAP_WORDS];  /* dirty implies valid */
	uint64_t last_use;
	const void *owner;                  /* the thread using the extent, or NULL */
	int32_t next;                       /* next extent in the hash chain, -1 at the end */
	uint8_t *data;                      /* BCACHE_EXTENT_BYTES */
};

#define BCACHE_UNUSED UINT64_MAX

struct bcache {
	struct blockdev dev;                /* the cached device: mount this */
	struct blockdev *lower;
	struct spinlock lock;
	uint32_t nextents;
	uint64_t clock;                     /* last_use source */
	int32_t bucket[BCACHE_HASH_BUCKETS];
	struct bcache_extent ext[BCACHE_MAX_EXTENTS];
	struct bcache_stats stats;
};

/* Sets up c over lower with nextents (1..BCACHE_MAX_EXTENTS) extents in memory, which holds nextents * BCACHE_EXTENT_BYTES bytes; 0 or BCACHE_ERR_ARGS. */
int bcache_init(struct bcache *c, struct blockdev *lower, void *memory, uint32_t nextents);
/* Writes every dirty sector back, then flushes the lower device; 0 or the first error (dirty data that failed stays dirty). */
int bcache_flush(struct bcache *c);
/* Copies the counters into *out. */
void bcache_get_stats(struct bcache *c, struct bcache_stats *out);
/* Sectors written to the cache and not yet to the lower device: what a crash now would lose. */
uint64_t bcache_dirty_sectors(struct bcache *c);
/* A short English description of a bcache_error (other codes: "lower device error"). */
const char *bcache_strerror(int err);
#endif
