#!/usr/bin/env bash
# One graded run: boots KERNEL in QEMU with "test=NAME" on its command line
# (and a private copy of DRIVE, if given), then decides the verdict from the
# serial log and writes it to RESULT:
#
#   line 1   the verdict: pass | FAIL | TIMEOUT | PANIC | not yet implemented
#   line 2   the seconds the run took (e.g. 1.27)
#   line 3.. the reason, one line each (none for a pass)
#
#   run_test.sh NAME QEMU_LIMIT VM_DEADLINE LOG RESULT KERNEL [DRIVE]
#
# A pass needs all of: the kernel's own line "test NAME ... ok", the closing
# "1 passed, 0 failed", and QEMU ending in time with the success status.
# The reason of a failure is the failing check's own words: the "reason:"
# lines the guest harness prints (tests/kernel/guest_harness.c: the guest's
# "file:line: message", or the VM's report, uncut), else the test kernel's
# FAILED line, else the panic and its backtrace, else the log's last lines.
# A test may also ask the grader to count the host lines a device prints
# (device_lines below: the spec's one line per guest error).
# VM_DEADLINE goes to the harness as "vm_deadline=" on the command line: kev
# stops the VM that many seconds after the host kernel started. QEMU_LIMIT is
# the backstop for a host kernel that hangs outright.
# grade.sh starts this script in its own session, so killing the session
# takes QEMU with it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
name=$1 limit=$2 deadline=$3 log=$4 result=$5 kernel=$6 drive=${7:-}

args=(--timeout "$limit" --append "test=$name vm_deadline=$deadline")
drive_copy=""
start=$(date +%s%N)
if [ -n "$drive" ]; then
	drive_copy=${log%.log}.img
	if ! cp "$drive" "$drive_copy"; then
		printf 'FAIL\n0.00\ncannot copy the disk image %s\n' "$drive" >"$result"
		exit 0
	fi
	args+=(--drive "$drive_copy")
fi
bash "$top/tools/qemu_run.sh" "${args[@]}" "$kernel" </dev/null >"$log" 2>&1
rc=$?
end=$(date +%s%N)
[ -n "$drive_copy" ] && rm -f "$drive_copy"
ms=$(( (end - start) / 1000000 ))
secs=$(printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10)))

text=$(tr -d '\r' <"$log" | tr -c '[:print:]\n\t' '?')
last_lines() {
	grep -v '^[[:space:]]*$' <<<"$text" | grep -v '^qemu_run:' | tail -n 3 | sed 's/^/last line of the log: /'
}
verdict="" detail=""
own=$(grep -E "^test $name \.\.\. (ok|FAILED)" <<<"$text" | head -n 1)
reasons=$(grep '^reason: ' <<<"$text" | sed 's/^reason: //')
if grep -q "not yet implemented" <<<"$text"; then
	verdict="not yet implemented"
	detail=$(grep -m 1 "not yet implemented" <<<"$text")
elif [ "$own" = "test $name ... ok" ] && grep -qx "1 passed, 0 failed" <<<"$text" && [ $rc = 0 ]; then
	verdict=pass
elif [ $rc = 124 ]; then
	verdict=TIMEOUT
	detail="QEMU ran past the grader's ${limit}s limit: the host kernel stopped answering (a device call that never returns, or a VM deadline that did not fire)"
	[ -n "$reasons" ] && detail+=$'\n'$reasons
	detail+=$'\n'$(last_lines)
elif [ -n "$reasons" ]; then
	# The harness's words; its first line says when the VM ran out of time.
	verdict=FAIL
	grep -q '^the VM ran past its' <<<"$reasons" && verdict=TIMEOUT
	detail=$reasons
elif [ -n "$own" ] && [ "$own" != "test $name ... ok" ]; then
	verdict=FAIL detail=${own#*FAILED: }
elif grep -qE '^(PANIC|EXCEPTION)' <<<"$text"; then
	verdict=PANIC
	detail=$(grep -m 1 -A 8 -E '^(PANIC|EXCEPTION)' <<<"$text")
elif grep -q "running 0 tests" <<<"$text"; then
	verdict=FAIL detail="the test kernel has no test named $name"
else
	verdict=FAIL
	detail="no verdict in the log (QEMU status $rc)"$'\n'$(last_lines)
fi

# The guest announces each guest error it provokes whose console line only
# the grader can see ("expect one device line: WHAT", closed by "one device
# line expected above: WHAT"): exactly one host line must come in between.
device_lines() {
	awk '
		/^\[guest [0-9]+\] expect one device line: / { open = 1; n = 0; what = $0; sub(/^[^:]*: /, "", what); next }
		/^\[guest [0-9]+\] one device line expected above: / {
			if (open && n != 1) printf "for %s the device printed %d line(s) on the host console: the spec asks for one line with the reason\n", what, n
			open = 0; next
		}
		open && !/^\[guest / && !/^[[:space:]]*$/ { n++ }' <<<"$text"
}
if [ "$verdict" = pass ]; then
	miscount=$(device_lines)
	[ -z "$miscount" ] || verdict=FAIL detail=$miscount
fi
{
	printf '%s\n%s\n' "$verdict" "$secs"
	[ -n "$detail" ] && printf '%s\n' "$detail"
} >"$result"
