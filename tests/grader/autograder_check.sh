#!/usr/bin/env bash
# The Gradescope autograder works as Gradescope runs it. make_autograder.sh
# writes the zip (setup.sh and run_autograder executable at its root); it is
# unpacked into a fake root standing in for /autograder (AUTOGRADER_ROOT),
# whose work tree is a copy of the one the self-test already built, so
# setup.sh only checks the packages and rebuilds what differs. Then
# run_autograder, copied to the root and run from there as Gradescope does,
# grades four uploads, and each results.json is read field by field
# (results_lib.sh: valid JSON, the rubric's tests in order with points,
# status, output, visibility and execution time, the totals):
#   - the reference's files alone at the top of the upload: full marks, no flag;
#   - the handout's stubs, deep in a folder: 0, every output the panic line
#     exactly as the test's log has it;
#   - a whole tree with the reference's files, the rubric's points doubled,
#     a graded test changed and the assertions made lenient: full marks of
#     the pristine rubric, and the three files flagged as tampered;
#   - an upload without the file: 0, "not yet implemented", flagged missing.
#
#   autograder_check.sh PROJECT        (inside selftest.sh, after strict grading)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/grader/results_lib.sh
source "$here/results_lib.sh"
project=${1:?usage: autograder_check.sh PROJECT}
visibility=after_due_date
fail=0
t0=$(date +%s%N)

zipdir=$SELFTEST_WORK/autograder
if ! bash "$TOP/grader/make_autograder.sh" "$zipdir" "$project" "$visibility" >"$zipdir.out" 2>&1; then
	complain "autograder: make_autograder.sh failed:"
	cat "$zipdir.out" >&2
	exit 1
fi
zip=$zipdir/autograder-$project.zip
for f in setup.sh run_autograder; do
	mode=$(unzip -Z "$zip" "$f" 2>/dev/null | awk '{ print $1 }')
	case "$mode" in
	-rwx*) ;;
	*) complain "autograder: $f is not an executable file at the zip's root (mode '$mode'; entries: $(unzip -Z1 "$zip" | head -n 5 | paste -sd' '))"; fail=1 ;;
	esac
done
grep -qx 'keos-kev/grader/grade_strict.sh' <(unzip -Z1 "$zip") ||
	{ complain "autograder: the zip holds no pristine tree (keos-kev/grader/grade_strict.sh)"; fail=1; }
[ $fail = 0 ] || exit 1

# The fake /autograder, as Gradescope lays it out.
root=$SELFTEST_WORK/gradescope
rm -rf "$root"
mkdir -p "$root/source"
unzip -q "$zip" -d "$root/source"
cp -a "$SELFTEST_WORK/worktree/$project" "$root/work"
if ! AUTOGRADER_ROOT=$root bash "$root/source/setup.sh" >"$root/setup.out" 2>&1; then
	complain "autograder: setup.sh failed:"
	tail -n 20 "$root/setup.out" >&2
	exit 1
fi
grep -q 'rebuilding from scratch' "$root/setup.out" &&
	{ complain "autograder: setup.sh rebuilt the work tree from scratch: the zip's tree differs from the pristine handout ($root/setup.out)"; fail=1; }
cp "$root/source/run_autograder" "$root/run_autograder"

# grade LABEL: runs run_autograder on $root/submission; results in LABEL.json.
grade() {
	rm -rf "$root/results"
	(cd "$root" && AUTOGRADER_ROOT=$root ./run_autograder) >"$root/$1.out" 2>&1
	cp "$root/results/results.json" "$root/$1.json" 2>/dev/null
	if grep -q 'rebuilding from scratch' "$root/$1.out"; then
		complain "autograder ($1): the prebuilt work tree was rebuilt from scratch ($root/$1.out)"
		fail=1
	fi
	results_check_tests "$root/$1.json" "$project" "$visibility" ||
		{ complain "autograder ($1): output in $root/$1.out"; fail=1; return 1; }
}
mapfile -t files < <(grep -vE '^\s*(#|$)' "$TOP/grader/whitelist/$project.txt")
max=$(grep -vE '^\s*(#|$)' "$TOP/grader/rubrics/$project.rubric" | awk '{ s += $2 } END { print s }')

# 1. The reference's files, alone at the top.
rm -rf "$root/submission" && mkdir -p "$root/submission"
for f in "${files[@]}"; do cp "$TOP/$f" "$root/submission/"; done
if grade reference; then
	s=$(results_get "$root/reference.json" .score) flags=$(results_flags "$root/reference.json")
	[ "$s" = "$max" ] && [ -z "$flags" ] || { complain "autograder: the reference scores $s/$max with flags '$flags'"; fail=1; }
fi

# 2. The handout's stubs, deep in a folder: every test's output is the panic, as logged.
rm -rf "$root/submission" && mkdir -p "$root/submission/my work"
for f in "${files[@]}"; do
	mkdir -p "$root/submission/my work/$(dirname "$f")"
	cp "$root/source/keos-kev/$f" "$root/submission/my work/$f"
done
if grade stubs; then
	s=$(results_get "$root/stubs.json" .score)
	[ "$s" = 0 ] || { complain "autograder: the stubs score $s"; fail=1; }
	i=0
	while name=$(results_get "$root/stubs.json" ".tests[$i].name"); do
		out=$(results_get "$root/stubs.json" ".tests[$i].output")
		reason=$(sed -n 2p <<<"$out")
		log=$root/logs/$project-${name#*/}.log
		if [ "$(head -n 1 <<<"$out")" != "not yet implemented" ] || [ -z "$reason" ] ||
		   ! grep -qxF "$reason" <(tr -d '\r' <"$log" 2>/dev/null); then
			complain "autograder: $name's output is not the stub's panic line as its log ($log) has it:"$'\n'"$out"
			fail=1
			break
		fi
		i=$((i + 1))
	done
fi

# 3. A whole tree: the reference's files, a rubric worth twice as much, a changed test, lenient assertions.
rm -rf "$root/submission" && mkdir -p "$root/submission"
cp -a "$root/source/keos-kev" "$root/submission/keos-kev"
for f in "${files[@]}"; do cp "$TOP/$f" "$root/submission/keos-kev/$f"; done
rubric=grader/rubrics/$project.rubric
awk '/^[a-z]/ { $2 = $2 * 2 } { print }' "$root/submission/keos-kev/$rubric" >"$root/rubric.tmp"
mv "$root/rubric.tmp" "$root/submission/keos-kev/$rubric"
case $project in
project4) test_file=tests/guest/project4/test_svirtb.c ;;
*) test_file=tests/guest/project3/test_guest.c ;;
esac
sed -i 's/if (!(cond))/if (!(cond) \&\& 0)/' "$root/submission/keos-kev/keos/test/ktest.h"
echo '/* lenient */' >>"$root/submission/keos-kev/$test_file"
if grade tampered; then
	s=$(results_get "$root/tampered.json" .score) flags=$(results_flags "$root/tampered.json")
	if [ "$s" != "$max" ] || ! grep -q '^tampered file: 3 given file(s)' <<<"$flags" ||
	   ! grep -qF "$rubric" <<<"$flags" || ! grep -qF "$test_file" <<<"$flags" || ! grep -qF keos/test/ktest.h <<<"$flags"; then
		complain "autograder: tampered tree: $s/$max (the pristine rubric's maximum expected), flags: $flags"
		fail=1
	fi
fi

# 4. No file at all.
rm -rf "$root/submission" && mkdir -p "$root/submission"
echo "my notes" >"$root/submission/README.txt"
if grade missing; then
	s=$(results_get "$root/missing.json" .score) flags=$(results_flags "$root/missing.json")
	nyi=$(grep -c '^\.tests\[[0-9]*\]\.output	"not yet implemented\\n' <(results_leaves "$root/missing.json"))
	tests=$(grep -c '^\.tests\[[0-9]*\]\.name	' <(results_leaves "$root/missing.json"))
	if [ "$s" != 0 ] || [ "$nyi" != "$tests" ] || [ "$(grep -c 'missing from the submission' <<<"$flags")" != "${#files[@]}" ]; then
		complain "autograder: an upload without the file scores $s, $nyi of $tests tests 'not yet implemented', flags: $flags"
		fail=1
	fi
fi

[ $fail = 0 ] && say "$project: the Gradescope autograder ($(basename "$zip")): reference $max/$max, stubs 0, tampered tree $max/$max flagged, missing file 0 flagged; every results.json valid, field by field ($(elapsed "$t0")s)"
exit $fail
