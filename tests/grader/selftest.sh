#!/usr/bin/env bash
# The grader's self-test (make check-grader). Everything is graded strictly,
# the way course staff grade: the pristine handout's grade_strict.sh builds a
# submission's whitelisted files inside a work tree of its own. In order:
#
#   1. the reference solution scores full marks; the handout's stubs score 0,
#      every test "not yet implemented" (a submission without the file);
#   2. rules_check.sh: every rule of the rule tables (docs/x2apic-rules.md
#      and docs/svirtb-rules.md for project4, docs/project3-rules.md) has a
#      graded test, and each rule's mutant makes that test lose (the rule
#      coverage and the mutation score are printed per table and in total);
#      a mutant of given code (kev) is graded by a mutated copy of the
#      pristine handout; the mutants that hang every test are graded in
#      full and timed;
#   3. failure_check.sh: failures explain themselves (the check's own reason,
#      uncut; the log's path; kev's report and the hang diagnosis);
#   4. strict_check.sh (the first project): tampered tests, rubric, grader,
#      Makefile fragment and header change no strict score, from a clean and
#      a dirty build; a device doing what no device does is flagged;
#   5. handout_check.sh: each handout is a student's tree, and its make check
#      passes as handed out;
#   6. gdb_check.sh: make gdb TEST=... stops gdb in the student's function;
#   7. interrupt_check.sh (the first project): an interrupted grader leaves
#      no QEMU behind.
#   8. the ready-made autograding (the first project): json_check.sh (the
#      JSON reader), packages_check.sh (one package list: deps.sh, the
#      Dockerfile, .ci/run; the pages for other systems), autograder_check.sh
#      (the Gradescope zip run on a fake /autograder), ci_check.sh (the
#      handout's GitHub workflow and its script), grade_many_check.sh (a
#      class: kinds of submissions, resuming, limits, interrupts).
#
#   selftest.sh [PROJECT...]          (default: project4 project3)
#
# It reads only the tracked files of this tree (never build/), so it runs
# beside other make targets. KEEP=1 keeps its directory (/tmp/keos-grader-selftest.*).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$here/../.." && pwd)
projects=("$@")
[ ${#projects[@]} -gt 0 ] || projects=(project4 project3)
SELFTEST_WORK=$(mktemp -d /tmp/keos-grader-selftest.XXXXXX)
export TOP SELFTEST_WORK
trap '[ -n "${KEEP:-}" ] || rm -rf "$SELFTEST_WORK"' EXIT
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
failed=()
start=$(date +%s%N)

for project in "${projects[@]}"; do
	if ! bash "$TOP/grader/make_handout.sh" "$SELFTEST_WORK/pristine/$project" "$project" \
		>"$SELFTEST_WORK/handout-$project.log" 2>&1; then
		complain "make_handout $project failed:"
		cat "$SELFTEST_WORK/handout-$project.log" >&2
		exit 1
	fi
	mkdir -p "$SELFTEST_WORK/reference/$project" "$SELFTEST_WORK/worktree/$project"
	while read -r f; do
		case "$f" in ''|'#'*) continue ;; esac
		mkdir -p "$SELFTEST_WORK/reference/$project/$(dirname "$f")"
		cp "$TOP/$f" "$SELFTEST_WORK/reference/$project/$f"
	done <"$TOP/grader/whitelist/$project.txt"

	# 1. The reference, from a clean work tree; then the stubs.
	read -r score max < <(strict_grade "reference-$project" "$SELFTEST_WORK/reference/$project" "$project")
	if [ "$score" = x ] || [ "$score" != "$max" ] || [ "$max" = 0 ]; then
		complain "$project: the reference scores $score/$max, not full marks:"
		tail -n 40 "$SELFTEST_WORK/reference-$project.out" >&2
		failed+=("$project reference")
	else
		say "$project: the reference scores $score/$max"
	fi
	mkdir -p "$SELFTEST_WORK/empty-$project"
	read -r score max < <(strict_grade "handout-$project" "$SELFTEST_WORK/empty-$project" "$project")
	nyi=$(grep -c '"output": "not yet implemented' "$SELFTEST_WORK/handout-$project.json" 2>/dev/null)
	tests=$(grep -c '"name"' "$SELFTEST_WORK/handout-$project.json" 2>/dev/null)
	if [ "$score" != 0 ] || [ "${tests:-0}" = 0 ] || [ "$nyi" != "$tests" ] ||
	   ! grep -q '"flags": \[".*missing from the submission' "$SELFTEST_WORK/handout-$project.json"; then
		complain "$project: the handout's stubs score $score/$max with $nyi of $tests tests 'not yet implemented' (and the missing file flagged?):"
		tail -n 40 "$SELFTEST_WORK/handout-$project.out" >&2
		failed+=("$project handout")
	else
		say "$project: a submission without its file gets the stubs: $score/$max, all $tests tests 'not yet implemented', flagged"
	fi

	bash "$here/rules_check.sh" "$project" || failed+=("$project rules")
done
bash "$here/failure_check.sh" "${projects[@]}" || failed+=("failure reasons")
bash "$here/strict_check.sh" "${projects[0]}" || failed+=("${projects[0]} strict")
for project in "${projects[@]}"; do
	bash "$here/handout_check.sh" "$project" || failed+=("$project handout tree")
	bash "$here/gdb_check.sh" "$project" || failed+=("$project make gdb")
done
bash "$here/interrupt_check.sh" "${projects[0]}" || failed+=("interrupt")
bash "$here/json_check.sh" || failed+=("json reader")
bash "$here/packages_check.sh" "${projects[0]}" || failed+=("package lists")
bash "$here/autograder_check.sh" "${projects[0]}" || failed+=("${projects[0]} gradescope")
bash "$here/ci_check.sh" "${projects[0]}" || failed+=("${projects[0]} ci")
bash "$here/grade_many_check.sh" "${projects[0]}" || failed+=("${projects[0]} grade_many")

if [ ${#failed[@]} -gt 0 ]; then
	complain "FAILED after $(elapsed "$start")s: ${failed[*]} (kept: KEEP=1 keeps $SELFTEST_WORK)"
	exit 1
fi
say "all passed in $(elapsed "$start")s"
