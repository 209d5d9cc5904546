/* What the storage kernel tests (tests/kernel/test_storage*.c) share: each
 * helper fails the calling test with a message that says what is missing. */
#ifndef TESTS_KERNEL_STORAGE_FIXTURES_H
#define TESTS_KERNEL_STORAGE_FIXTURES_H
#include <stddef.h>
#include "keos/fs/fs.h"

/* Mounts the disk (storage_init) or fails: the test image must be attached. */
void storage_need(void);
/* Opens a file of the test image or fails. */
struct file *storage_open(const char *name);
/* kmalloc that fails the test instead of returning NULL. */
void *storage_alloc(size_t n);
#endif
