#!/usr/bin/env bash
# Applies one mutant (tests/grader/mutants/PROJECT/NAME.mutant) to the files
# of a tree, in place.
#
#   apply_mutant.sh MUTANT TREE
#
# A mutant is a small text file: '#' lines say what mistake it makes, then
#
#   file: project4/dev/simple_virtio.c
#   replace: reset_to_magic(dev);
#   with: if (0) reset_to_magic(dev);
#
# "replace" is fixed text (everything after "replace: ", taken literally: no
# escapes, no patterns) that must occur on exactly one line of the file;
# there its first occurrence becomes the text after "with: " (which may be
# empty). A "within: TEXT" line before a replace narrows the search to one
# function: from the one line holding TEXT (its signature, say) to the next
# line that is just "}". A mutant may hold several edits, applied in order,
# each to the file named last. Edits are text, not line numbers, so they
# survive unrelated changes to the file; when the text is gone or ambiguous
# the mutant fails loudly and must be updated.
#
# Exit status: 0 applied, 1 the mutant does not apply, 2 usage.
set -uo pipefail
mutant=${1:?usage: apply_mutant.sh MUTANT TREE}
tree=${2:?usage: apply_mutant.sh MUTANT TREE}
name=$(basename "$mutant" .mutant)
[ -f "$mutant" ] || { echo "apply_mutant: no mutant $mutant" >&2; exit 2; }

# edit MODE: within the scope (the whole file, or $within's function), counts the
# lines holding $from (MODE count) or prints the file with the first one replaced (apply).
edit() {
	S=$from R=$to W=$within awk -v mode="$1" '
		BEGIN { s = ENVIRON["S"]; r = ENVIRON["R"]; w = ENVIRON["W"]; inside = (w == "") }
		{
			line = $0
			if (w != "" && !inside && index(line, w)) { inside = 1; wlines++ }
			else if (w != "" && index(line, w)) wlines++
			if (inside && (i = index(line, s))) {
				n++
				if (mode == "apply" && !done) { line = substr(line, 1, i - 1) r substr(line, i + length(s)); done = 1 }
			}
			if (w != "" && inside && line == "}") inside = 0
			if (mode == "apply") print line
		}
		END { if (mode == "count") print (w != "" && wlines != 1 ? "within:" wlines : n + 0) }' "$tree/$file"
}

file="" from="" to="" within="" edits=0 lineno=0
fail() { echo "apply_mutant: $mutant:$lineno: $*" >&2; exit 1; }
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case "$line" in
	''|'#'*) continue ;;
	'file: '*)
		file=${line#file: }
		[ -f "$tree/$file" ] || fail "no file $file in $tree" ;;
	'within: '*)
		within=${line#within: } ;;
	'replace: '*)
		[ -n "$file" ] || fail "replace before any file line"
		[ -z "$from" ] || fail "replace without its with line"
		from=${line#replace: } ;;
	'with:'*)
		[ -n "$from" ] || fail "with without a replace line"
		to=${line#with:}
		to=${to# }
		n=$(edit count)
		case "$n" in
		within:*) fail "'$within' is on ${n#within:} lines of $file, not exactly one: update mutant $name" ;;
		1) ;;
		*) fail "'$from' is on $n lines of $file${within:+ in '$within'}, not exactly one: update mutant $name" ;;
		esac
		edit apply >"$tree/$file.mutant-tmp" || fail "cannot write $file"
		mv "$tree/$file.mutant-tmp" "$tree/$file"
		from="" within="" edits=$((edits + 1)) ;;
	*) fail "expected 'file: ', 'within: ', 'replace: ' or 'with: ', not: $line" ;;
	esac
done <"$mutant"
[ -z "$from" ] || fail "replace without its with line"
[ $edits -gt 0 ] || fail "no edit"
exit 0
