#!/usr/bin/env bash
# The handout is a student's tree:
#   - its README is the student's (the two commands, grading one test, where
#     each test's log is, debugging), not the course's;
#   - no staff page (grader/staff-only.txt), no mutant, no rule table, and
#     its host test of the device judges no console wording;
#   - every path a README or a docs page mentions exists in the handout
#     (paths under build/ are made by the build; NAME-style placeholders and
#     globs are matched as patterns);
#   - `make check`, the command its README names for tests, passes on the
#     tree as handed out, stubs and all, with the checks that need the
#     student's code waiting for it.
#
#   handout_check.sh PROJECT        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: handout_check.sh PROJECT}
tree=$SELFTEST_WORK/pristine/$project/keos-kev
fail=0

readme=$tree/README.md
for want in "make grade" "make check" "make grade TEST=" "build/grade/" "make gdb TEST=" "gdb -x .gdbinit"; do
	grep -qF "$want" "$readme" || { complain "$project handout: README.md does not mention '$want'"; fail=1; }
done
grep -qE 'make handout|docs/staff|mutant|selftest' "$readme" && { complain "$project handout: README.md speaks of the course's own tools"; fail=1; }

while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	[ "$p" = README.md ] && continue   # replaced by the student's
	[ ! -e "$tree/$p" ] || { complain "$project handout: ships the staff-only $p"; fail=1; }
done <"$TOP/grader/staff-only.txt"
# Tests that reach students judge behaviour, not the wording of a line.
if grep -nE 'fake_console_has|ck_assert_str_eq' "$tree/tests/host/test_simple_virtio.c"; then
	complain "$project handout: tests/host/test_simple_virtio.c judges console wording (above)"
	fail=1
fi
if found=$(grep -rlE '\.mutant\b|mutants/' --exclude-dir=build "$tree"); then
	complain "$project handout: files that speak of mutants: $found"
	fail=1
fi

# Every path the handout's pages mention. A path: a word with a slash whose
# first part is a top-level directory of the tree.
dangling=0 checked=0
tops=$(cd "$tree" && ls -d */ | tr -d / | paste -sd'|')
while IFS= read -r doc; do
	while IFS= read -r p; do
		p=${p%.}; p=${p%,}; p=${p%:}
		case "$p" in grader/results.json) continue ;; esac   # written by make grade
		checked=$((checked + 1))
		# NAME, PROJECT, TEST... stand for any name; * is a glob.
		pattern=$(sed -E 's/[A-Z][A-Z_]{2,}[A-Z]/*/g' <<<"$p")
		# shellcheck disable=SC2086
		if ! compgen -G "$tree/$pattern" >/dev/null; then
			complain "$project handout: ${doc#"$tree"/} mentions $p, which is not in the handout"
			dangling=$((dangling + 1))
		fi
	done < <(grep -oE "(^|[][ \`(\"'])($tops)/[A-Za-z0-9_.*/-]*[A-Za-z0-9_*]" "$doc" |
		sed -E "s/^[][ \`(\"']//" | sort -u)
done < <(find "$tree" -path "$tree/build" -prune -o -name '*.md' -print)
if outside=$(grep -nE "(^|[ \`(])\.\./[A-Za-z]" $(find "$tree" -path "$tree/build" -prune -o -name '*.md' -print)); then
	complain "$project handout: pages point outside the tree: $outside"
	dangling=$((dangling + 1))
fi
[ $dangling = 0 ] || fail=1
say "$project handout: $checked paths mentioned by its README and docs, $dangling not in the handout"

# make check, as handed out, in a copy (the pristine tree stays untouched).
copy=$SELFTEST_WORK/handout-check-$project
rm -rf "$copy"
cp -a "$tree" "$copy"
t0=$(date +%s%N)
if ! make -C "$copy" check -j2 >"$copy.out" 2>&1 || ! grep -q '^make check: all passed$' "$copy.out"; then
	complain "$project handout: make check fails on the tree as handed out:"
	tail -n 30 "$copy.out" >&2
	fail=1
elif ! grep -q '^waiting for your code: ' "$copy.out"; then
	complain "$project handout: make check passed, but no check waited for the stubbed code (did it run the student's tests?)"
	fail=1
else
	say "$project handout: make check passes as handed out in $(elapsed "$t0")s; waiting for the student's code: $(sed -n 's/^waiting for your code: \([^ ]*\).*/\1/p' "$copy.out" | paste -sd' ')"
fi
exit $fail
