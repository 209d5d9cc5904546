/* The file system in the kernel: storage_init finds the virtio-blk disk,
 * puts the block cache (keos/fs/bcache.c, STORAGE_CACHE_EXTENTS extents of
 * 64 KiB) in front of it and mounts the cached device; storage_shutdown
 * flushes the cache and the disk on the way out. Data written through the
 * file system is on the disk only after fs_sync or storage_shutdown (or
 * once the cache evicts it). The cache's memory is allocated once, at the
 * first storage_init (at boot), and kept: the disk stays mounted until the
 * machine stops.
 *
 * storage_init runs its work once; a concurrent caller waits (yielding) for
 * the first one's result, so tests may call it freely before the boot code
 * does. Nothing here can hang on a bad disk: fs_mount's checks are bounded
 * and every request of the driver has a deadline.
 *
 * storage_shutdown is the hook for the exit path (qemu_exit): it may run in
 * a panic, with interrupts off. It flushes only when this CPU holds no
 * spinlock, since a lock held by the failing code may be one the flush
 * needs. A call made while another flushes returns at once, so a panic
 * inside the flush cannot recurse. */
#include "keos/fs/storage.h"
#include "keos/arch/cpu.h"
#include "keos/dev/virtio_blk.h"
#include "keos/fs/bcache.h"
#include "keos/fs/fs_format.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/thread.h"
#include <string.h>

/* 2 MiB: room for several sequential streams and the lazy pager's image,
 * and smaller than the benchmark files, so they measure the disk. */
#define STORAGE_CACHE_EXTENTS 32u
#define STORAGE_CACHE_PAGES (STORAGE_CACHE_EXTENTS * BCACHE_EXTENT_BYTES / PAGE_SIZE)

enum init_state { NOT_STARTED, RUNNING, DONE };

static struct spinlock lock = SPINLOCK_INIT("storage");
static enum init_state state;
static enum fs_error result;
static struct blockdev *disk;
static struct bcache cache;
static bool cached;           /* the cache is in front of disk */
static bool flushing;

/* The file count, from the superblock fs_mount has just validated. */
static uint32_t mounted_file_count(struct blockdev *d)
{
	_Alignas(512) uint8_t sector[SECTOR_SIZE];
	struct fs_superblock sb;

	if (d->read(d, 0, sector, 1))
		return 0;
	memcpy(&sb, sector, sizeof(sb));
	return sb.file_count;
}

static enum fs_error find_and_mount(void)
{
	struct blockdev *d;
	int v = virtio_blk_init(&d);
	enum fs_error e;

	if (v == VBLK_ERR_NO_DEVICE) {
		printk("fs: no virtio-blk disk, no file system\n");
		return FS_ERR_NOT_MOUNTED;
	}
	if (v) {
		printk("fs: the virtio-blk disk is unusable: %s\n", virtio_blk_strerror(v));
		return FS_ERR_IO;
	}
	disk = d;
	void *mem = page_alloc_run(STORAGE_CACHE_PAGES);
	if (mem && bcache_init(&cache, d, mem, STORAGE_CACHE_EXTENTS) == 0)
		cached = true;
	else
		printk("fs: no memory for the block cache; the disk is used uncached\n");
	e = fs_mount(cached ? &cache.dev : d);
	if (e) {
		printk("fs: cannot mount the virtio-blk disk (%lu sectors): %s: %s\n",
		       (unsigned long)d->nsectors, fs_strerror(e), fs_mount_detail());
		return e;
	}
	uint32_t n = mounted_file_count(d);
	printk("fs: mounted %u file%s from virtio-blk (%lu sectors)\n", n, n == 1 ? "" : "s",
	       (unsigned long)d->nsectors);
	return FS_OK;
}

enum fs_error storage_init(void)
{
	enum fs_error r;

	spin_lock(&lock);
	while (state == RUNNING) {
		spin_unlock(&lock);
		thread_yield();
		spin_lock(&lock);
	}
	if (state == DONE) {
		r = result;
		spin_unlock(&lock);
		return r;
	}
	state = RUNNING;
	spin_unlock(&lock);

	r = find_and_mount();

	spin_lock(&lock);
	result = r;
	state = DONE;
	spin_unlock(&lock);
	return r;
}

struct blockdev *storage_blockdev(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == DONE ? disk : NULL;
}

struct bcache *storage_cache(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == DONE && cached ? &cache : NULL;
}

/* The flush itself; the caller has excluded recursion. */
static void flush_disk(void)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != DONE || !disk)
		return;
	if (cpu_intr_depth() > 0) {
		printk("fs: disk not flushed: the machine stopped while holding a lock\n");
		return;
	}
	if (result == FS_OK) {
		enum fs_error e = fs_sync();
		if (e)
			printk("fs: flush before exit failed: %s\n", fs_strerror(e));
	} else {
		int v = virtio_blk_flush();
		if (v)
			printk("fs: flush before exit failed: %s\n", virtio_blk_strerror(v));
	}
}

void storage_shutdown(void)
{
	/* A panic inside the flush calls qemu_exit, and so this, again. */
	if (__atomic_exchange_n(&flushing, true, __ATOMIC_ACQ_REL))
		return;
	flush_disk();
	__atomic_store_n(&flushing, false, __ATOMIC_RELEASE);
}
