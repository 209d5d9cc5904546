# Shared by the grader's self-test scripts (sourced, not run). selftest.sh
# sets up, in $SELFTEST_WORK:
#   pristine/PROJECT/keos-kev   the PROJECT handout, as make handout writes it
#   reference/PROJECT/          the reference solution's whitelisted files
#   worktree/PROJECT/           strict grading's work tree for PROJECT (reused)
# and $TOP, the tree under test. Every grading here is strict: the pristine
# handout's own grade_strict.sh builds and grades a submission's
# whitelisted files.

say() { echo "selftest: $*"; }
complain() { echo "selftest: $*" >&2; }

# strict_grade LABEL SUBMISSION PROJECT [grade_strict option...]: grades in
# the project's work tree; output in $SELFTEST_WORK/LABEL.out, results in
# LABEL.json, logs in LABEL-logs/. Prints "score max" ("x x" without results).
# STRICT_PRISTINE (a copy of pristine/PROJECT) and STRICT_WORK (its own work
# tree), when set, grade with another pristine handout: one with given code
# mutated (rules_check.sh).
strict_grade() {
	local label=$1 sub=$2 project=$3
	shift 3
	local out=$SELFTEST_WORK/$label
	local pristine=${STRICT_PRISTINE:-$SELFTEST_WORK/pristine/$project}
	local work=${STRICT_WORK:-$SELFTEST_WORK/worktree/$project}
	rm -rf "$out-logs" "$out.json"
	bash "$pristine/keos-kev/grader/grade_strict.sh" \
		--work "$work" --results "$out.json" --log-dir "$out-logs" \
		"$@" "$sub" "$project" >"$out.out" 2>&1
	json_score "$out.json"
}

# json_score FILE: "score max" of a results.json, "x x" if there is none.
json_score() {
	local score max
	score=$(grep -m1 '^  "score"' "$1" 2>/dev/null | tr -dc '0-9')
	max=$(grep -m1 '^  "max_score"' "$1" 2>/dev/null | tr -dc '0-9')
	echo "${score:-x} ${max:-x}"
}

# json_failed FILE: the names (without the project prefix) of the tests that
# lost points, one per line.
json_failed() {
	grep '"status": "failed"' "$1" 2>/dev/null | sed 's/.*"name": "[^/]*\/\([^"]*\)".*/\1/'
}

# submission_of DIR PROJECT [MUTANT]: DIR holds the reference's whitelisted
# files, with MUTANT applied if given; fails if the mutant does not apply.
submission_of() {
	local dir=$1 project=$2 mutant=${3:-}
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$SELFTEST_WORK/reference/$project/." "$dir/"
	[ -z "$mutant" ] || bash "$TOP/tests/grader/apply_mutant.sh" "$mutant" "$dir"
}

# elapsed START_NS: whole seconds since START_NS (date +%s%N).
elapsed() {
	echo $(( ($(date +%s%N) - $1) / 1000000000 ))
}
