#!/usr/bin/env bash
# Runs a keos test kernel in QEMU and decides pass or fail from what it
# printed, never from the exit status alone: the run passes only if the
# closing line "N passed, 0 failed" appears with N > 0, every test line says
# ok, and QEMU ended in time with the success status.
#
#   run_kernel_tests.sh [--timeout S] [--append CMDLINE] [--drive IMAGE] [--log FILE] KERNEL
set -uo pipefail
here=$(dirname "$0")
timeout_s=120 log="" pass=()
while [ $# -gt 1 ]; do
	case "$1" in
	--timeout) timeout_s=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--append|--drive) pass+=("$1" "$2"); shift 2 ;;
	*) break ;;
	esac
done
kernel=$1
[ -n "$log" ] || log=$(dirname "$kernel")/$(basename "$kernel" .elf).log
start=$(date +%s)
bash "$here/qemu_run.sh" --timeout "$timeout_s" "${pass[@]}" "$kernel" </dev/null >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
tr -d '\r' <"$log" | grep -E '^test .* \.\.\. ' || true
closing=$(tr -d '\r' <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
fail() { echo "FAIL: $kernel: $1 (log: $log, ${secs}s)" >&2; exit 1; }
[ $rc = 124 ] && fail "timed out after ${timeout_s}s; last lines: $(tail -n 3 "$log" | tr -d '\r' | tr '\n' '|')"
[ -n "$closing" ] || fail "no closing line (QEMU status $rc); last lines: $(tail -n 3 "$log" | tr -d '\r' | tr '\n' '|')"
read -r npass _ nfail _ <<<"$closing"
[ "$nfail" = 0 ] || fail "$closing"
[ "$npass" -gt 0 ] || fail "no test ran"
[ $rc = 0 ] || fail "closing line says pass but the kernel exited with status $rc"
echo "$kernel: $closing (${secs}s)"
