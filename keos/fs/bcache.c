/* The block cache (interface and terms in keos/fs/bcache.h).
 *
 * Extents. Each extent caches the aligned range [first, first +
 * BCACHE_EXTENT_SECTORS) of the lower device, or nothing (first ==
 * BCACHE_UNUSED). A range is cached by at most one extent: extents are found
 * through a hash of `first`, and an extent changes range only inside one
 * hold of the lock, after a lookup of the new range found nothing. Per
 * sector, `valid` says the extent's bytes are the sector's current content
 * and `dirty` that the lower device does not have them yet (dirty implies
 * valid).
 *
 * Reads. A read copies out the sectors it asks for. If some are not valid it
 * fetches them, one lower request per run of invalid sectors (valid sectors
 * are never overwritten: they may be dirty). A read that continues a
 * sequential run (the sector before it is cached) fetches on to the end of
 * the extent: read-ahead, counted in readahead_sectors. The extent is the
 * natural unit for it: one 64 KiB request, and memory that is contiguous.
 * Writes copy in and mark the sectors valid and dirty; they never touch the
 * lower device, except to write back an extent they evict.
 *
 * Eviction. A range that is not cached takes the least recently used extent
 * nobody uses. A clean one is retagged at once; a dirty one is written back
 * first (each run of valid sectors that holds dirty ones, from its first
 * dirty sector to its last, in one request) and the search starts again,
 * since the world may have changed meanwhile. A write-back that fails leaves
 * the sectors dirty, and the request that needed the space fails with the
 * lower device's error.
 *
 * Locking. `lock` (a spinlock) covers the hash, every extent's first, owner,
 * last_use and bitmaps, and the counters. It is never held during device I/O
 * or a copy: a thread that works on an extent first becomes its owner (under
 * the lock), then works without the lock; others that need the extent wait
 * until the owner lets go. Only the owner changes an extent's data or
 * bitmaps (bitmaps under the lock, so others may read them there). A thread
 * owns at most one extent at a time, so owners never wait for each other in
 * a cycle. Waiting is bcache_env_wait: in the kernel a caller that holds no
 * spinlock yields; one that does (the svirtb device and the lazy pager call
 * file_read under their own spinlocks) spins, as the virtio-blk driver does
 * for its requests. Holding the spinlock across I/O would make every CPU
 * spin with interrupts off for a whole device request; the ownership lets
 * the I/O of one extent overlap with copies from the others. A wait that
 * lasts past the environment's limit (an owner that cannot run, e.g. pinned
 * to the CPU where a spinning waiter holds a lock) fails with
 * BCACHE_ERR_STUCK instead of hanging.
 *
 * Flush writes back every dirty extent, waiting for those in use, then
 * flushes the lower device. Every write that completed before the flush
 * began is then on the device: dirty data leaves an extent only by a
 * write-back. An extent that the flushing thread itself owns (a flush from
 * the exit path, reached from inside the cache's own I/O) is skipped and
 * reported as BCACHE_ERR_SELF.
 *
 * A crash (the machine stops without a flush) loses exactly the dirty
 * sectors: the lower device holds, for each sector, either what the last
 * flush left or a later write of it (evictions write back at any moment and
 * in any order). The cache never writes a sector that was not written
 * through it, so data nobody wrote since the last flush stays as it was.
 *
 * Compiles freestanding (kernel) and hosted (tests): memcpy from <string.h>,
 * the spinlock of keos/sync/spinlock.h (the host tests' shim provides it)
 * and keos/fs/bcache_env.h. */
#include "keos/fs/bcache.h"
#include "keos/fs/bcache_env.h"
#include <stddef.h>
#include <string.h>

#define EXT BCACHE_EXTENT_SECTORS

static bool bit(const uint64_t *map, uint32_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void set_bits(uint64_t *map, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++)
		map[i / 64] |= 1ull << (i % 64);
}

static void clear_bits(uint64_t *map, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++)
		map[i / 64] &= ~(1ull << (i % 64));
}

static bool any_bit(const uint64_t *map)
{
	for (uint32_t w = 0; w < BCACHE_BITMAP_WORDS; w++)
		if (map[w])
			return true;
	return false;
}

static uint32_t count_bits(const uint64_t *map)
{
	uint32_t n = 0;

	/* A loop, not __builtin_popcountll: the kernel links no libgcc. */
	for (uint32_t w = 0; w < BCACHE_BITMAP_WORDS; w++)
		for (uint64_t m = map[w]; m; m &= m - 1)
			n++;
	return n;
}

static uint64_t now(void)
{
	return __builtin_ia32_rdtsc();
}

/* The sectors of the extent at first that exist on the lower device. */
static uint32_t extent_len(const struct bcache *c, uint64_t first)
{
	uint64_t left = c->lower->nsectors - first;

	return left < EXT ? (uint32_t)left : EXT;
}

static uint32_t bucket_of(uint64_t first)
{
	return (uint32_t)(first / EXT % BCACHE_HASH_BUCKETS);
}

static struct bcache_extent *lookup_locked(struct bcache *c, uint64_t first)
{
	for (int32_t i = c->bucket[bucket_of(first)]; i >= 0; i = c->ext[i].next)
		if (c->ext[i].first == first)
			return &c->ext[i];
	return NULL;
}

static void unhash_locked(struct bcache *c, struct bcache_extent *e)
{
	int32_t *link = &c->bucket[bucket_of(e->first)];
	int32_t self = (int32_t)(e - c->ext);

	while (*link != self)
		link = &c->ext[*link].next;
	*link = e->next;
}

/* Gives the clean, unowned extent e the range at first (no data valid yet). */
static void retag_locked(struct bcache *c, struct bcache_extent *e, uint64_t first)
{
	if (e->first != BCACHE_UNUSED) {
		unhash_locked(c, e);
		c->stats.evictions++;
	}
	e->first = first;
	memset(e->valid, 0, sizeof(e->valid));
	e->next = c->bucket[bucket_of(first)];
	c->bucket[bucket_of(first)] = (int32_t)(e - c->ext);
}

/* The extent to evict: an unused one, else the least recently used one that
 * nobody owns; NULL when every extent is owned. */
static struct bcache_extent *victim_locked(struct bcache *c)
{
	struct bcache_extent *best = NULL;

	for (uint32_t i = 0; i < c->nextents; i++) {
		struct bcache_extent *e = &c->ext[i];
		if (e->owner)
			continue;
		if (e->first == BCACHE_UNUSED)
			return e;
		if (!best || e->last_use < best->last_use)
			best = e;
	}
	return best;
}

/* Lets go of the lock for one wait; false when the wait has lasted too long. */
static bool wait_locked(struct bcache *c, struct bcache_wait *w)
{
	spin_unlock(&c->lock);
	bool ok = bcache_env_wait(w);
	spin_lock(&c->lock);
	return ok;
}

static int lower_io(struct bcache *c, bool write, uint64_t sector, uint8_t *buf, uint32_t count)
{
	uint64_t t0 = now();
	int r = write ? c->lower->write(c->lower, sector, buf, count)
		      : c->lower->read(c->lower, sector, buf, count);
	uint64_t t = now() - t0;

	spin_lock(&c->lock);
	c->stats.lower_cycles += t;
	if (write) {
		c->stats.lower_writes++;
		c->stats.lower_write_sectors += count;
	} else {
		c->stats.lower_reads++;
		c->stats.lower_read_sectors += count;
	}
	spin_unlock(&c->lock);
	return r;
}

/* Writes the dirty sectors of e (owned by the caller) to the lower device.
 * A run of valid sectors goes in one request from its first dirty sector to
 * its last: the clean ones between are rewritten unchanged. */
static int write_back(struct bcache *c, struct bcache_extent *e)
{
	uint32_t i = 0;

	while (i < EXT) {
		while (i < EXT && !bit(e->dirty, i))
			i++;
		if (i == EXT)
			return 0;
		uint32_t start = i, end = i + 1;
		for (uint32_t j = i; j < EXT && bit(e->valid, j); j++)
			if (bit(e->dirty, j))
				end = j + 1;
		int r = lower_io(c, true, e->first + start, e->data + (size_t)start * SECTOR_SIZE, end - start);
		if (r)
			return r;
		spin_lock(&c->lock);
		clear_bits(e->dirty, start, end);
		spin_unlock(&c->lock);
		i = end;
	}
	return 0;
}

/* Makes the caller the owner of the extent that caches the range at first,
 * evicting another one if the range is not cached. */
static int extent_get(struct bcache *c, uint64_t first, struct bcache_extent **out)
{
	const void *me = bcache_env_self();
	struct bcache_wait w;
	int r = 0;

	bcache_env_wait_start(&w);
	spin_lock(&c->lock);
	for (;;) {
		struct bcache_extent *e = lookup_locked(c, first);

		if (e && e->owner == me) {
			r = BCACHE_ERR_SELF;
			break;
		}
		if (!e) {
			e = victim_locked(c);
			if (e && any_bit(e->dirty)) {
				e->owner = me;
				spin_unlock(&c->lock);
				r = write_back(c, e);
				spin_lock(&c->lock);
				e->owner = NULL;
				if (r)
					break;
				c->stats.dirty_evictions++;
				continue;
			}
			if (e)
				retag_locked(c, e, first);
		}
		if (e && !e->owner) {
			e->owner = me;
			*out = e;
			break;
		}
		if (!wait_locked(c, &w)) {
			r = BCACHE_ERR_STUCK;
			break;
		}
	}
	spin_unlock(&c->lock);
	return r;
}

/* Gives up ownership of e; counts a copy of bytes that took cycles. */
static void extent_put(struct bcache *c, struct bcache_extent *e, uint64_t bytes, uint64_t cycles)
{
	spin_lock(&c->lock);
	e->owner = NULL;
	e->last_use = ++c->clock;
	c->stats.bytes_copied += bytes;
	c->stats.copy_cycles += cycles;
	spin_unlock(&c->lock);
}

/* True if sector s - 1 is cached: a read at s continues a sequential run. */
static bool follows_cached(struct bcache *c, uint64_t s)
{
	if (s == 0)
		return false;
	spin_lock(&c->lock);
	struct bcache_extent *e = lookup_locked(c, (s - 1) - (s - 1) % EXT);
	bool cached = e && bit(e->valid, (uint32_t)((s - 1) % EXT));
	spin_unlock(&c->lock);
	return cached;
}

/* Fetches every invalid sector of e in [from, to), one request per run. */
static int fill(struct bcache *c, struct bcache_extent *e, uint32_t from, uint32_t to)
{
	uint32_t i = from;

	while (i < to) {
		if (bit(e->valid, i)) {
			i++;
			continue;
		}
		uint32_t end = i + 1;
		while (end < to && !bit(e->valid, end))
			end++;
		int r = lower_io(c, false, e->first + i, e->data + (size_t)i * SECTOR_SIZE, end - i);
		if (r)
			return r;
		spin_lock(&c->lock);
		set_bits(e->valid, i, end);
		spin_unlock(&c->lock);
		i = end;
	}
	return 0;
}

/* Reads count sectors at sector, all inside one extent, into buf. */
static int read_piece(struct bcache *c, uint64_t sector, uint8_t *buf, uint32_t count)
{
	uint64_t first = sector - sector % EXT;
	uint32_t from = (uint32_t)(sector - first), to = from + count;
	bool sequential = follows_cached(c, sector);
	struct bcache_extent *e;
	int r = extent_get(c, first, &e);

	if (r)
		return r;
	uint32_t missing = 0;
	for (uint32_t i = from; i < to; i++)
		missing += !bit(e->valid, i);
	if (missing) {
		uint32_t end = sequential ? extent_len(c, first) : to, ahead = 0;
		for (uint32_t i = to; i < end; i++)
			ahead += !bit(e->valid, i);
		r = fill(c, e, from, end);
		if (!r) {
			spin_lock(&c->lock);
			c->stats.miss_sectors += missing;
			c->stats.hit_sectors += count - missing;
			c->stats.readahead_sectors += ahead;
			spin_unlock(&c->lock);
		}
	} else {
		spin_lock(&c->lock);
		c->stats.hit_sectors += count;
		spin_unlock(&c->lock);
	}
	uint64_t t0 = now();
	if (!r)
		memcpy(buf, e->data + (size_t)from * SECTOR_SIZE, (size_t)count * SECTOR_SIZE);
	extent_put(c, e, r ? 0 : (uint64_t)count * SECTOR_SIZE, now() - t0);
	return r;
}

/* Writes count sectors at sector, all inside one extent, from buf. */
static int write_piece(struct bcache *c, uint64_t sector, const uint8_t *buf, uint32_t count)
{
	uint64_t first = sector - sector % EXT;
	uint32_t from = (uint32_t)(sector - first);
	struct bcache_extent *e;
	int r = extent_get(c, first, &e);

	if (r)
		return r;
	uint64_t t0 = now();
	memcpy(e->data + (size_t)from * SECTOR_SIZE, buf, (size_t)count * SECTOR_SIZE);
	uint64_t t = now() - t0;
	spin_lock(&c->lock);
	set_bits(e->valid, from, from + count);
	set_bits(e->dirty, from, from + count);
	spin_unlock(&c->lock);
	extent_put(c, e, (uint64_t)count * SECTOR_SIZE, t);
	return 0;
}

/* The lower device's rule: the first sector must exist, even for no sectors. */
static bool in_range(const struct bcache *c, uint64_t sector, uint32_t count)
{
	return sector < c->lower->nsectors && count <= c->lower->nsectors - sector;
}

/* Splits [sector, sector + count) at extent boundaries; stops at the first error. */
static int each_piece(struct bcache *c, uint64_t sector, uint8_t *buf, uint32_t count, bool write)
{
	while (count) {
		uint32_t n = EXT - (uint32_t)(sector % EXT);
		if (n > count)
			n = count;
		int r = write ? write_piece(c, sector, buf, n) : read_piece(c, sector, buf, n);
		if (r)
			return r;
		sector += n;
		buf += (size_t)n * SECTOR_SIZE;
		count -= n;
	}
	return 0;
}

static int cache_read(struct blockdev *d, uint64_t sector, void *buf, uint32_t count)
{
	struct bcache *c = d->priv;

	if (!in_range(c, sector, count))
		return BCACHE_ERR_RANGE;
	spin_lock(&c->lock);
	c->stats.reads++;
	spin_unlock(&c->lock);
	return each_piece(c, sector, buf, count, false);
}

static int cache_write(struct blockdev *d, uint64_t sector, const void *buf, uint32_t count)
{
	struct bcache *c = d->priv;

	if (!in_range(c, sector, count))
		return BCACHE_ERR_RANGE;
	spin_lock(&c->lock);
	c->stats.writes++;
	spin_unlock(&c->lock);
	/* each_piece only reads from buf when write is true. */
	return each_piece(c, sector, (uint8_t *)(uintptr_t)buf, count, true);
}

/* Writes back extent i if it is dirty, waiting while another thread uses it. */
static int flush_extent(struct bcache *c, uint32_t i)
{
	struct bcache_extent *e = &c->ext[i];
	const void *me = bcache_env_self();
	struct bcache_wait w;
	int r = 0;

	bcache_env_wait_start(&w);
	spin_lock(&c->lock);
	while (any_bit(e->dirty) && e->owner) {
		if (e->owner == me) {
			spin_unlock(&c->lock);
			return BCACHE_ERR_SELF;
		}
		if (!wait_locked(c, &w)) {
			spin_unlock(&c->lock);
			return BCACHE_ERR_STUCK;
		}
	}
	if (!any_bit(e->dirty)) {
		spin_unlock(&c->lock);
		return 0;
	}
	e->owner = me;
	spin_unlock(&c->lock);
	r = write_back(c, e);
	spin_lock(&c->lock);
	e->owner = NULL;
	spin_unlock(&c->lock);
	return r;
}

int bcache_flush(struct bcache *c)
{
	int first_err = 0;

	for (uint32_t i = 0; i < c->nextents; i++) {
		int r = flush_extent(c, i);
		if (r && !first_err)
			first_err = r;
	}
	int r = c->lower->flush ? c->lower->flush(c->lower) : 0;
	spin_lock(&c->lock);
	c->stats.flushes++;
	spin_unlock(&c->lock);
	return first_err ? first_err : r;
}

static int cache_flush(struct blockdev *d)
{
	return bcache_flush(d->priv);
}

int bcache_init(struct bcache *c, struct blockdev *lower, void *memory, uint32_t nextents)
{
	if (!lower || !memory || nextents == 0 || nextents > BCACHE_MAX_EXTENTS)
		return BCACHE_ERR_ARGS;
	memset(c, 0, sizeof(*c));
	c->lower = lower;
	c->nextents = nextents;
	spinlock_init(&c->lock, "bcache");
	for (uint32_t b = 0; b < BCACHE_HASH_BUCKETS; b++)
		c->bucket[b] = -1;
	for (uint32_t i = 0; i < nextents; i++)
		c->ext[i] = (struct bcache_extent){ .first = BCACHE_UNUSED, .next = -1,
						    .data = (uint8_t *)memory + (size_t)i * BCACHE_EXTENT_BYTES };
	c->dev = (struct blockdev){ .nsectors = lower->nsectors, .read = cache_read, .write = cache_write,
				    .flush = cache_flush, .priv = c };
	return 0;
}

void bcache_get_stats(struct bcache *c, struct bcache_stats *out)
{
	spin_lock(&c->lock);
	*out = c->stats;
	spin_unlock(&c->lock);
}

uint64_t bcache_dirty_sectors(struct bcache *c)
{
	uint64_t n = 0;

	spin_lock(&c->lock);
	for (uint32_t i = 0; i < c->nextents; i++)
		n += count_bits(c->ext[i].dirty);
	spin_unlock(&c->lock);
	return n;
}

const char *bcache_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case BCACHE_ERR_RANGE: return "sectors outside the device";
	case BCACHE_ERR_STUCK: return "a cache extent stayed in use too long";
	case BCACHE_ERR_SELF: return "the cache extent is in use by this thread";
	case BCACHE_ERR_ARGS: return "bad block cache arguments";
	}
	return "lower device error";
}
