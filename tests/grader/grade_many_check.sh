#!/usr/bin/env bash
# grade_many.sh grades a class, resumes, and survives what students hand in.
# A small class of three kinds (each grades in full):
#   alice.tar.gz  a whole tree with the reference's files and a rubric cut to
#                 one test: full marks of the pristine rubric, "tampered file";
#   bob.bundle    a git bundle of a mutant's file alone: some points lost, no flag;
#   carol/        a folder with a file that does not compile: 0, "does not build".
# Each out directory starts from a copy of the self-test's built work tree,
# so nothing is built from scratch. Checked: the roster row by row, every
# results.json valid field by field, no slot rebuilt from scratch; a second
# run grades nobody; with bob's results removed, a third grades bob alone.
# Then a submission that hangs every test: with a 5 s limit for the whole
# submission it is stopped and flagged "timed out", no QEMU left; and a
# grading interrupted by SIGTERM to grade_many.sh alone (once its first QEMU
# runs: an event, not a delay) stops, leaves no QEMU and no results, and
# the roster says "not graded".
#
#   grade_many_check.sh PROJECT        (inside selftest.sh, after strict grading)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/grader/results_lib.sh
source "$here/results_lib.sh"
project=${1:?usage: grade_many_check.sh PROJECT}
pristine=$SELFTEST_WORK/pristine/$project/keos-kev
many=$pristine/grader/grade_many.sh
w=$SELFTEST_WORK/many
rm -rf "$w"
mkdir -p "$w/class"
fail=0
t0=$(date +%s%N)
mapfile -t files < <(grep -vE '^\s*(#|$)' "$TOP/grader/whitelist/$project.txt")
max=$(grep -vE '^\s*(#|$)' "$TOP/grader/rubrics/$project.rubric" | awk '{ s += $2 } END { print s }')
case $project in
project4) mutant=ignore_reset ;;
*) mutant=unmap_keeps_empty_tables ;;
esac
# out DIR: an out directory whose seed work tree is the self-test's, built.
out() { mkdir -p "$1/.work"; cp -a "$SELFTEST_WORK/worktree/$project" "$1/.work/seed"; }

# --- the class ---------------------------------------------------------------------------------
mkdir -p "$w/alice"
cp -a "$pristine" "$w/alice/keos-kev"
for f in "${files[@]}"; do cp "$TOP/$f" "$w/alice/keos-kev/$f"; done
grep -m 1 -E '^[a-z]' "$pristine/grader/rubrics/$project.rubric" >"$w/alice/keos-kev/grader/rubrics/$project.rubric"
tar -C "$w/alice" -czf "$w/class/alice.tar.gz" keos-kev
submission_of "$w/bob" "$project" "$TOP/tests/grader/mutants/$project/$mutant.mutant" || exit 1
git -C "$w/bob" init -q && git -C "$w/bob" add -A &&
	git -C "$w/bob" -c user.name=bob -c user.email=bob@localhost commit -qm work &&
	git -C "$w/bob" bundle create -q "$w/class/bob.bundle" --all 2>/dev/null || { complain "grade_many: cannot make bob's bundle"; exit 1; }
mkdir -p "$w/class/carol"
printf 'int broken(void) { return not_declared; }\n' >"$w/class/carol/$(basename "${files[0]}")"

out "$w/grades"
if ! bash "$many" --out "$w/grades" --jobs 2 "$w/class" "$project" >"$w/run1.out" 2>&1; then
	complain "grade_many: the class run failed (output: $w/run1.out):"
	tail -n 20 "$w/run1.out" >&2
	exit 1
fi
grep -l 'rebuilding from scratch' "$w"/grades/*/grade.txt >/dev/null 2>&1 &&
	{ complain "grade_many: a slot was rebuilt from scratch: $(grep -l 'rebuilding from scratch' "$w"/grades/*/grade.txt)"; fail=1; }
results_check_tests "$w/grades/alice/results.json" "$project" "" || fail=1
results_check_tests "$w/grades/bob/results.json" "$project" "" || fail=1
results_leaves "$w/grades/carol/results.json" >/dev/null || fail=1
roster=$w/grades/roster.csv
row() { grep "^$1," "$roster"; }
IFS=, read -r _ a_score a_max a_total a_tmax a_secs a_flags < <(row alice)
IFS=, read -r _ b_score b_max _ _ b_secs b_flags < <(row bob)
IFS=, read -r _ c_score c_max _ _ _ c_flags < <(row carol)
header="student,$project,${project}_max,total,max,seconds,flags"
if [ "$(head -n 1 "$roster")" != "$header" ] || [ "$(sed 1d "$roster" | cut -d, -f1 | paste -sd' ')" != "alice bob carol" ]; then
	complain "grade_many: the roster is not '$header' and a row for alice, bob and carol in order:"$'\n'"$(cat "$roster")"
	fail=1
elif [ "$a_score/$a_max/$a_total/$a_tmax/$a_flags" != "$max/$max/$max/$max/tampered file" ] || ! [[ $a_secs =~ ^[0-9]+\.[0-9]+$ ]] ||
     ! [ "$b_score" -gt 0 ] || ! [ "$b_score" -lt "$max" ] || [ "$b_max" != "$max" ] || [ -n "$b_flags" ] ||
     [ "$c_score/$c_max" != "0/$max" ] || [[ $c_flags != *"does not build"* ]]; then
	complain "grade_many: roster rows (alice: full marks, tampered file; bob: some points lost, no flag; carol: 0, does not build):"$'\n'"$(cat "$roster")"
	fail=1
fi

# --- resuming -----------------------------------------------------------------------------------
bash "$many" --out "$w/grades" "$w/class" "$project" >"$w/run2.out" 2>&1
grep -q 'this run grades 0, skips 3 already graded' "$w/run2.out" ||
	{ complain "grade_many: a second run did not skip the three graded students: $(head -n 1 "$w/run2.out")"; fail=1; }
rm "$w/grades/bob/results.json"
bash "$many" --out "$w/grades" "$w/class" "$project" >"$w/run3.out" 2>&1
if ! grep -q 'this run grades 1, skips 2 already graded' "$w/run3.out" || ! grep -q "^grade_many: bob: $b_score/$max " "$w/run3.out"; then
	complain "grade_many: with bob's results gone, the run did not grade bob alone, to the same score (output: $w/run3.out)"
	fail=1
fi

# --- a submission that hangs: its limit, then an interrupt -------------------------------------
hang=$(grep -lx '# expect: hang' "$TOP/tests/grader/mutants/$project"/*.mutant | head -n 1)
mkdir -p "$w/hanging"
submission_of "$w/hanging/erin" "$project" "$hang" || exit 1
qemus() { pgrep -f "qemu-system.*$1/" ; }
out "$w/limit"
bash "$many" --out "$w/limit" --timeout 5 "$w/hanging" "$project" >"$w/limit.out" 2>&1
flags=$(results_flags "$w/limit/erin/results.json")
if ! grep -q '^timed out: ' <<<"$flags" || [ "$(results_get "$w/limit/erin/results.json" .score)" != 0 ] ||
   ! grep -q '^erin,0,.*,timed out$' "$w/limit/roster.csv"; then
	complain "grade_many: a submission over its 5 s limit is not flagged 'timed out' with 0 (flags: $flags; output: $w/limit.out)"
	fail=1
fi
if qemus "$w/limit" >/dev/null; then
	complain "grade_many: QEMU outlived a submission stopped at its limit"
	for pid in $(qemus "$w/limit"); do kill -KILL "$pid"; done
	fail=1
fi

out "$w/interrupted"
setsid bash "$many" --out "$w/interrupted" "$w/hanging" "$project" >"$w/interrupted.out" 2>&1 &
pid=$!
for _ in $(seq 3000); do
	qemus "$w/interrupted" >/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if ! qemus "$w/interrupted" >/dev/null; then
	complain "grade_many: never started a QEMU for the hanging submission (output: $w/interrupted.out)"
	kill -KILL -- "-$pid" 2>/dev/null
	fail=1
else
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	for _ in $(seq 100); do
		qemus "$w/interrupted" >/dev/null || break
		sleep 0.1
	done
	if qemus "$w/interrupted" >/dev/null; then
		complain "grade_many: QEMU outlived an interrupted grade_many.sh"
		for q in $(qemus "$w/interrupted"); do kill -KILL "$q"; done
		fail=1
	elif [ $rc != 130 ] || [ -e "$w/interrupted/erin/results.json" ] || ! grep -q '^erin,.*,not graded$' "$w/interrupted/roster.csv"; then
		complain "grade_many: interrupted, it exited $rc (130 expected), results: $(ls "$w/interrupted/erin" 2>&1 | paste -sd' '), roster: $(cat "$w/interrupted/roster.csv")"
		fail=1
	fi
fi

[ $fail = 0 ] && say "$project: grade_many.sh: a tarball ($max/$max, tampered file), a git bundle ($b_score/$max), a folder that does not build (0); resumed twice; a hanging submission stopped at its limit (timed out) and an interrupted run left no QEMU ($(elapsed "$t0")s)"
exit $fail
