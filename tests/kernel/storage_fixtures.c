/* Helpers of the storage kernel tests (see storage_fixtures.h). */
#include "tests/kernel/storage_fixtures.h"
#include "keos/fs/storage.h"
#include "keos/mm/kmalloc.h"
#include "keos/test/ktest.h"

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
