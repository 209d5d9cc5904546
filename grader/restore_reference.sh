#!/usr/bin/env bash
# Course-staff mode (make grade GRADE_STRICT=1 REFERENCE=DIR): before grading,
# every file that students may not edit is restored from the pristine
# handout tree DIR, so a submission cannot change tests, the grader or the
# kernel to earn points. The files students may edit are listed per project
# in grader/whitelist/PROJECT.txt (paths relative to the top).
#
#   restore_reference.sh REFERENCE_DIR PROJECT...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ref=${1:?usage: restore_reference.sh REFERENCE_DIR PROJECT...}
shift
[ -d "$ref" ] || { echo "restore_reference: REFERENCE=$ref is not a directory (the pristine handout tree)" >&2; exit 2; }
declare -A editable=()
for p in "$@"; do
	list=$here/whitelist/$p.txt
	[ -f "$list" ] || { echo "restore_reference: no whitelist for $p ($list)" >&2; exit 2; }
	while read -r f; do
		case "$f" in ''|'#'*) continue ;; esac
		editable[$f]=1
	done <"$list"
done
restored=0
while IFS= read -r -d '' f; do
	f=${f#./}
	[ -n "${editable[$f]:-}" ] && continue
	if ! cmp -s "$ref/$f" "$top/$f"; then
		mkdir -p "$top/$(dirname "$f")"
		cp -p "$ref/$f" "$top/$f"
		echo "restore_reference: restored $f"
		restored=$((restored + 1))
	fi
done < <(cd "$ref" && find . -type f -print0)
echo "restore_reference: $restored file(s) restored from $ref; editable: ${!editable[*]}"
