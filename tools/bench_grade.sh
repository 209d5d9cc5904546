#!/usr/bin/env bash
# How long `make grade` takes for both projects on this machine (make
# bench-grade): once in a fresh clone of the current commit (everything is
# built first; the packages must already be installed), then again in the
# same clone with nothing left to rebuild. Printed beside the goals (60 s
# fresh, 10 s warm), never asserted: the figures depend on the machine and
# on what else runs on it.
#
#   bench_grade.sh [WORKDIR]
#
# The clone goes in WORKDIR (default: a new directory under /tmp) and is
# removed afterwards; the logs of both runs stay in build/bench-grade/ of
# this tree. Uncommitted changes are not in the clone.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
logs=$root/build/bench-grade
mkdir -p "$logs"
work=${1:-}
[ -n "$work" ] || work=$(mktemp -d /tmp/bench-grade.XXXXXX)
clone=$work/clone
trap 'rm -rf "$clone"' EXIT

commit=$(git -C "$root" rev-parse HEAD) || { echo "bench-grade: $root is not a git checkout" >&2; exit 2; }
rm -rf "$clone"
git clone --quiet --no-hardlinks "$root" "$clone" && git -C "$clone" checkout --quiet "$commit" ||
	{ echo "bench-grade: cannot clone $root" >&2; exit 2; }

# run_grade LOG: times make grade in the clone; sets secs (one decimal) and status.
run_grade() {
	local log=$1 t0 t1
	t0=$(date +%s%N)
	make -C "$clone" --no-print-directory grade >"$log" 2>&1
	status=$?
	t1=$(date +%s%N)
	secs=$(( (t1 - t0) / 100000000 ))
	secs=$((secs / 10)).$((secs % 10))
}

# The score lines of a grade log, on one line.
score() {
	grep -E '^(total |TOTAL)' "$1" | tr -s ' \t' ' ' | tr '\n' ';' | sed 's/;$//; s/;/; /g'
}

echo "bench-grade: make grade for project3 and project4, commit ${commit:0:12}, $(nproc) CPUs, load $(cut -d ' ' -f 1-3 /proc/loadavg)"
run_grade "$logs/fresh.log"
echo "bench-grade:   fresh clone: ${secs} s (goal 60 s), exit status $status: $(score "$logs/fresh.log")"
run_grade "$logs/warm.log"
echo "bench-grade:   warm:        ${secs} s (goal 10 s), exit status $status: $(score "$logs/warm.log")"
echo "bench-grade: logs in $logs (exit status 0 means full marks)"
