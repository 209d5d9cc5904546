#!/usr/bin/env bash
# Checks the crash reports outside the test runner: keos booted with
# crash=pagefault must print the exception with vector, error code,
# registers and a symbolized backtrace and stop QEMU with the panic status;
# crash=panic must print the message and backtrace likewise.
set -uo pipefail
here=$(dirname "$0")
kernel=$1
bad=0
check() {
	local how=$1; shift
	local log
	log=$(dirname "$kernel")/crash-$how.log
	bash "$here/qemu_run.sh" --timeout 30 --append "crash=$how" "$kernel" </dev/null >"$log" 2>&1
	local rc=$?
	[ $rc = 2 ] || { echo "crash=$how: exit status $rc, expected 2 (panic)" >&2; bad=1; }
	for re in "$@"; do
		tr -d '\r' <"$log" | grep -qE -- "$re" || { echo "crash=$how: missing: $re (log: $log)" >&2; bad=1; }
	done
}
check pagefault '^EXCEPTION trap 14 \(page fault\), error code 0x2, cpu 0$' \
	'page fault address \(cr2\) 0x0000000000000008: not present, write' \
	'^  rip 0xffffffff8[0-9a-f]+  rsp ' '^  r13 0x' \
	'^  #[0-9]+ 0xffffffff8[0-9a-f]+ crash\+0x' '^  #[0-9]+ 0xffffffff8[0-9a-f]+ keos_main\+0x'
check panic '^PANIC on cpu 0 at keos/main.c:[0-9]+: crash requested on the command line$' \
	'^  #[0-9]+ 0xffffffff8[0-9a-f]+ crash\+0x' '^  #[0-9]+ 0xffffffff8[0-9a-f]+ arch_start\+0x'
[ $bad = 0 ] || exit 1
echo "crash reports: page fault and panic reported with registers and symbols"
