#!/usr/bin/env bash
# Every rule is graded: reads the project's rule tables (for project4
# docs/x2apic-rules.md, part 1, and docs/svirtb-rules.md, part 2; for
# project3 docs/project3-rules.md) and checks that
#   - each rule names graded tests that are in the rubric, and mutants that
#     exist (or says "equivalent:" and why no mutant can break it);
#   - each mutant applies, builds, and makes one of its rule's tests lose
#     its points (strict grading of the reference with the mutant, only
#     those tests);
#   - each mutant file is named in a table, except the ones marked
#     "# expect: hang", which are graded in full and timed instead: every
#     test hung, yet the whole project graded within GRADE_TIME_LIMIT
#     seconds (default 180).
# A mutant of the student's files (grader/whitelist/PROJECT.txt) is applied
# to the submission, the reference's files. A mutant of given code (kev,
# say: all its files outside the whitelist) cannot travel in a submission:
# it is applied to a copy of the pristine handout, whose own grade_strict.sh
# then grades the reference in a work tree of its own (a full build).
# Prints the rule coverage and the mutation score of each table, then the
# project's totals; fails on any gap.
#
#   rules_check.sh PROJECT        (inside selftest.sh: needs its trees)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: rules_check.sh PROJECT}
case $project in
project4) tables=("$TOP/docs/x2apic-rules.md" "$TOP/docs/svirtb-rules.md") ;;
project3) tables=("$TOP/docs/project3-rules.md") ;;
*) complain "no rule table for $project"; exit 1 ;;
esac
rubric=$TOP/grader/rubrics/$project.rubric
whitelist=$TOP/grader/whitelist/$project.txt
mutants_dir=$TOP/tests/grader/mutants/$project
limit=${GRADE_TIME_LIMIT:-180}
fail=0

# --- the tables ----------------------------------------------------------------------
# Rule i: rules[i] (its id), rule_table[i] (index into tables), rule_tests[i], rule_mutants[i].
declare -A in_rubric=() rows_of=() is_hang=()
while read -r name _; do
	case "$name" in ''|'#'*) continue ;; esac
	in_rubric[${name#"$project"_}]=1
done <"$rubric"
rules=() rule_table=() rule_tests=() rule_mutants=()
for ti in "${!tables[@]}"; do
	table=${tables[$ti]}
	n=${#rules[@]}
	while IFS='|' read -r _ id _ tests muts _; do
		id=$(tr -d ' `' <<<"$id")
		tests=$(sed 's/^ *//; s/ *$//' <<<"$tests")
		muts=$(sed 's/^ *//; s/ *$//' <<<"$muts")
		rules+=("$id") rule_table+=("$ti") rule_tests+=("$tests") rule_mutants+=("$muts")
	done < <(grep -E '^\| `' "$table")
	[ ${#rules[@]} -gt "$n" ] || { complain "$project: no rule rows in $table"; exit 1; }
done

declare -A with_test=() equivalent=() proven=() killed=() total=()
for ti in "${!tables[@]}"; do with_test[$ti]=0 equivalent[$ti]=0 proven[$ti]=0 killed[$ti]=0 total[$ti]=0; done
for i in "${!rules[@]}"; do
	id=${rules[$i]} ti=${rule_table[$i]} table=${tables[${rule_table[$i]}]}
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
	[ $ok = 1 ] && with_test[$ti]=$((with_test[$ti] + 1))
	case "${rule_mutants[$i]}" in
	equivalent:?*) equivalent[$ti]=$((equivalent[$ti] + 1)); continue ;;
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
		{ complain "$project: mutant $m is named in no rule of ${tables[*]##*/}"; fail=1; }
done

# outside_whitelist MUTANT: prints the files MUTANT edits that a student may not edit.
outside_whitelist() {
	sed -n 's/^file: //p' "$1" | grep -vxF -f <(grep -v '^#' "$whitelist")
}

# --- the mutants ------------------------------------------------------------------------
declare -A rule_proven=()
for f in "$mutants_dir"/*.mutant; do
	m=$(basename "$f" .mutant)
	[ -n "${rows_of[$m]:-}" ] || [ -n "${is_hang[$m]:-}" ] || continue
	read -r -a rows <<<"${rows_of[$m]:-}"
	if [ ${#rows[@]} -gt 0 ]; then
		ti=${rule_table[${rows[0]}]}
	else
		# A hanging mutant counts in the table that names it.
		ti=0
		for t in "${!tables[@]}"; do grep -qF "\`$m\`" "${tables[$t]}" && { ti=$t; break; }; done
	fi
	total[$ti]=$((total[$ti] + 1))
	sub=$SELFTEST_WORK/sub-$project-$m
	given=$(outside_whitelist "$f")
	if [ -n "$given" ] && [ "$(sed -n 's/^file: //p' "$f" | sort -u | wc -l)" != "$(sort -u <<<"$given" | wc -l)" ]; then
		complain "$project: mutant $m edits both a student's file and given code ($given): split it"
		fail=1
		continue
	fi
	tree=$SELFTEST_WORK/pristine-$project-$m
	if [ -n "$given" ]; then
		# Given code: the reference, graded by a mutated copy of the pristine handout.
		rm -rf "$tree" "$SELFTEST_WORK/worktree-$project-$m"
		cp -a "$SELFTEST_WORK/pristine/$project" "$tree"
		submission_of "$sub" "$project"
		apply=(bash "$TOP/tests/grader/apply_mutant.sh" "$f" "$tree/keos-kev")
	else
		apply=(submission_of "$sub" "$project" "$f")
	fi
	if ! "${apply[@]}" 2>"$SELFTEST_WORK/apply-$m.log"; then
		complain "$project: mutant $m does not apply: $(cat "$SELFTEST_WORK/apply-$m.log")"
		fail=1
		continue
	fi
	declare -A want=()
	for i in "${rows[@]}"; do
		IFS=', ' read -r -a tests <<<"${rule_tests[$i]}"
		for t in "${tests[@]}"; do want[${project}_$t]=1; done
	done
	only=()
	if [ -z "${is_hang[$m]:-}" ]; then
		only=(--only "$(IFS=,; echo "${!want[*]}")")
	fi
	t0=$(date +%s%N)
	if [ -n "$given" ]; then
		read -r score max < <(STRICT_PRISTINE=$tree STRICT_WORK=$SELFTEST_WORK/worktree-$project-$m \
			strict_grade "mutant-$project-$m" "$sub" "$project" "${only[@]}")
	else
		read -r score max < <(strict_grade "mutant-$project-$m" "$sub" "$project" "${only[@]}")
	fi
	secs=$(elapsed "$t0")
	unset want
	[ -z "$given" ] || rm -rf "$tree" "$SELFTEST_WORK/worktree-$project-$m"
	if [ "$score" = x ] || grep -qF '"flags": ["does not build"]' "$SELFTEST_WORK/mutant-$project-$m.json"; then
		complain "$project: mutant $m did not build or grade (a mutant must compile: -Werror):"
		tail -n 15 "$SELFTEST_WORK/mutant-$project-$m.out" >&2
		fail=1
		continue
	fi
	lost=$(json_failed "$SELFTEST_WORK/mutant-$project-$m.json")
	survived=()
	for i in "${rows[@]}"; do
		IFS=', ' read -r -a tests <<<"${rule_tests[$i]}"
		hit=0
		for t in "${tests[@]}"; do grep -qx "${project}_$t" <<<"$lost" && hit=1; done
		if [ $hit = 1 ]; then rule_proven[$i]=1; else survived+=("${rules[$i]}"); fi
	done
	if [ ${#survived[@]} -gt 0 ] || [ "$score" = "$max" ]; then
		complain "$project: mutant $m SURVIVED ($score/$max): no test of rule(s) ${survived[*]:-?} lost points (output: $SELFTEST_WORK/mutant-$project-$m.out)"
		fail=1
	else
		killed[$ti]=$((killed[$ti] + 1))
		say "$project: mutant $m${given:+ (of given code: $given)} killed by $(paste -sd, <<<"$lost" | sed "s/${project}_//g") (${secs}s)"
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
for i in "${!rules[@]}"; do
	[ -n "${rule_proven[$i]:-}" ] && proven[${rule_table[$i]}]=$((proven[${rule_table[$i]}] + 1))
done

# report LABEL RULES WITH_TEST PROVEN EQUIVALENT KILLED TOTAL: one table's (or the project's) coverage and score.
report() {
	say "$project: $1: rule coverage: $2 rules, $3 with a graded test; $4 proven by a killed mutant, $5 equivalent (explained in the table)"
	say "$project: $1: mutation score: $6/$7 mutants killed"
	[ $(($4 + $5)) = "$2" ] && [ "$3" = "$2" ] || fail=1
}
sum_rules=0 sum_with=0 sum_proven=0 sum_equiv=0 sum_killed=0 sum_total=0
for ti in "${!tables[@]}"; do
	nrules=0
	for i in "${!rules[@]}"; do [ "${rule_table[$i]}" = "$ti" ] && nrules=$((nrules + 1)); done
	report "$(basename "${tables[$ti]}")" $nrules "${with_test[$ti]}" "${proven[$ti]}" "${equivalent[$ti]}" "${killed[$ti]}" "${total[$ti]}"
	sum_rules=$((sum_rules + nrules)) sum_with=$((sum_with + with_test[$ti])) sum_proven=$((sum_proven + proven[$ti]))
	sum_equiv=$((sum_equiv + equivalent[$ti])) sum_killed=$((sum_killed + killed[$ti])) sum_total=$((sum_total + total[$ti]))
done
[ ${#tables[@]} = 1 ] || report "all tables" $sum_rules $sum_with $sum_proven $sum_equiv $sum_killed $sum_total
exit $fail
