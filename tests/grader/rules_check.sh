#!/usr/bin/env bash
# Every rule is graded: reads the project's rule table (docs/svirtb-rules.md
# for project4, docs/project3-rules.md for project3) and checks that
#   - each rule names graded tests that are in the rubric, and mutants that
#     exist (or says "equivalent:" and why no mutant can break it);
#   - each mutant applies, builds, and makes one of its rule's tests lose
#     its points (strict grading of the reference with the mutant, only
#     those tests);
#   - each mutant file is named in the table, except the ones marked
#     "# expect: hang", which are graded in full and timed instead: every
#     test hung, yet the whole project graded within GRADE_TIME_LIMIT
#     seconds (default 180).
# Prints the rule coverage and the mutation score; fails on any gap.
#
#   rules_check.sh PROJECT        (inside selftest.sh: needs its trees)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: rules_check.sh PROJECT}
case $project in
project4) table=$TOP/docs/svirtb-rules.md ;;
project3) table=$TOP/docs/project3-rules.md ;;
*) complain "no rule table for $project"; exit 1 ;;
esac
rubric=$TOP/grader/rubrics/$project.rubric
mutants_dir=$TOP/tests/grader/mutants/$project
limit=${GRADE_TIME_LIMIT:-180}
fail=0

# --- the table ----------------------------------------------------------------------
declare -A in_rubric=() rows_of=() is_hang=()
while read -r name _; do
	case "$name" in ''|'#'*) continue ;; esac
	in_rubric[${name#"$project"_}]=1
done <"$rubric"
rules=() rule_tests=() rule_mutants=()
while IFS='|' read -r _ id _ tests muts _; do
	id=$(tr -d ' `' <<<"$id")
	tests=$(sed 's/^ *//; s/ *$//' <<<"$tests")
	muts=$(sed 's/^ *//; s/ *$//' <<<"$muts")
	rules+=("$id") rule_tests+=("$tests") rule_mutants+=("$muts")
done < <(grep -E '^\| `' "$table")
[ ${#rules[@]} -gt 0 ] || { complain "$project: no rule rows in $table"; exit 1; }

with_test=0 equivalent=0
for i in "${!rules[@]}"; do
	id=${rules[$i]}
	IFS=', ' read -r -a tests <<<"${rule_tests[$i]}"
	if [ ${#tests[@]} = 0 ]; then
		complain "$project: rule $id has no graded test ($table)"
		fail=1
		continue
	fi
	ok=1
	for t in "${tests[@]}"; do
		[ -n "${in_rubric[$t]:-}" ] || { complain "$project: rule $id: ${project}_$t is not in $rubric"; ok=0; fail=1; }
	done
	[ $ok = 1 ] && with_test=$((with_test + 1))
	case "${rule_mutants[$i]}" in
	equivalent:?*) equivalent=$((equivalent + 1)); continue ;;
	'') complain "$project: rule $id names no mutant (nor 'equivalent: why')"; fail=1; continue ;;
	esac
	IFS=', ' read -r -a muts <<<"${rule_mutants[$i]}"
	for m in "${muts[@]}"; do
		[ -f "$mutants_dir/$m.mutant" ] || { complain "$project: rule $id: no mutant $mutants_dir/$m.mutant"; fail=1; continue; }
		rows_of[$m]+="$i "
	done
done
for f in "$mutants_dir"/*.mutant; do
	m=$(basename "$f" .mutant)
	grep -qx '# expect: hang' "$f" && is_hang[$m]=1
	[ -n "${rows_of[$m]:-}" ] || [ -n "${is_hang[$m]:-}" ] ||
		{ complain "$project: mutant $m is named in no rule of $table"; fail=1; }
done

# --- the mutants ------------------------------------------------------------------------
killed=0 total=0 proven=0
declare -A rule_proven=()
for f in "$mutants_dir"/*.mutant; do
	m=$(basename "$f" .mutant)
	[ -n "${rows_of[$m]:-}" ] || [ -n "${is_hang[$m]:-}" ] || continue
	total=$((total + 1))
	sub=$SELFTEST_WORK/sub-$project-$m
	if ! submission_of "$sub" "$project" "$f" 2>"$SELFTEST_WORK/apply-$m.log"; then
		complain "$project: mutant $m does not apply: $(cat "$SELFTEST_WORK/apply-$m.log")"
		fail=1
		continue
	fi
	declare -A want=()
	for i in ${rows_of[$m]:-}; do
		IFS=', ' read -r -a tests <<<"${rule_tests[$i]}"
		for t in "${tests[@]}"; do want[${project}_$t]=1; done
	done
	only=()
	if [ -z "${is_hang[$m]:-}" ]; then
		only=(--only "$(IFS=,; echo "${!want[*]}")")
	fi
	t0=$(date +%s%N)
	read -r score max < <(strict_grade "mutant-$project-$m" "$sub" "$project" "${only[@]}")
	secs=$(elapsed "$t0")
	unset want
	if [ "$score" = x ] || grep -qF '"flags": ["does not build"]' "$SELFTEST_WORK/mutant-$project-$m.json"; then
		complain "$project: mutant $m did not build or grade (a mutant must compile: -Werror):"
		tail -n 15 "$SELFTEST_WORK/mutant-$project-$m.out" >&2
		fail=1
		continue
	fi
	lost=$(json_failed "$SELFTEST_WORK/mutant-$project-$m.json")
	survived=()
	for i in ${rows_of[$m]:-}; do
		IFS=', ' read -r -a tests <<<"${rule_tests[$i]}"
		hit=0
		for t in "${tests[@]}"; do grep -qx "${project}_$t" <<<"$lost" && hit=1; done
		if [ $hit = 1 ]; then rule_proven[$i]=1; else survived+=("${rules[$i]}"); fi
	done
	if [ ${#survived[@]} -gt 0 ] || [ "$score" = "$max" ]; then
		complain "$project: mutant $m SURVIVED ($score/$max): no test of rule(s) ${survived[*]:-?} lost points (output: $SELFTEST_WORK/mutant-$project-$m.out)"
		fail=1
	else
		killed=$((killed + 1))
		say "$project: mutant $m killed by $(paste -sd, <<<"$lost" | sed "s/${project}_//g")"
	fi
	if [ -n "${is_hang[$m]:-}" ]; then
		hung=$(grep -c '"status": "failed"' "$SELFTEST_WORK/mutant-$project-$m.json")
		ntests=$(grep -c '"name"' "$SELFTEST_WORK/mutant-$project-$m.json")
		say "$project: mutant $m, which hangs: $hung of $ntests tests lost their points; the whole project graded in ${secs}s (bound: ${limit}s)"
		if [ "$secs" -gt "$limit" ]; then
			complain "$project: grading the hanging mutant $m took ${secs}s, over the ${limit}s bound"
			fail=1
		fi
	fi
done
for i in "${!rules[@]}"; do [ -n "${rule_proven[$i]:-}" ] && proven=$((proven + 1)); done

say "$project: rule coverage: ${#rules[@]} rules, $with_test with a graded test; $proven proven by a killed mutant, $equivalent equivalent (explained in $(basename "$table"))"
say "$project: mutation score: $killed/$total mutants killed"
[ $((proven + equivalent)) = ${#rules[@]} ] && [ "$with_test" = ${#rules[@]} ] || fail=1
exit $fail
