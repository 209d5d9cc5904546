#!/usr/bin/env bash
# Builds the student handout for one project from the reference tree.
#
#   make_handout.sh OUTDIR [PROJECT]     (PROJECT: project3 or project4, default project4)
#
# Every tracked file is copied to OUTDIR/keos-kev/, except staff-only paths
# (grader/staff-only.txt). The assignment files of PROJECT and of every later
# project (their whitelists, grader/whitelist/*.txt, in PROJECTS order) lose
# their solutions: the lines between "BEGIN SOLUTION" and "END SOLUTION"
# markers are replaced, inside a function body (an indented marker) by a stub
# that panics with "not yet implemented", at file level by nothing. Earlier
# projects keep their solutions: a project4 student starts from a working
# project3. The comment above each assignment function stays: it is the
# assignment. The handout gets its own README (grader/handout-README.md),
# the files under grader/handout-files/ at the same place in its tree (the
# GitHub workflow that grades a push), and mk/handout.mk, which names the
# project and the stubbed files for the Makefile and the grading scripts. A tarball
# OUTDIR/keos-kev.tar.gz is written beside the tree.
set -euo pipefail
PROJECTS=(project3 project4)
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=${1:?usage: make_handout.sh OUTDIR [PROJECT]}
project=${2:-project4}
tree=$out/keos-kev
rm -rf "$tree"
mkdir -p "$tree"
cd "$top"

declare -A stubbed_files=()
later=0
for p in "${PROJECTS[@]}"; do
	[ "$p" = "$project" ] && later=1
	[ $later = 1 ] || continue
	while read -r f; do
		case "$f" in ''|'#'*) continue ;; esac
		stubbed_files[$f]=1
	done <"$here/whitelist/$p.txt"
done
[ $later = 1 ] || { echo "make_handout: unknown project '$project' (one of: ${PROJECTS[*]})" >&2; exit 2; }

mapfile -t staff_only < <(grep -vE '^\s*(#|$)' "$here/staff-only.txt")
is_staff_only() {
	local f=$1 p
	for p in "${staff_only[@]}"; do
		[[ $f == $p || $f == $p/* ]] && return 0
	done
	return 1
}

# Strips one file; fails on unbalanced or nested markers.
strip_solution() {
	awk -v file="$1" '
	/BEGIN SOLUTION/ {
		if (inside) { printf "%s:%d: nested BEGIN SOLUTION\n", file, NR > "/dev/stderr"; bad = 1; exit 1 }
		inside = 1; stubs++
		match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH)
		if (indent != "") {
			print indent "/* Not yet implemented: the comment above this function is the assignment. */"
			print indent "panic(\"not yet implemented\");"
		}
		next
	}
	/END SOLUTION/ {
		if (!inside) { printf "%s:%d: END SOLUTION without BEGIN\n", file, NR > "/dev/stderr"; bad = 1; exit 1 }
		inside = 0; next
	}
	!inside {
		# Stubs leave parameters and helpers unused; keep -Werror for the rest.
		if (!pragmas && /^#include/) {
			print "#pragma GCC diagnostic ignored \"-Wunused-parameter\""
			print "#pragma GCC diagnostic ignored \"-Wunused-function\""
			print "#pragma GCC diagnostic ignored \"-Wunused-variable\""
			print "#pragma GCC diagnostic ignored \"-Wunused-but-set-variable\""
			pragmas = 1
		}
		print
	}
	END {
		if (bad) exit 1
		if (inside) { printf "%s: BEGIN SOLUTION without END\n", file > "/dev/stderr"; exit 1 }
	}' "$1"
}

n=0
while IFS= read -r f; do
	is_staff_only "$f" && continue
	mkdir -p "$tree/$(dirname "$f")"
	if [ -n "${stubbed_files[$f]:-}" ] && grep -q "BEGIN SOLUTION" "$f"; then
		strip_solution "$f" >"$tree/$f"
		n=$((n + 1))
		echo "handout: stubbed $f" >&2
	else
		cp -p "$f" "$tree/$f"
	fi
done < <(git ls-files)
for f in "${!stubbed_files[@]}"; do
	if [ ! -f "$tree/$f" ] || ! grep -q 'panic("not yet implemented")' "$tree/$f"; then
		echo "handout: $f has no stub: its solution markers are missing" >&2
		exit 1
	fi
	if grep -q 'BEGIN SOLUTION\|END SOLUTION' "$tree/$f"; then
		echo "handout: solution markers left in $f" >&2
		exit 1
	fi
done

# The student's README, and the list of stubbed files the Makefile reads
# (make check lets the checks that need a stub wait for the student's code).
mine=$(grep -vE '^\s*(#|$)' "$here/whitelist/$project.txt" | sed 's/.*/`&`/' | paste -sd' ')
case $project in
project3) example=project3_page_table_simple break=ept_map
	spec="" ;;
project4) example=project4_check_blockio break=simple_virtio_handle
	spec=$'\n`docs/svirtb-spec.md` is the specification of the device, with every point the\ngraded tests check.\n' ;;
esac
awk -v project="$project" -v files="$mine" -v doc="docs/$project.md" -v example="$example" \
	-v brk="$break" -v rubric="grader/rubrics/$project.rubric" -v spec="$spec" '
	{
		gsub(/@PROJECT@/, project); gsub(/@FILES@/, files); gsub(/@DOC@/, doc)
		gsub(/@EXAMPLE_TEST@/, example); gsub(/@BREAK@/, brk); gsub(/@RUBRIC@/, rubric)
		if ($0 == "@SPEC@") { printf "%s", spec; next }
		print
	}' "$here/handout-README.md" >"$tree/README.md"
{
	echo "# This tree is the $project handout (written by the course's handout tool)."
	echo "# The files below were handed out as stubs: see HANDOUT_STUBBED in the Makefile."
	echo "HANDOUT_PROJECT := $project"
	echo "HANDOUT_STUBBED := $(printf '%s\n' "${!stubbed_files[@]}" | sort | paste -sd' ')"
} >"$tree/mk/handout.mk"
cp -r "$here/handout-files/." "$tree/"
tar -C "$out" -czf "$out/keos-kev.tar.gz" keos-kev
echo "handout: $tree ($n files stubbed), $out/keos-kev.tar.gz"
