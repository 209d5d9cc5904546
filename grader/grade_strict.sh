#!/usr/bin/env bash
# Strict grading, for course staff and CI: grades the files a student may
# edit (grader/whitelist/PROJECT.txt) taken from SUBMISSION, and nothing else
# of it: every other file, the build included, comes from the pristine tree.
#
#   grade_strict.sh [--work DIR] [--log-dir DIR] [--results FILE] [--format table|tap]
#                   [--jobs N] [--only NAME,...] [--fail-fast] [--flag TEXT]...
#                   [--visibility V] [--prepare] SUBMISSION PROJECT...
#
# The pristine tree is the one this script lives in: run the copy in the
# pristine handout (or the course's own tree), never one from a submission.
#
#   1. The work tree (--work DIR, reused across runs; default a temporary
#      directory) is made equal to the pristine tree: each file that differs
#      is copied afresh (a new mtime, so make rebuilds what depends on it) and
#      files the pristine tree lacks are deleted. If anything but a
#      whitelisted file had to change, the work tree's build/ is deleted
#      first: only strict grading itself ever builds there.
#   2. The whitelisted files are copied in from SUBMISSION (a missing one
#      keeps the pristine stub and is flagged).
#   3. make builds the projects' kernel and disks in the work tree, then the
#      work tree's grader/grade.sh grades there. Logs go to --log-dir
#      (default SUBMISSION/build/grade); SUBMISSION is otherwise only read.
#      --prepare stops after the build: a work tree built once (the stubs,
#      from an empty SUBMISSION) makes every later submission graded in it
#      rebuild only what its files change (grade_many.sh, the autograder).
#      --flag (the caller's findings) and --visibility go to grade.sh.
#
# What this cannot prevent: the student's code runs in ring 0 of the host
# kernel (docs/staff.md). grade.sh flags a whitelisted file that writes the
# QEMU exit port, prints verdict lines or contains inline assembly.
#
# Exit status: grade.sh's (0 only at full marks), 1 when the build fails,
# 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pristine=$(dirname "$here")
work="" log_dir="" results="" pass=() projects=() prepare=0 caller_flags=()
usage="usage: grade_strict.sh [--work DIR] [--log-dir DIR] [--results FILE] [--format table|tap] [--jobs N] [--only NAME,...] [--fail-fast] [--flag TEXT]... [--visibility V] [--prepare] SUBMISSION PROJECT..."
while [ $# -gt 0 ]; do
	case "$1" in
	--work) work=$2; shift 2 ;;
	--log-dir) log_dir=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--format|--jobs|--only) pass+=("$1" "$2"); shift 2 ;;
	--fail-fast) pass+=("$1"); shift ;;
	--flag) caller_flags+=("$2"); pass+=("$1" "$2"); shift 2 ;;
	--visibility) pass+=("$1" "$2"); shift 2 ;;
	--prepare) prepare=1; shift ;;
	-*) echo "grade_strict: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
	*) projects+=("$1"); shift ;;
	esac
done
[ ${#projects[@]} -ge 2 ] || { echo "$usage" >&2; exit 2; }
submission=${projects[0]}
projects=("${projects[@]:1}")
[ -d "$submission" ] || { echo "grade_strict: SUBMISSION $submission is not a directory" >&2; exit 2; }
submission=$(cd "$submission" && pwd)
[ "$submission" != "$pristine" ] || { echo "grade_strict: the submission is the pristine tree itself" >&2; exit 2; }
for p in "${projects[@]}"; do
	[ -f "$here/whitelist/$p.txt" ] || { echo "grade_strict: no whitelist for $p" >&2; exit 2; }
done
[ -n "$log_dir" ] || log_dir=$submission/build/grade
mkdir -p "$log_dir" && log_dir=$(cd "$log_dir" && pwd)
[ -z "$results" ] || results=$(cd "$(dirname "$results")" && pwd)/$(basename "$results")
# Interrupted, it ends once grade.sh has stopped its QEMUs (bash runs the trap
# after the command in progress), and a temporary work tree goes with it.
trap 'exit 130' INT TERM
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/keos-strict.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work" && work=$(cd "$work" && pwd)
case "$work/" in "$submission"/*|"$pristine"/*)
	echo "grade_strict: the work tree $work may not lie inside the submission or the pristine tree" >&2; exit 2 ;;
esac

# --- 1. the work tree: the pristine tree, file for file ----------------------------
declare -A editable=()
for p in "${projects[@]}"; do
	while read -r f; do
		case "$f" in ''|'#'*) continue ;; esac
		editable[$f]=1
	done <"$here/whitelist/$p.txt"
done
pristine_files() {
	if [ -e "$pristine/.git" ]; then
		git -C "$pristine" ls-files
	else
		(cd "$pristine" && find . -path ./build -prune -o -path ./.git -prune -o -type f -print |
			sed 's|^\./||' | grep -vxE '\.gdbinit|grader/results\.json')
	fi
}
declare -A known=()
changed=()
while IFS= read -r f; do
	known[$f]=1
	[ -f "$pristine/$f" ] || continue
	if ! cmp -s "$pristine/$f" "$work/$f"; then
		[ -n "${editable[$f]:-}" ] || [ ! -e "$work/$f" ] || changed+=("$f")
		mkdir -p "$work/$(dirname "$f")"
		rm -f "$work/$f"
		cp "$pristine/$f" "$work/$f"
	fi
done < <(pristine_files)
while IFS= read -r -d '' f; do
	f=${f#./}
	[ -n "${known[$f]:-}" ] || { rm -f "$work/$f"; changed+=("$f"); }
done < <(cd "$work" && find . -path ./build -prune -o -type f -print0)
if [ ${#changed[@]} -gt 0 ]; then
	echo "grade_strict: the work tree had ${#changed[@]} file(s) that were not pristine (${changed[0]}...): rebuilding from scratch" >&2
	rm -rf "$work/build"
fi

# --- 2. the student's files ---------------------------------------------------------
flags=()
for f in "${!editable[@]}"; do
	if [ -f "$submission/$f" ]; then
		if ! cmp -s "$submission/$f" "$work/$f"; then
			rm -f "$work/$f"
			cp "$submission/$f" "$work/$f"
		fi
	else
		flags+=(--flag "$f: missing from the submission (graded as the handout's stub)")
	fi
done

# --- 3. build and grade --------------------------------------------------------------
targets=()
for p in "${projects[@]}"; do
	KERNEL="" DRIVE=""
	# shellcheck source=/dev/null
	source "$work/grader/projects/$p.conf"
	targets+=("$KERNEL" ${DRIVE:+"$DRIVE"})
done
build_log=$log_dir/strict-build.log
build_start=$(date +%s%N)
if ! make -C "$work" -s -j"${GRADE_BUILD_JOBS:-2}" "${targets[@]}" >"$build_log" 2>&1; then
	first=$(grep -m 3 -E 'error|Error' "$build_log")
	echo "grade_strict: the submission does not build:" >&2
	sed 's/^/    /' <<<"$first" >&2
	echo "    log: $build_log" >&2
	if [ -n "$results" ]; then
		# shellcheck source=grader/json_str.sh
		source "$here/json_str.sh"
		max=$(for p in "${projects[@]}"; do grep -vE '^\s*(#|$)' "$work/grader/rubrics/$p.rubric"; done | awk '{ s += $2 } END { print s + 0 }')
		ms=$(( ($(date +%s%N) - build_start) / 1000000 ))
		all=("${caller_flags[@]}")
		for ((i = 1; i < ${#flags[@]}; i += 2)); do all+=("${flags[$i]}"); done
		all+=("does not build")
		{
			printf '{\n  "score": 0,\n  "max_score": %d,\n  "execution_time": %d.%02d,\n' "$max" $((ms / 1000)) $((ms % 1000 / 10))
			printf '  "output": "%s",\n  "flags": [' "$(json_str "the submission does not build:"$'\n'"$first"$'\n'"log: $build_log")"
			sep=""
			for f in "${all[@]}"; do printf '%s"%s"' "$sep" "$(json_str "$f")"; sep=", "; done
			printf '],\n  "tests": []\n}\n'
		} >"$results"
	fi
	exit 1
fi
if [ $prepare = 1 ]; then
	echo "grade_strict: the work tree $work is built (${projects[*]})"
	exit 0
fi
bash "$work/grader/grade.sh" "${pass[@]}" "${flags[@]}" --log-dir "$log_dir" \
	${results:+--results "$results"} "${projects[@]}"
