#!/usr/bin/env bash
# Checks the test runner itself: boots the test kernel with the deliberately
# failing selftest_* tests and expects each failure reported with its place,
# a backtrace with symbol names, the right closing line and a failure status.
set -uo pipefail
here=$(dirname "$0")
kernel=$1
log=$(dirname "$kernel")/selftest.log
bash "$here/qemu_run.sh" --timeout 60 --append "test=selftest_*" "$kernel" </dev/null >"$log" 2>&1
rc=$?
out=$(tr -d '\r' <"$log")
bad=0
expect() {
	if ! grep -qE -- "$1" <<<"$out"; then
		echo "selftest: missing: $1" >&2
		bad=1
	fi
}
expect '^test selftest_assert_fails \.\.\. FAILED: tests/kernel/test_selftest.c:[0-9]+: two \+ two == 5: 0x4 != 0x5$'
expect '^test selftest_panic_fails \.\.\. FAILED: tests/kernel/test_selftest.c:[0-9]+: deliberate panic 7$'
expect '^test selftest_page_fault_fails \.\.\. FAILED: trap:14: exception 14 \(page fault\)'
expect '^test selftest_child_thread_fails \.\.\. FAILED: tests/kernel/test_selftest.c:[0-9]+: assertion failed: arg != NULL$'
expect '^test selftest_heap_leak_fails \.\.\. FAILED: .*leaked 1 heap block'
expect '^test selftest_page_leak_fails \.\.\. FAILED: .*leaked 1 page'
expect '^test selftest_passes \.\.\. ok$'
expect '^  #[0-9]+ 0xffffffff8[0-9a-f]+ ktest_fn_selftest_panic_fails\+0x[0-9a-f]+$'
expect '^  #[0-9]+ 0xffffffff8[0-9a-f]+ ktest_fn_selftest_page_fault_fails\+0x[0-9a-f]+$'
expect '^1 passed, 6 failed$'
[ $rc = 1 ] || { echo "selftest: kernel exit status $rc, expected 1 (failure)" >&2; bad=1; }
[ $bad = 0 ] || { echo "selftest: FAILED (log: $log)" >&2; exit 1; }
echo "selftest: the runner reports all 6 kinds of failure"
