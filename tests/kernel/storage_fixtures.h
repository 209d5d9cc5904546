/* What the storage kernel tests (tests/kernel/test_storage*.c) share: each
 * helper fails the calling test with a message that says what is missing. */
#ifndef TESTS_KERNEL_STORAGE_FIXTURES_H
#define TESTS_KERNEL_STORAGE_FIXTURES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keos/fs/fs.h"

/* bench.bin (mk/storage.mk): sector s starts with "bench sector %08u" (21 bytes). */
#define BENCH_HEADER_FMT "bench sector %08u"
#define BENCH_HEADER_LEN 21u

/* Mounts the disk (storage_init) or fails: the test image must be attached. */
void storage_need(void);
/* Opens a file of the test image or fails. */
struct file *storage_open(const char *name);
/* kmalloc that fails the test instead of returning NULL. */
void *storage_alloc(size_t n);
/* True if buf, n bytes of bench.bin from offset off, has every sector's header. */
bool storage_bench_ok(uint64_t off, const uint8_t *buf, uint64_t n);
#endif
