/* Helpers of the storage kernel tests (see storage_fixtures.h). */
#include "tests/kernel/storage_fixtures.h"
#include "keos/fs/storage.h"
#include "keos/lib/format.h"
#include "keos/mm/kmalloc.h"
#include "keos/test/ktest.h"
#include <string.h>

void storage_need(void)
{
	enum fs_error e = storage_init();

	if (e)
		ktest_fail(__FILE__, __LINE__, "no file system: %s (attach the image: make check-storage)",
			   fs_strerror(e));
}

struct file *storage_open(const char *name)
{
	struct file *f = fs_open(name);

	if (!f)
		ktest_fail(__FILE__, __LINE__, "fs_open(\"%s\") failed", name);
	return f;
}

void *storage_alloc(size_t n)
{
	void *p = kmalloc(n);

	if (!p)
		ktest_fail(__FILE__, __LINE__, "kmalloc(%zu) failed", n);
	return p;
}

bool storage_bench_ok(uint64_t off, const uint8_t *buf, uint64_t n)
{
	char hdr[BENCH_HEADER_LEN + 1];

	for (uint64_t s = 0; s < n; s += SECTOR_SIZE) {
		ksnprintf(hdr, sizeof(hdr), BENCH_HEADER_FMT, (unsigned)((off + s) / SECTOR_SIZE));
		if (memcmp(buf + s, hdr, BENCH_HEADER_LEN))
			return false;
	}
	return true;
}
