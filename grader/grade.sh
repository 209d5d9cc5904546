#!/usr/bin/env bash
# The grader: runs each graded test of a project in its own QEMU with its
# own time limit, reads the verdict from the serial log, and scores it with
# the project's rubric (grader/rubrics/PROJECT.rubric).
#
#   grade.sh [--format table|tap] [--results FILE] [--log-dir DIR] [--fail-fast] PROJECT...
#
# A project is described by grader/projects/PROJECT.conf (bash): KERNEL, the
# kernel that runs the tests; optionally DRIVE, a disk image copied fresh for
# every test. The kernel must run one test given "test=NAME" on its command
# line and print "test NAME ... ok" or "test NAME ... FAILED: reason".
#
# Exit status: 0 only at full marks; 1 otherwise; 2 for a usage or rubric error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
format=table results="" log_dir="" projects=() fail_fast=0
while [ $# -gt 0 ]; do
	case "$1" in
	--format) format=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--log-dir) log_dir=$2; shift 2 ;;
	--fail-fast) fail_fast=1; shift ;;   # stop at the first lost point (the self-test's mutants)
	-*) echo "grade: unknown option $1" >&2; exit 2 ;;
	*) projects+=("$1"); shift ;;
	esac
done
[ ${#projects[@]} -gt 0 ] || { echo "usage: grade.sh [--format table|tap] [--results FILE] PROJECT..." >&2; exit 2; }
case $format in table|tap) ;; *) echo "grade: --format is table or tap" >&2; exit 2 ;; esac
[ -n "$log_dir" ] || log_dir=$top/build/grade
mkdir -p "$log_dir"

# QEMU must never outlive the grader, Ctrl-C included.
child=""
cleanup() {
	if [ -n "$child" ]; then
		kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
		sleep 0.5
		kill -KILL -- "-$child" 2>/dev/null || true
	fi
}
trap 'cleanup; echo "grade: interrupted" >&2; exit 130' INT TERM
trap cleanup EXIT

# One graded run; sets verdict ("pass", "FAIL", "TIMEOUT", "PANIC",
# "not yet implemented") and detail (the first failure line).
run_test() {
	local name=$1 timeout_s=$2 log=$3 drive_copy=""
	local args=(--timeout "$timeout_s" --append "test=$name")
	if [ -n "${DRIVE:-}" ]; then
		drive_copy=$log_dir/$name.img
		cp "$top/$DRIVE" "$drive_copy" || { verdict=FAIL; detail="cannot copy $DRIVE"; return; }
		args+=(--drive "$drive_copy")
	fi
	setsid bash "$top/tools/qemu_run.sh" "${args[@]}" "$top/$KERNEL" </dev/null >"$log" 2>&1 &
	child=$!
	wait "$child"
	local rc=$?
	child=""
	[ -n "$drive_copy" ] && rm -f "$drive_copy"
	local text
	text=$(tr -d '\r' <"$log" | tr -c '[:print:]\n\t' '?')
	local result
	result=$(grep -E "^test $name \.\.\. (ok|FAILED)" <<<"$text" | head -n 1)
	if grep -q "not yet implemented" <<<"$text"; then
		verdict="not yet implemented"
		detail=$(grep -m 1 "not yet implemented" <<<"$text")
	elif [ "$result" = "test $name ... ok" ] && grep -qx "1 passed, 0 failed" <<<"$text" && [ $rc = 0 ]; then
		verdict=pass detail=""
	elif [ $rc = 124 ]; then
		verdict=TIMEOUT detail="no verdict within ${timeout_s}s"
	elif [ -n "$result" ]; then
		verdict=FAIL detail=${result#*FAILED: }
	elif grep -qE '^(PANIC|EXCEPTION)' <<<"$text"; then
		verdict=PANIC detail=$(grep -m 1 -E '^(PANIC|EXCEPTION)' <<<"$text")
	elif grep -q "running 0 tests" <<<"$text"; then
		verdict=FAIL detail="the kernel has no test named $name"
	else
		verdict=FAIL detail="no verdict in the log (QEMU status $rc)"
	fi
}

json_escape() {
	local s=$1
	s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/ }; s=${s//$'\n'/\\n}
	printf '%s' "$s"
}

total=0 max=0 json_tests=() tap_lines=() ntap=0 total_lost=0
for project in "${projects[@]}"; do
	conf=$here/projects/$project.conf rubric=$here/rubrics/$project.rubric
	[ -f "$conf" ] && [ -f "$rubric" ] || { echo "grade: unknown project '$project' (no $conf or $rubric)" >&2; exit 2; }
	KERNEL="" DRIVE=""
	# shellcheck source=/dev/null
	source "$conf"
	[ -f "$top/$KERNEL" ] || { echo "grade: $project: kernel $KERNEL is not built (run make first)" >&2; exit 2; }
	ptotal=0 pmax=0
	[ $format = table ] && printf '\n%s\n%-50s %7s  %s\n' "== $project" "test" "points" "result"
	lineno=0
	while read -r name points timeout_s extra || [ -n "${name:-}" ]; do
		lineno=$((lineno + 1))
		case "$name" in ''|'#'*) continue ;; esac
		if ! [[ $points =~ ^[0-9]+$ && $timeout_s =~ ^[0-9]+$ ]] || [ -n "${extra:-}" ]; then
			echo "grade: $rubric:$lineno: expected 'NAME POINTS TIMEOUT'" >&2
			exit 2
		fi
		if [ $fail_fast = 1 ] && [ $total_lost = 1 ]; then
			verdict=skipped detail="skipped after a failure (--fail-fast)"
		else
			run_test "$name" "$timeout_s" "$log_dir/$project-$name.log"
		fi
		[ "$verdict" = pass ] || total_lost=1
		got=0
		[ "$verdict" = pass ] && got=$points
		ptotal=$((ptotal + got)) pmax=$((pmax + points))
		shown=$verdict
		[ -n "$detail" ] && [ "$verdict" != pass ] && shown="$verdict: $detail"
		if [ $format = table ]; then
			printf '%-50s %3d/%-3d  %s\n' "$name" "$got" "$points" "${shown:0:160}"
		else
			ntap=$((ntap + 1))
			if [ "$verdict" = pass ]; then tap_lines+=("ok $ntap - $project/$name")
			else tap_lines+=("not ok $ntap - $project/$name # $shown"); fi
		fi
		json_tests+=("{\"name\": \"$(json_escape "$project/$name")\", \"score\": $got, \"max_score\": $points, \"output\": \"$(json_escape "$shown")\"}")
	done <"$rubric"
	[ $format = table ] && printf '%-50s %3d/%-3d\n' "total $project" "$ptotal" "$pmax"
	total=$((total + ptotal)) max=$((max + pmax))
done

if [ $format = tap ]; then
	echo "TAP version 13"
	echo "1..$ntap"
	printf '%s\n' "${tap_lines[@]}"
	echo "# score $total/$max"
else
	printf '\n%-50s %3d/%-3d\n' "TOTAL" "$total" "$max"
fi
if [ -n "$results" ]; then
	{
		printf '{\n  "score": %d,\n  "max_score": %d,\n  "tests": [\n' "$total" "$max"
		for i in "${!json_tests[@]}"; do
			sep=","
			[ "$i" = $(( ${#json_tests[@]} - 1 )) ] && sep=""
			printf '    %s%s\n' "${json_tests[$i]}" "$sep"
		done
		printf '  ]\n}\n'
	} >"$results"
fi
[ "$max" -gt 0 ] && [ "$total" = "$max" ]
