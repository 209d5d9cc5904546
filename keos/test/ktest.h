/* The in-kernel test framework.
 *
 * A test is a function declared with KTEST(name) anywhere in a test kernel's
 * sources; the linker gathers them in the .ktests section. The runner
 * (keos/test/runner.c) runs each in its own thread and prints one line:
 *   test NAME ... ok
 *   test NAME ... FAILED: file:line: reason
 * then "N passed, N failed", and exits QEMU with a status the host reads.
 * A failed KASSERT, a panic or a CPU exception inside the test (or in any
 * thread it created: threads inherit the hook) fails only that test. */
#ifndef KEOS_TEST_KTEST_H
#define KEOS_TEST_KTEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ktest {
	const char *name;
	void (*fn)(void);
	const char *file;
};

#define KTEST(tname)                                                              \
	static void ktest_fn_##tname(void);                                       \
	static const struct ktest ktest_entry_##tname                             \
		__attribute__((used, section(".ktests"), aligned(8))) = {         \
			#tname, ktest_fn_##tname, __FILE__ };                      \
	static void ktest_fn_##tname(void)

/* Fails the running test with a formatted reason; never returns. */
void __attribute__((noreturn, format(printf, 3, 4)))
ktest_fail(const char *file, int line, const char *fmt, ...);

#define KASSERT(cond)                                                             \
	do {                                                                      \
		if (!(cond))                                                      \
			ktest_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)

#define KASSERT_EQ(a, b)                                                          \
	do {                                                                      \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                  \
		if (a_ != b_)                                                     \
			ktest_fail(__FILE__, __LINE__, "%s == %s: 0x%lx != 0x%lx", \
			           #a, #b, a_, b_);                                \
	} while (0)

/* Runs fn(arg) in a thread and reports whether it panicked (or faulted);
 * the panic message goes to msg. Used to test that misuse is caught. */
bool ktest_expect_panic(void (*fn)(void *), void *arg, char *msg, size_t msg_size);
#endif
