#!/usr/bin/env bash
# An interrupted grader stops and takes its QEMUs with it. The grader runs in
# the project's strict work tree (built); once its first QEMU exists (waited
# for as an event, never a fixed time), it gets SIGTERM, which stands in for
# Ctrl-C (a shell started in the background ignores SIGINT; grade.sh handles
# both with one trap). Then no QEMU of that run may remain.
#
#   interrupt_check.sh PROJECT        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: interrupt_check.sh PROJECT}
tree=$SELFTEST_WORK/worktree/$project
logs=$SELFTEST_WORK/interrupt-logs
rm -rf "$logs"
mkdir -p "$logs"

setsid bash "$tree/grader/grade.sh" --log-dir "$logs" "$project" >"$logs.out" 2>&1 &
grader=$!
# Each run's disk copy lives in the log directory: its QEMU names it.
qemus() { pgrep -f "qemu-system.*$logs/" ; }
for _ in $(seq 1200); do
	qemus >/dev/null && break
	kill -0 "$grader" 2>/dev/null || break
	sleep 0.1
done
if ! qemus >/dev/null; then
	complain "interrupt_check: the grader never started a QEMU (output: $logs.out)"
	kill -KILL -- "-$grader" 2>/dev/null
	exit 1
fi
kill -TERM "$grader"
wait "$grader" 2>/dev/null
for _ in $(seq 100); do
	qemus >/dev/null || break
	sleep 0.1
done
if qemus >/dev/null; then
	complain "interrupt_check: QEMU outlived the interrupted grader"
	for pid in $(qemus); do kill -KILL "$pid"; done
	exit 1
fi
if ! grep -q "grade: interrupted" "$logs.out"; then
	complain "interrupt_check: the grader did not report the interrupt (output: $logs.out)"
	exit 1
fi
say "$project: interrupted once its first QEMU ran, the grader stopped and no QEMU was left running"
