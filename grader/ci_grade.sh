#!/usr/bin/env bash
# Grades one student's repository in CI (the handout's GitHub workflow,
# .github/workflows/grade.yml, or a GitLab CI job doing the same), strictly:
# the pristine tree is the one this script lives in, a checkout of the
# course's template repository at a fixed tag, never the student's own copy.
#
#   ci_grade.sh [--install all|grading] [--out DIR] [--work DIR] [--jobs N]
#               [--visibility V] SUBMISSION [PROJECT...]
#
#   1. --install: the packages (grader/install_packages.sh; as root or sudo).
#   2. The student's whitelisted files are found in SUBMISSION
#      (grader/collect_submission.sh: by path or by name, tampered given
#      files flagged) and graded by this tree's grader/grade_strict.sh.
#   3. DIR (default ./grading) receives results.json (Gradescope's format),
#      grade.txt (the table), logs/ (every test's full log, the build log)
#      and summary.md, which is also appended to $GITHUB_STEP_SUMMARY when
#      that is set (the run's summary page). Under GitHub Actions the score
#      is also a notice on the run.
#
# PROJECT defaults to the handout's own (HANDOUT_PROJECT in mk/handout.mk).
# Exit status: 0 when the submission was graded, whatever its score; 1 when
# no results could be written; 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pristine=$(dirname "$here")
install="" out=grading work="" jobs=${GRADE_JOBS:-2} visibility="" projects=()
usage="usage: ci_grade.sh [--install all|grading] [--out DIR] [--work DIR] [--jobs N] [--visibility V] SUBMISSION [PROJECT...]"
while [ $# -gt 0 ]; do
	case "$1" in
	--install) install=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--visibility) visibility=$2; shift 2 ;;
	-*) echo "ci_grade: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
	*) projects+=("$1"); shift ;;
	esac
done
[ ${#projects[@]} -ge 1 ] || { echo "$usage" >&2; exit 2; }
submission=${projects[0]}
projects=("${projects[@]:1}")
if [ ${#projects[@]} = 0 ]; then
	p=$(sed -n 's/^HANDOUT_PROJECT := //p' "$pristine/mk/handout.mk" 2>/dev/null)
	[ -n "$p" ] || { echo "ci_grade: name the PROJECT (this tree is no handout: no HANDOUT_PROJECT in mk/handout.mk)" >&2; exit 2; }
	projects=("$p")
fi
[ -d "$submission" ] || { echo "ci_grade: the submission $submission is not a directory" >&2; exit 2; }

if [ -n "$install" ]; then
	bash "$here/install_packages.sh" "$install" || exit 1
fi

rm -rf "$out"
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/keos-ci-files.XXXXXX")
trap 'rm -rf "$stage"' EXIT
flags=()
while IFS= read -r f; do flags+=(--flag "$f"); done < <(bash "$here/collect_submission.sh" "$submission" "$stage" "${projects[@]}")

bash "$here/grade_strict.sh" ${work:+--work "$work"} --jobs "$jobs" --results "$out/results.json" \
	--log-dir "$out/logs" ${visibility:+--visibility "$visibility"} "${flags[@]}" "$stage" "${projects[@]}" 2>&1 |
	tee "$out/grade.txt"

leaves=$out/.leaves
if ! awk -f "$here/json.awk" "$out/results.json" >"$leaves" 2>"$out/json-error.txt"; then
	echo "ci_grade: no valid results.json was written: $(cat "$out/json-error.txt"); see $out/grade.txt" >&2
	exit 1
fi
get() { awk -v get="$1" -f "$here/json.awk" "$out/results.json"; }
html() { sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'; }
score=$(get .score) max=$(get .max_score)

# --- the run's summary -----------------------------------------------------------------
{
	echo "## Grade: $score/$max (${projects[*]})"
	echo
	echo "Graded strictly against the course's pristine handout: only $(for p in "${projects[@]}"; do grep -vE '^\s*(#|$)' "$here/whitelist/$p.txt"; done | sed 's/.*/`&`/' | paste -sd, | sed 's/,/, /g') of this repository counted."
	nflags=$(grep -c '^\.flags\[' "$leaves")
	if [ "$nflags" -gt 0 ]; then
		echo
		echo "**Flagged for review:**"
		for ((i = 0; i < nflags; i++)); do echo "- $(get ".flags[$i]" | html)"; done
	fi
	ntests=$(grep -c '^\.tests\[[0-9]*\]\.name	' "$leaves")
	if [ "$ntests" = 0 ]; then
		echo
		echo '```'
		get .output
		echo '```'
	else
		echo
		echo "| test | points | result |"
		echo "|---|---|---|"
		for ((i = 0; i < ntests; i++)); do
			status=$(get ".tests[$i].status") verdict=passed
			[ "$status" = passed ] || verdict=$(get ".tests[$i].output" | head -n 1)
			echo "| $(get ".tests[$i].name") | $(get ".tests[$i].score")/$(get ".tests[$i].max_score") | $verdict |"
		done
		for ((i = 0; i < ntests; i++)); do
			[ "$(get ".tests[$i].status")" = passed ] && continue
			echo
			echo "<details><summary>$(get ".tests[$i].name"): why</summary>"
			echo
			echo "<pre>"
			get ".tests[$i].output" | html
			echo "</pre>"
			echo "</details>"
		done
	fi
	echo
	echo "Every test's full log is in the run's artifact (logs/), with results.json."
} >"$out/summary.md"
rm -f "$leaves" "$out/json-error.txt"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
[ "${GITHUB_ACTIONS:-}" != true ] || echo "::notice title=Grade::$score/$max"
echo "ci_grade: $score/$max; results, logs and summary in $out"
exit 0
