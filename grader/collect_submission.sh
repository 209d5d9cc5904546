#!/usr/bin/env bash
# Finds the files a student may edit (grader/whitelist/PROJECT.txt) in an
# upload laid out any which way, and copies them to STAGE at their paths, for
# grade_strict.sh to grade:
#
#   collect_submission.sh UPLOAD STAGE PROJECT...
#
# Each whitelisted path (say project4/dev/simple_virtio.c) is looked for at
# any depth of UPLOAD: first a file whose path ends with the whole path (a
# tree, or a tree inside a folder), else a file of the same name (a student
# who uploaded the file alone). The shallowest one wins; several at the same
# depth are flagged as ambiguous (the first in name order is graded). A file
# found nowhere is left out: grade_strict.sh flags it and grades the stub.
# .git, build and __MACOSX folders and symbolic links inside UPLOAD are
# never read (UPLOAD itself may be a link to a folder).
#
# When the upload holds a tree, its given files (every file of the pristine
# tree this script lives in, except the whitelisted ones) are compared with
# the pristine ones: changed ones are flagged as tampered. They are never
# graded either way: only STAGE's files reach the work tree.
#
# Prints one finding per line on stdout ("ambiguous file: ...", "tampered
# file: ..."), for grade_strict.sh --flag, and what it took on stderr.
# Exit status: 0; 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pristine=$(dirname "$here")
usage="usage: collect_submission.sh UPLOAD STAGE PROJECT..."
[ $# -ge 3 ] || { echo "$usage" >&2; exit 2; }
upload=$1 stage=$2
shift 2
[ -d "$upload" ] || { echo "collect: the upload $upload is not a directory" >&2; exit 2; }
upload=$(cd "$upload" && pwd)
mkdir -p "$stage"
export LC_ALL=C

wanted=()
for p in "$@"; do
	list=$here/whitelist/$p.txt
	[ -f "$list" ] || { echo "collect: no whitelist for $p ($list)" >&2; exit 2; }
	while read -r f; do
		case "$f" in ''|'#'*) continue ;; esac
		wanted+=("$f")
	done <"$list"
done

# candidates NAME: the upload's regular files called NAME, one per line, sorted.
candidates() {
	find -H "$upload" \( -name .git -o -name build -o -name __MACOSX \) -prune -o \
		-type f -name "$1" -print | sort
}
# shallowest: of the paths on stdin, those with the fewest slashes.
shallowest() {
	awk -F/ '{ d[NR] = NF; p[NR] = $0; if (NR == 1 || NF < min) min = NF }
		END { for (i = 1; i <= NR; i++) if (d[i] == min) print p[i] }'
}

root=""
for w in "${wanted[@]}"; do
	mapfile -t all < <(candidates "$(basename "$w")")
	exact=()
	for c in "${all[@]}"; do [[ $c == */"$w" ]] && exact+=("$c"); done
	[ ${#exact[@]} = 0 ] || mapfile -t exact < <(printf '%s\n' "${exact[@]}" | shallowest)
	how="at its path"
	pick=("${exact[@]}")
	if [ ${#pick[@]} = 0 ]; then
		how="by its name"
		[ ${#all[@]} = 0 ] || mapfile -t pick < <(printf '%s\n' "${all[@]}" | shallowest)
	fi
	if [ ${#pick[@]} = 0 ]; then
		echo "collect: $w: not in the upload" >&2
		continue
	fi
	if [ ${#pick[@]} -gt 1 ]; then
		echo "ambiguous file: ${#pick[@]} files could be $w (${pick[*]#"$upload"/}); graded ${pick[0]#"$upload"/}"
	fi
	[ "$how" = "at its path" ] && [ -z "$root" ] && root=${pick[0]%/"$w"}
	mkdir -p "$stage/$(dirname "$w")"
	cp "${pick[0]}" "$stage/$w"
	echo "collect: $w <- ${pick[0]#"$upload"/} ($how)" >&2
done

# --- a tree's given files, compared with the pristine ones ---------------------------
[ -n "$root" ] || exit 0
declare -A editable=()
for w in "${wanted[@]}"; do editable[$w]=1; done
changed=()
while IFS= read -r line; do
	f=${line#Files "$pristine"/}
	f=${f%% and *}
	case "$f" in grader/results.json|.gdbinit) continue ;; esac
	[ -n "${editable[$f]:-}" ] || changed+=("$f")
done < <(diff -rq --no-dereference -x build -x .git "$pristine" "$root" 2>/dev/null | grep '^Files .* differ$')
if [ ${#changed[@]} -gt 0 ]; then
	shown=$(printf '%s, ' "${changed[@]:0:8}")
	[ ${#changed[@]} -gt 8 ] && shown+="... "
	echo "tampered file: ${#changed[@]} given file(s) differ from the handout and were not graded (the handout's own were): ${shown%, }"
fi
exit 0
