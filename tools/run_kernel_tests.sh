#!/usr/bin/env bash
# Runs a keos test kernel in QEMU and decides pass or fail from what it
# printed, never from the exit status alone: the run passes only if the
# closing line "N passed, 0 failed" appears with N > 0, every test line says
# ok, and QEMU ended in time with the success status. A failed run also shows
# the "reason: " lines failing guest tests explain themselves with
# (tests/kernel/guest_harness.c).
#
#   run_kernel_tests.sh [--timeout S] [--append CMDLINE] [--drive IMAGE] [--log FILE]
#                       [--stubs-wait] KERNEL
#
# --stubs-wait (a handout whose assignment files still hold stubs): a test
# that failed only because it reached a stub ("not yet implemented") waits
# for the student's code instead of failing the run; any other failure fails.
set -uo pipefail
here=$(dirname "$0")
timeout_s=120 log="" pass=() stubs_wait=0
while [ $# -gt 1 ]; do
	case "$1" in
	--timeout) timeout_s=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--append|--drive) pass+=("$1" "$2"); shift 2 ;;
	--stubs-wait) stubs_wait=1; shift ;;
	*) break ;;
	esac
done
kernel=$1
[ -n "$log" ] || log=$(dirname "$kernel")/$(basename "$kernel" .elf).log
start=$(date +%s)
bash "$here/qemu_run.sh" --timeout "$timeout_s" "${pass[@]}" "$kernel" </dev/null >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
text=$(tr -d '\r' <"$log")
grep -E '^test .* \.\.\. ' <<<"$text" || true
closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$text" | tail -n 1)
fail() {
	grep '^reason: ' <<<"$text" >&2
	echo "FAIL: $kernel: $1 (log: $log, ${secs}s)" >&2
	exit 1
}
[ $rc = 124 ] && fail "timed out after ${timeout_s}s; last lines: $(tail -n 3 <<<"$text" | tr '\n' '|')"
[ -n "$closing" ] || fail "no closing line (QEMU status $rc); last lines: $(tail -n 3 <<<"$text" | tr '\n' '|')"
read -r npass _ nfail _ <<<"$closing"
[ "$npass" -gt 0 ] || fail "no test ran"
if [ "$nfail" != 0 ] && [ $stubs_wait = 1 ]; then
	waiting=$(grep -cE '^test .* \.\.\. FAILED: .*not yet implemented$' <<<"$text")
	if [ "$waiting" = "$nfail" ] && [ $rc = 1 ]; then
		echo "$kernel: $npass passed, $nfail waiting for your code (they reach a stub: not yet implemented) (${secs}s)"
		exit 0
	fi
fi
[ "$nfail" = 0 ] || fail "$closing"
[ $rc = 0 ] || fail "closing line says pass but the kernel exited with status $rc"
echo "$kernel: $closing (${secs}s)"
