# Reading results.json in the self-test's checks (sourced after lib.sh), with
# the grader's own strict JSON reader (grader/json.awk): a file that is not
# valid JSON fails the check that reads it.

# results_leaves FILE: every leaf as PATH<TAB>VALUE (json.awk), or a
# complaint and status 1 when FILE is missing or not valid JSON.
results_leaves() {
	local err
	if ! err=$(awk -f "$TOP/grader/json.awk" "$1" 2>&1 >/dev/null); then
		complain "$1 is not valid JSON: ${err:-no such file}"
		return 1
	fi
	awk -f "$TOP/grader/json.awk" "$1"
}

# results_get FILE PATH: the leaf at PATH, a string decoded; status 1 if absent.
results_get() {
	awk -v get="$2" -f "$TOP/grader/json.awk" "$1"
}

# results_check_tests FILE PROJECT VISIBILITY: the results of a graded
# submission, field by field: the total and its maximum add up from the
# tests; the tests are the rubric's, in its order, each with its points, a
# status that agrees with its score, an execution time, an output exactly
# when it failed, and VISIBILITY (empty: none). Complains and returns 1 on
# the first difference.
results_check_tests() {
	local file=$1 project=$2 visibility=$3 leaves name points limit extra i=0 sum=0 max=0
	leaves=$(results_leaves "$file") || return 1
	leaf_of() { awk -F'\t' -v p="$1" '$1 == p { print $2; found = 1 } END { exit !found }' <<<"$leaves"; }
	while read -r name points limit extra; do
		case "$name" in ''|'#'*) continue ;; esac
		local t=".tests[$i]" n s m st et out vis
		n=$(leaf_of "$t.name") s=$(leaf_of "$t.score") m=$(leaf_of "$t.max_score") st=$(leaf_of "$t.status")
		et=$(leaf_of "$t.execution_time") out=$(leaf_of "$t.output") vis=$(leaf_of "$t.visibility")
		[ "$n" = "\"$project/$name\"" ] || { complain "$file: test $i is $n, not the rubric's $project/$name"; return 1; }
		[ "$m" = "$points" ] || { complain "$file: $name: max_score $m, the rubric says $points"; return 1; }
		case "$st/$s" in
		"\"passed\"/$points") [ "$out" = '""' ] || { complain "$file: $name passed with an output: $out"; return 1; } ;;
		'"failed"/0') [ -n "$out" ] && [ "$out" != '""' ] || { complain "$file: $name failed without an output (the reason)"; return 1; } ;;
		*) complain "$file: $name: status $st with score $s of $points"; return 1 ;;
		esac
		[[ $et =~ ^[0-9]+(\.[0-9]+)?$ ]] || { complain "$file: $name: execution_time '$et' is not a number of seconds"; return 1; }
		if [ -n "$visibility" ] && [ "$vis" != "\"$visibility\"" ]; then
			complain "$file: $name: visibility '$vis', not \"$visibility\""
			return 1
		fi
		sum=$((sum + s)) max=$((max + points)) i=$((i + 1))
	done <"$TOP/grader/rubrics/$project.rubric"
	leaf_of ".tests[$i].name" >/dev/null && { complain "$file: more tests than the rubric's $i"; return 1; }
	[ "$(leaf_of .score)" = "$sum" ] || { complain "$file: score $(leaf_of .score), its tests add up to $sum"; return 1; }
	[ "$(leaf_of .max_score)" = "$max" ] || { complain "$file: max_score $(leaf_of .max_score), the rubric's is $max"; return 1; }
	[[ $(leaf_of .execution_time) =~ ^[0-9]+(\.[0-9]+)?$ ]] || { complain "$file: no execution_time for the whole run"; return 1; }
	return 0
}

# results_flags FILE: the decoded flags, one per line.
results_flags() {
	local i=0 f
	while f=$(results_get "$1" ".flags[$i]"); do
		printf '%s\n' "$f"
		i=$((i + 1))
	done
}
