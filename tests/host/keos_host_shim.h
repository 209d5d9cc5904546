/* Host stand-ins for the kernel services that keos/mm/palloc.c and
 * keos/mm/kmalloc.c call, so those files compile and run in a host unit test:
 *
 *   spinlocks  (keos/sync/spinlock.h): a real test-and-set lock whose holder
 *              is the calling pthread; taking a lock twice or releasing a
 *              lock one does not hold panics, as in the kernel.
 *   printk     (keos/lib/printk.h): appends to a capture buffer.
 *   panic_at   (keos/lib/printk.h): records file, line and message, then
 *              longjmps to the jmp_buf a test installed with SHIM_EXPECT_PANIC;
 *              with none installed it prints the message and aborts, which
 *              fails the (forked) test. */
#ifndef TESTS_HOST_KEOS_HOST_SHIM_H
#define TESTS_HOST_KEOS_HOST_SHIM_H
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

/* What the last panic said. */
struct shim_panic {
	int count;             /* panics since the last shim_reset() */
	const char *file;
	int line;
	char msg[256];
};
extern struct shim_panic shim_last_panic;

/* Where panic_at jumps; NULL: abort. Set by SHIM_EXPECT_PANIC. */
extern jmp_buf *shim_panic_target;

/* Runs stmt; evaluates to true if it panicked (the message is then in
 * shim_last_panic.msg), false if it completed. stmt must not be a
 * declaration. Locals changed in stmt must be volatile to be read after. */
#define SHIM_EXPECT_PANIC(stmt)                                               \
	({                                                                    \
		jmp_buf shim_jb_;                                             \
		jmp_buf *shim_saved_ = shim_panic_target;                     \
		bool shim_panicked_ = false;                                  \
		if (setjmp(shim_jb_) == 0) {                                  \
			shim_panic_target = &shim_jb_;                        \
			stmt;                                                 \
		} else {                                                      \
			shim_panicked_ = true;                                \
		}                                                             \
		shim_panic_target = shim_saved_;                              \
		shim_panicked_;                                               \
	})

/* Text printk produced since the last shim_reset() (truncated at 4 KiB). */
const char *shim_printk_output(void);
/* Number of spinlocks currently held by any thread (0 when the code under test is balanced). */
int shim_locks_held(void);
/* Clears the panic record, the printk buffer and the held-lock count. */
void shim_reset(void);
#endif
