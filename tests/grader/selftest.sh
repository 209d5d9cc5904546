#!/usr/bin/env bash
# The grader's self-test: the reference solution must score full marks, the
# student handout zero ("not yet implemented" on every test, and no grader
# crash), and every mutant of the svirtb device under tests/grader/mutants/
# must lose points. Prints the mutation score.
#
#   selftest.sh [PROJECT]      (default project4)
#
# Each variant is graded in its own copy of the tree (build directory
# included, so only what the variant changes is rebuilt).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
project=${1:-project4}
work=$(mktemp -d /tmp/keos-grader-selftest.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail=0

# grade TREE LABEL [GRADE_OPTION...]: builds and grades there; prints "score max".
grade() {
	local tree=$1 label=$2 log=$work/$2.log
	shift 2
	if ! make -C "$tree" -s build/keos-test.elf build/disk/$project.img >"$log" 2>&1; then
		echo "selftest: $label: build failed (log: $log)" >&2
		tail -n 20 "$log" >&2
		echo "x x"
		return
	fi
	(cd "$tree" && bash grader/grade.sh "$@" --results "$work/$label.json" --log-dir "$work/$label-logs" "$project") >>"$log" 2>&1
	local score max
	score=$(grep -m1 '"score"' "$work/$label.json" | tr -dc '0-9')
	max=$(grep -m1 '"max_score"' "$work/$label.json" | tr -dc '0-9')
	echo "${score:-x} ${max:-x}"
}

copy_tree() {
	local dest=$1
	mkdir -p "$dest"
	(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$dest")
	[ -d "$top/build" ] && cp -a "$top/build" "$dest/build"
	rm -rf "$dest/build/grade"
}

# 1. The reference.
copy_tree "$work/reference"
read -r score max < <(grade "$work/reference" reference)
if [ "$score" != "$max" ] || [ "$max" = x ] || [ "$max" = 0 ]; then
	echo "selftest: the reference scores $score/$max, not full marks (log: $work/reference.log)" >&2
	fail=1
else
	echo "selftest: reference: $score/$max"
fi

# 2. The handout: zero, every test "not yet implemented".
bash "$top/grader/make_handout.sh" "$work/handout" "$project" >"$work/handout-build.log" 2>&1 ||
	{ echo "selftest: make_handout failed" >&2; cat "$work/handout-build.log" >&2; exit 1; }
[ -d "$top/build" ] && cp -a "$top/build" "$work/handout/keos-kev/build" && rm -rf "$work/handout/keos-kev/build/grade"
read -r score max < <(grade "$work/handout/keos-kev" handout)
nyi=$(grep -c '"output": "not yet implemented' "$work/handout.json" 2>/dev/null || true)
tests=$(grep -c '"name"' "$work/handout.json" 2>/dev/null || true)
if [ "$score" != 0 ] || [ "$nyi" != "$tests" ] || [ "${tests:-0}" = 0 ]; then
	echo "selftest: the handout scores $score/$max with $nyi of $tests tests 'not yet implemented' (log: $work/handout.log)" >&2
	fail=1
else
	echo "selftest: handout: $score/$max, all $tests tests 'not yet implemented'"
fi

# 2b. Strict mode: a submission's change to a file students may not edit is
# undone before grading; the whitelisted file is kept.
pristine=$work/pristine
bash "$top/grader/make_handout.sh" "$pristine" "$project" >/dev/null 2>&1
sub=$work/handout/keos-kev
echo "# tampered" >>"$sub/grader/rubrics/$project.rubric"
echo "/* the student's work */" >>"$sub/project4/dev/simple_virtio.c"
(cd "$sub" && bash grader/restore_reference.sh "$pristine/keos-kev" "$project") >"$work/strict.log" 2>&1
if ! cmp -s "$sub/grader/rubrics/$project.rubric" "$pristine/keos-kev/grader/rubrics/$project.rubric" ||
   ! grep -q "the student's work" "$sub/project4/dev/simple_virtio.c"; then
	echo "selftest: strict mode did not restore the rubric or did not keep the student's file (log: $work/strict.log)" >&2
	fail=1
else
	echo "selftest: strict mode: non-whitelisted files restored, the student's file kept"
fi

# 2c. Interrupted, the grader stops and takes its QEMU with it. SIGTERM
# stands in for Ctrl-C: a shell started in the background ignores SIGINT,
# and grade.sh handles both with the same trap.
(cd "$work/reference" && setsid bash grader/grade.sh --log-dir "$work/interrupt-logs" "$project" >"$work/interrupt.log" 2>&1) &
grader_pid=$!
sleep 3
pkill -TERM -f "grader/grade.sh --log-dir $work/interrupt-logs" || true
wait "$grader_pid" 2>/dev/null
sleep 1
if pgrep -f "qemu-system.*$work/" >/dev/null; then
	echo "selftest: QEMU outlived an interrupted grader" >&2
	pkill -KILL -f "qemu-system.*$work/" || true
	fail=1
elif ! ls "$work/interrupt-logs"/*.log >/dev/null 2>&1 || ! grep -q "grade: interrupted" "$work/interrupt.log"; then
	echo "selftest: the grader did not report the interrupt (log: $work/interrupt.log)" >&2
	fail=1
else
	echo "selftest: interrupted, the grader stopped and no QEMU was left running"
fi

# 3. Mutants: each must lose points. One copy of the tree serves them all:
# each patch is applied, graded (stopping at the first lost point) and
# reverted.
killed=0 total=0
tree=$work/mutants
copy_tree "$tree"
for patch in "$here"/mutants/*.patch; do
	name=$(basename "$patch" .patch)
	total=$((total + 1))
	if ! patch -s -d "$tree" -p1 <"$patch"; then
		echo "selftest: mutant $name: patch does not apply" >&2
		fail=1
		continue
	fi
	read -r score max < <(grade "$tree" "mutant-$name" --fail-fast)
	patch -s -R -d "$tree" -p1 <"$patch"
	if [ "$score" != x ] && [ "$score" != "$max" ]; then
		killed=$((killed + 1))
		echo "selftest: mutant $name: loses points (killed)"
	else
		echo "selftest: mutant $name: $score/$max (SURVIVED)" >&2
		fail=1
	fi
done
echo "selftest: mutation score $killed/$total"
[ $fail = 0 ]
