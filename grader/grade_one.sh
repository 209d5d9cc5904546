#!/usr/bin/env bash
# Grades one student's submission for grade_many.sh, strictly, in a work
# tree that earlier submissions left built (only what the student's files
# change is rebuilt), and always leaves a results.json behind, even for a
# submission that cannot be read, does not build or runs past its time.
#
#   grade_one.sh --work DIR --out DIR [--timeout S] [--jobs N] [--only NAME,...]
#                SUBMISSION PROJECT...
#
# SUBMISSION is a folder, a tarball (.tar, .tar.gz/.tgz, .tar.xz/.txz,
# .tar.bz2/.tbz2), a git bundle (.bundle: its HEAD, else its first branch) or
# a .zip (when unzip is installed). It is unpacked in a temporary directory,
# its whitelisted files found at any depth (grader/collect_submission.sh),
# and graded by this tree's grader/grade_strict.sh with a limit of S
# seconds for the whole submission (build and every test; default 900).
#
# --out DIR receives results.json (Gradescope's format; flags "unreadable
# submission: ..." or "timed out: ..." when grading could not finish),
# grade.txt (the table and what was collected), logs/ and seconds (the
# wall-clock time). results.json appears only when complete (written aside,
# then renamed), so a run that is stopped leaves none and is graded again.
#
# Interrupted (INT or TERM), it stops its grading, QEMUs included, and
# writes no results. Exit status: 0 when results were written; 1 otherwise;
# 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=grader/json_str.sh
source "$here/json_str.sh"
work="" out="" limit=900 jobs=1 only="" projects=()
usage="usage: grade_one.sh --work DIR --out DIR [--timeout S] [--jobs N] [--only NAME,...] SUBMISSION PROJECT..."
while [ $# -gt 0 ]; do
	case "$1" in
	--work) work=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	-*) echo "grade_one: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
	*) projects+=("$1"); shift ;;
	esac
done
[ -n "$work" ] && [ -n "$out" ] && [ ${#projects[@]} -ge 2 ] || { echo "$usage" >&2; exit 2; }
[[ $limit =~ ^[1-9][0-9]*$ ]] || { echo "grade_one: --timeout needs a positive number of seconds" >&2; exit 2; }
submission=${projects[0]}
projects=("${projects[@]:1}")
t0=$(date +%s%N)
rm -rf "$out"
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keos-one.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$out/grade.txt
: >"$log"

# results_without_tests FLAG OUTPUT: a results.json for a submission that
# could not be graded test by test: no points, the flag, and why.
results_without_tests() {
	local max
	max=$(for p in "${projects[@]}"; do grep -vE '^\s*(#|$)' "$here/rubrics/$p.rubric"; done | awk '{ s += $2 } END { print s + 0 }')
	printf '{\n  "score": 0,\n  "max_score": %d,\n  "execution_time": %s,\n  "output": "%s",\n  "flags": ["%s"],\n  "tests": []\n}\n' \
		"$max" "$(seconds)" "$(json_str "$2")" "$(json_str "$1")" >"$out/results.json.tmp"
	mv "$out/results.json.tmp" "$out/results.json"
}
seconds() {
	local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}
finish() { seconds >"$out/seconds"; exit "$1"; }

# --- 1. the submission, as a directory -----------------------------------------------
upload=$tmp/upload
mkdir -p "$upload"
unpack_error=""
case "$submission" in
*.tar|*.tar.gz|*.tgz|*.tar.xz|*.txz|*.tar.bz2|*.tbz2)
	tar -xf "$submission" -C "$upload" --no-same-owner --no-same-permissions 2>"$tmp/unpack.err" ||
		unpack_error="tar could not read it: $(head -n 3 "$tmp/unpack.err")" ;;
*.zip)
	if ! command -v unzip >/dev/null; then
		unpack_error="a .zip needs unzip, which is not installed (apt-get install unzip)"
	elif ! unzip -q "$submission" -d "$upload" 2>"$tmp/unpack.err"; then
		unpack_error="unzip could not read it: $(head -n 3 "$tmp/unpack.err")"
	fi ;;
*.bundle)
	if ! command -v git >/dev/null; then
		unpack_error="a git bundle needs git, which is not installed (apt-get install git)"
	elif ! git clone -q "$submission" "$upload/repo" 2>"$tmp/unpack.err"; then
		unpack_error="git could not clone it: $(head -n 3 "$tmp/unpack.err")"
	elif ! git -C "$upload/repo" rev-parse -q --verify HEAD >/dev/null; then
		# A bundle without HEAD: its first branch.
		ref=$(git bundle list-heads "$submission" | awk '$2 ~ /^refs\/heads\// { print $2; exit }')
		[ -n "$ref" ] && git -C "$upload/repo" checkout -q "${ref#refs/heads/}" 2>"$tmp/unpack.err" ||
			unpack_error="the bundle has no HEAD and no branch to check out"
	fi ;;
*)
	if [ -d "$submission" ]; then
		upload=$submission
	else
		unpack_error="not a folder, a tarball, a .zip or a git bundle"
	fi ;;
esac
if [ -n "$unpack_error" ]; then
	echo "grade_one: $submission: $unpack_error" >>"$log"
	results_without_tests "unreadable submission: $unpack_error" "the submission $(basename "$submission") could not be read: $unpack_error"
	finish 0
fi

# --- 2. its files, graded strictly, within the limit -----------------------------------
flags=()
while IFS= read -r f; do flags+=(--flag "$f"); done < <(bash "$here/collect_submission.sh" "$upload" "$tmp/files" "${projects[@]}" 2>>"$log")
# timeout makes a process group of its own and signals all of it at the
# limit, grade.sh included, which then stops its QEMUs. An interrupt here is
# passed on the same way.
timeout -k 30 "$limit" bash "$here/grade_strict.sh" --work "$work" --log-dir "$out/logs" \
	--results "$out/results.json.tmp" --jobs "$jobs" ${only:+--only "$only"} "${flags[@]}" \
	"$tmp/files" "${projects[@]}" >>"$log" 2>&1 &
graded=$!
interrupted=0
trap 'kill -TERM "$graded" 2>/dev/null; interrupted=1' INT TERM
wait "$graded"
rc=$?
while kill -0 "$graded" 2>/dev/null; do wait "$graded"; rc=$?; done
trap - INT TERM
if [ $interrupted = 1 ]; then
	rm -f "$out/results.json.tmp"
	echo "grade_one: interrupted" >>"$log"
	exit 1
fi
if [ $rc = 124 ] || [ $rc = 137 ]; then
	rm -f "$out/results.json.tmp"
	results_without_tests "timed out: grading took over ${limit}s (the limit for one submission)" \
		"grading ran past its limit of ${limit}s for the whole submission and was stopped; course staff: see $log"
	finish 0
fi
if [ ! -s "$out/results.json.tmp" ]; then
	echo "grade_one: grading wrote no results (status $rc); see $log" >&2
	finish 1
fi
mv "$out/results.json.tmp" "$out/results.json"
finish 0
