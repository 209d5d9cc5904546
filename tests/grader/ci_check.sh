#!/usr/bin/env bash
# Grading in CI works: the handout's GitHub workflow and the script it runs.
#   - The handout carries .github/workflows/grade.yml (from
#     grader/handout-files/): on push, on ubuntu-latest, it checks out the
#     pristine handout named by the variables KEOS_PRISTINE_REPO and
#     KEOS_PRISTINE_REF, runs that checkout's grader/ci_grade.sh (never a
#     script of the student's checkout) and keeps grading/ as an artifact
#     even when grading fails.
#   - The workflow's own grading command runs here, in a workspace laid out
#     as the workflow lays it out (submission/, pristine/), with a summary
#     file standing in for $GITHUB_STEP_SUMMARY (and a prebuilt work tree
#     added, to keep this short): a student's repository with the
#     reference's files and a tampered rubric gets full marks of the
#     pristine rubric, the tampering flagged, the score as a notice and in
#     the summary, results.json valid field by field, every test's log kept;
#     the handout as given gets 0, each lost test's reason in the summary.
#   - docs/staff.md shows the same for GitLab (.gitlab-ci.yml) and the
#     GitHub Actions matrix that shards a class (grade_many.sh --shard).
#
#   ci_check.sh PROJECT        (inside selftest.sh, after strict grading)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/grader/results_lib.sh
source "$here/results_lib.sh"
project=${1:?usage: ci_check.sh PROJECT}
pristine=$SELFTEST_WORK/pristine/$project/keos-kev
fail=0
t0=$(date +%s%N)

# --- the workflow -------------------------------------------------------------------------
wf=$pristine/.github/workflows/grade.yml
if ! cmp -s "$wf" "$TOP/grader/handout-files/.github/workflows/grade.yml"; then
	complain "ci: the handout has no .github/workflows/grade.yml from grader/handout-files/"
	exit 1
fi
for want in '^on:' '^  push:' 'runs-on: ubuntu-latest' 'repository: \$\{\{ vars\.KEOS_PRISTINE_REPO \}\}' \
	'ref: \$\{\{ vars\.KEOS_PRISTINE_REF \}\}' 'path: pristine' 'path: submission' \
	'run: bash pristine/grader/ci_grade.sh .*submission$' 'uses: actions/upload-artifact@' 'if: always\(\)' 'path: grading/'; do
	grep -qE "$want" "$wf" || { complain "ci: $wf has no line matching '$want'"; fail=1; }
done
if grep -E '^\s*(run:|bash|\.)' "$wf" | grep -qE 'submission/[A-Za-z]'; then
	complain "ci: the workflow runs something from the student's own checkout: $(grep -nE 'submission/[A-Za-z]' "$wf")"
	fail=1
fi
grep -q '\.github/workflows/grade\.yml' "$pristine/README.md" ||
	{ complain "ci: the handout's README does not mention the workflow that grades a push"; fail=1; }
command=$(sed -n 's/^ *run: \(bash pristine\/grader\/ci_grade\.sh .*\)$/\1/p' "$wf")
[ -n "$command" ] || { complain "ci: no grading command in $wf"; exit 1; }

# --- its grading command, in a workspace laid out the same way -----------------------------
ws=$SELFTEST_WORK/ci-workspace
work=$SELFTEST_WORK/ci-work
rm -rf "$ws" "$work"
mkdir -p "$ws"
cp -a "$SELFTEST_WORK/worktree/$project" "$work"
cp -a "$pristine" "$ws/pristine"
mapfile -t files < <(grep -vE '^\s*(#|$)' "$TOP/grader/whitelist/$project.txt")
max=$(grep -vE '^\s*(#|$)' "$TOP/grader/rubrics/$project.rubric" | awk '{ s += $2 } END { print s }')
# run LABEL: the workflow's command, with the prebuilt work tree; output in LABEL.out.
run() {
	rm -f "$ws/summary.md"
	# shellcheck disable=SC2086
	(cd "$ws" && GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$ws/summary.md \
		${command/ci_grade.sh /ci_grade.sh --work $work }) >"$SELFTEST_WORK/ci-$1.out" 2>&1
}

# A student's repository: the reference's files, the rubric cut to its first test.
rm -rf "$ws/submission"
cp -a "$pristine" "$ws/submission"
for f in "${files[@]}"; do cp "$TOP/$f" "$ws/submission/$f"; done
grep -m 1 -E '^[a-z]' "$ws/pristine/grader/rubrics/$project.rubric" >"$ws/submission/grader/rubrics/$project.rubric"
if ! run reference; then
	complain "ci: the grading command failed on the reference (output: $SELFTEST_WORK/ci-reference.out)"
	fail=1
elif results_check_tests "$ws/grading/results.json" "$project" ""; then
	s=$(results_get "$ws/grading/results.json" .score)
	flags=$(results_flags "$ws/grading/results.json")
	rows=$(grep -c "^| $project/.* | passed |$" "$ws/summary.md")
	tests=$(grep -cE '^[a-z]' "$TOP/grader/rubrics/$project.rubric")
	logs=$(ls "$ws/grading/logs/"*.log 2>/dev/null | grep -vc strict-build)
	if [ "$s" != "$max" ] || ! grep -q "^tampered file: 1 given file(s) .*grader/rubrics/$project.rubric" <<<"$flags" ||
	   ! grep -qx "## Grade: $max/$max ($project)" "$ws/summary.md" || [ "$rows" != "$tests" ] ||
	   ! grep -q 'tampered file' "$ws/summary.md" || ! grep -qx "::notice title=Grade::$max/$max" "$SELFTEST_WORK/ci-reference.out" ||
	   [ "$logs" != "$tests" ] || [ ! -s "$ws/grading/grade.txt" ]; then
		complain "ci: reference with a tampered rubric: score $s/$max, flags '$flags', $rows of $tests summary rows passed, $logs logs (summary: $ws/summary.md, output: $SELFTEST_WORK/ci-reference.out)"
		fail=1
	fi
else
	fail=1
fi

# The handout as given: 0, and the summary says why for each test.
rm -rf "$ws/submission"
cp -a "$pristine" "$ws/submission"
if ! run stubs; then
	complain "ci: the grading command failed on the handout's stubs (output: $SELFTEST_WORK/ci-stubs.out)"
	fail=1
elif results_check_tests "$ws/grading/results.json" "$project" ""; then
	tests=$(grep -cE '^[a-z]' "$TOP/grader/rubrics/$project.rubric")
	why=$(grep -c '^<details><summary>.*: why</summary>$' "$ws/summary.md")
	panics=$(grep -c '^PANIC .*not yet implemented$' "$ws/summary.md")
	if ! grep -qx "## Grade: 0/$max ($project)" "$ws/summary.md" || [ "$why" != "$tests" ] || [ "$panics" != "$tests" ]; then
		complain "ci: the stubs' summary: no 'Grade: 0/$max', or $why reasons and $panics panic lines for $tests tests ($ws/summary.md)"
		fail=1
	fi
else
	fail=1
fi

# --- GitLab and sharding, in the staff pages -----------------------------------------------
staff=$TOP/docs/staff.md
gitlab=$(awk '/^```yaml$/ { on = 1; block = ""; next } on && /^```$/ { on = 0; if (block ~ /^# \.gitlab-ci\.yml/) print block; next } on { block = block $0 "\n" }' "$staff")
matrix=$(awk '/^```yaml$/ { on = 1; block = ""; next } on && /^```$/ { on = 0; if (block ~ /matrix:/) print block; next } on { block = block $0 "\n" }' "$staff")
grep -qE 'bash [^ ]*pristine/grader/ci_grade.sh ' <<<"$gitlab" && grep -q 'artifacts:' <<<"$gitlab" ||
	{ complain "ci: docs/staff.md has no .gitlab-ci.yml block (a yaml block starting '# .gitlab-ci.yml') that runs pristine/grader/ci_grade.sh and keeps artifacts"; fail=1; }
grep -q 'grade_many.sh .*--shard \${{ matrix.shard }}/' <<<"$matrix" && grep -q -- '--roster-only' <<<"$matrix" ||
	{ complain "ci: docs/staff.md has no GitHub Actions matrix block running grade_many.sh --shard and merging with --roster-only"; fail=1; }

[ $fail = 0 ] && say "$project: CI grading: the handout's workflow grades with the pristine checkout's ci_grade.sh; run here as the workflow runs it: reference with a tampered rubric $max/$max flagged, stubs 0 with every reason, summary, notice and artifacts ($(elapsed "$t0")s); staff.md has the GitLab job and the shard matrix"
exit $fail
