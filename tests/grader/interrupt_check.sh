#!/usr/bin/env bash
# An interrupted grader stops and takes its QEMUs with it. Strict grading of
# a mutant that hangs every test (each QEMU runs until its limit) starts in
# a process group of its own; once its first QEMU runs (waited for as an
# event, never a fixed time), the whole group gets SIGTERM, as a
# terminal's Ctrl-C reaches the foreground group (SIGTERM because a shell
# started in the background ignores SIGINT; grade.sh handles both with one
# trap). QEMU runs in sessions of their own, so only that trap can stop
# them: no QEMU of the run may remain.
#
#   interrupt_check.sh PROJECT        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: interrupt_check.sh PROJECT}
mutant=$(grep -lx '# expect: hang' "$TOP/tests/grader/mutants/$project"/*.mutant | head -n 1)
[ -f "$mutant" ] || { complain "interrupt_check: no hanging mutant for $project"; exit 1; }
logs=$(mktemp -d "$SELFTEST_WORK/interrupt-logs.XXXXXX")
submission_of "$SELFTEST_WORK/interrupt-submission" "$project" "$mutant" || exit 1

setsid bash "$SELFTEST_WORK/pristine/$project/keos-kev/grader/grade_strict.sh" \
	--work "$SELFTEST_WORK/worktree/$project" --log-dir "$logs" \
	"$SELFTEST_WORK/interrupt-submission" "$project" >"$logs.out" 2>&1 &
group=$!
# Each run's disk copy lives in the log directory: its QEMU names it.
qemus() { pgrep -f "qemu-system.*$logs/" ; }
for _ in $(seq 3000); do
	qemus >/dev/null && break
	kill -0 "$group" 2>/dev/null || break
	sleep 0.1
done
if ! qemus >/dev/null; then
	complain "interrupt_check: the grader never started a QEMU (output: $logs.out):"
	tail -n 20 "$logs.out" >&2
	kill -KILL -- "-$group" 2>/dev/null
	exit 1
fi
kill -TERM -- "-$group"
wait "$group" 2>/dev/null
# The event: every process of the group has ended.
for _ in $(seq 300); do
	kill -0 -- "-$group" 2>/dev/null || break
	sleep 0.1
done
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
	complain "interrupt_check: the grader did not report the interrupt (output: $logs.out):"
	tail -n 20 "$logs.out" >&2
	exit 1
fi
say "$project: interrupted once its first QEMU ran, the grader stopped and no QEMU was left running"
