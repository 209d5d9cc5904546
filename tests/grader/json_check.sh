#!/usr/bin/env bash
# grader/json.awk reads JSON strictly, so that the checks that read
# results.json with it would notice an invalid one: documents that are
# valid give their leaves (and a string leaf decoded), and each kind of
# invalid document is refused with status 2 and a message on stderr, with
# nothing on stdout. Run with both awks where both are installed (mawk is
# Debian's default, gawk is common on Ubuntu).
#
#   json_check.sh        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
fail=0
awks=()
for a in mawk gawk; do command -v "$a" >/dev/null && awks+=("$a"); done
[ ${#awks[@]} -gt 0 ] || awks=(awk)

valid=$'{"score": 96, "max_score": 100.0, "flags": ["a \\"quoted\\" \\\\ flag", "x\\u0041\\ny"],\n "tests": [{"name": "p/t", "ok": true, "no": false, "none": null, "e": -1.5e-3}], "empty": {}, "list": []}'
want=$'.score\t96\n.max_score\t100.0\n.flags[0]\t"a \\"quoted\\" \\\\ flag"\n.flags[1]\t"x\\u0041\\ny"\n.tests[0].name\t"p/t"\n.tests[0].ok\ttrue\n.tests[0].no\tfalse\n.tests[0].none\tnull\n.tests[0].e\t-1.5e-3\n.empty\t{}\n.list\t[]'
invalid=('' '{' '{"a": 1,}' '[1, 2' '{"a" 1}' '{a: 1}' '[01]' '[1.]' '[-]' '[1e]' '"\x"' '"\u12"'
	$'"tab\there"' $'"new\nline"' '[tru]' '{"a": 1} x' '"unterminated' "{'a': 1}")

for a in "${awks[@]}"; do
	got=$(printf '%s' "$valid" | "$a" -f "$TOP/grader/json.awk")
	[ "$got" = "$want" ] || { complain "json ($a): the leaves of a valid document are"$'\n'"$got"$'\n'"not"$'\n'"$want"; fail=1; }
	got=$(printf '%s' "$valid" | "$a" -v get='.flags[1]' -f "$TOP/grader/json.awk")
	[ "$got" = $'xA\ny' ] || { complain "json ($a): .flags[1] decodes to '$got', not xA<newline>y"; fail=1; }
	printf '%s' "$valid" | "$a" -v get='.nothing' -f "$TOP/grader/json.awk" >/dev/null
	[ $? = 1 ] || { complain "json ($a): an absent path does not exit 1"; fail=1; }
	for doc in "${invalid[@]}"; do
		out=$(printf '%s' "$doc" | "$a" -f "$TOP/grader/json.awk" 2>"$SELFTEST_WORK/json.err")
		rc=$?
		if [ $rc != 2 ] || [ -n "$out" ] || ! grep -q '^json: stdin: byte [0-9]*: expected ' "$SELFTEST_WORK/json.err"; then
			complain "json ($a): the invalid document '$doc' gave status $rc, output '$out', message '$(cat "$SELFTEST_WORK/json.err")'"
			fail=1
		fi
	done
done
[ $fail = 0 ] && say "json.awk (${awks[*]}): a valid document's leaves and a decoded string; ${#invalid[@]} invalid documents refused"
exit $fail
