#!/usr/bin/env bash
# Grades a whole class strictly: every submission in DIR, each against the
# pristine tree this script lives in, with only its whitelisted files.
#
#   grade_many.sh [--out DIR] [--jobs N] [--grade-jobs M] [--timeout S]
#                 [--shard I/K] [--regrade] [--roster-only] [--only NAME,...]
#                 DIR [PROJECT...]
#
# DIR holds one entry per student, named by the student: a folder, a tarball
# (.tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2), a git bundle
# (.bundle) or a .zip. PROJECT defaults to the handout's (mk/handout.mk).
#
# How: one work tree is built once (grade_strict.sh --prepare: the stubs),
# then copied for each of N slots (--jobs, default 2); xargs -P N runs one
# submission per slot at a time (grader/grade_one.sh), so a submission
# rebuilds only its own files' objects and relinks, and each runs M QEMUs at
# a time (--grade-jobs, default 1). A submission gets S seconds in all
# (--timeout; default: its tests' QEMU limits one after another, plus two
# minutes), after which it is stopped and flagged "timed out".
#
# --out DIR (default ./grades; not inside the pristine tree) receives, per
# student, STUDENT/results.json (Gradescope's format), grade.txt, logs/ and
# seconds; and roster.csv: student, the score and maximum of each project,
# the total, the seconds it took and short flags ("tampered file", "timed
# out", "does not build", "missing file", "flagged code", "hung tests: N",
# "ambiguous file", "unreadable submission", "not graded"; results.json
# has the details). A student who already has a results.json is skipped
# (the run resumes where it stopped) unless --regrade; --roster-only only
# rewrites roster.csv from the results there are.
#
# --shard I/K grades the I-th of K shares of the students (1 <= I <= K, in
# name order), for K CI runners; the roster of the merged --out directories
# is then written with --roster-only (a GitHub Actions matrix over I, say).
#
# Interrupted (INT or TERM), it stops every grading in progress, QEMUs
# included, and writes the roster of what was graded. Exit status: 0 when
# every selected student has results; 1 otherwise; 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pristine=$(dirname "$here")

# --- a worker (run by xargs): one submission in a free slot ------------------------------
if [ "${1:-}" = --worker ]; then
	entry=$2 name=$3
	slot=""
	for ((k = 1; k <= GM_SLOTS; k++)); do
		mkdir "$GM_OUT/.work/slot-$k.lock" 2>/dev/null && { slot=$k; break; }
	done
	[ -n "$slot" ] || { echo "grade_many: no free slot for $name (more workers than slots?)" >&2; exit 1; }
	trap 'rmdir "$GM_OUT/.work/slot-$slot.lock" 2>/dev/null' EXIT
	read -r -a projects <<<"$GM_PROJECTS"
	# The worker's INT/TERM goes to grade_one.sh, which stops its grading.
	bash "$here/grade_one.sh" --work "$GM_OUT/.work/slot-$slot" --out "$GM_OUT/$name" \
		--timeout "$GM_TIMEOUT" --jobs "$GM_GRADE_JOBS" ${GM_ONLY:+--only "$GM_ONLY"} \
		"$entry" "${projects[@]}" &
	one=$!
	trap 'kill -TERM "$one" 2>/dev/null' INT TERM
	wait "$one"
	while kill -0 "$one" 2>/dev/null; do wait "$one"; done
	if [ -f "$GM_OUT/$name/results.json" ]; then
		score=$(awk -v get=.score -f "$here/json.awk" "$GM_OUT/$name/results.json" 2>/dev/null)
		max=$(awk -v get=.max_score -f "$here/json.awk" "$GM_OUT/$name/results.json" 2>/dev/null)
		echo "grade_many: $name: ${score:-?}/${max:-?} in $(cat "$GM_OUT/$name/seconds" 2>/dev/null)s"
	else
		echo "grade_many: $name: not graded (see $GM_OUT/$name/grade.txt)"
	fi
	exit 0
fi

out=grades jobs=2 grade_jobs=1 limit="" shard="" regrade=0 roster_only=0 only="" projects=()
usage="usage: grade_many.sh [--out DIR] [--jobs N] [--grade-jobs M] [--timeout S] [--shard I/K] [--regrade] [--roster-only] [--only NAME,...] DIR [PROJECT...]"
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--grade-jobs) grade_jobs=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--shard) shard=$2; shift 2 ;;
	--regrade) regrade=1; shift ;;
	--roster-only) roster_only=1; shift ;;
	--only) only=$2; shift 2 ;;
	-*) echo "grade_many: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
	*) projects+=("$1"); shift ;;
	esac
done
[ ${#projects[@]} -ge 1 ] || { echo "$usage" >&2; exit 2; }
dir=${projects[0]}
projects=("${projects[@]:1}")
[ -d "$dir" ] || { echo "grade_many: $dir is not a directory" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
if [ ${#projects[@]} = 0 ]; then
	p=$(sed -n 's/^HANDOUT_PROJECT := //p' "$pristine/mk/handout.mk" 2>/dev/null)
	[ -n "$p" ] || { echo "grade_many: name the PROJECT (this tree is no handout: no HANDOUT_PROJECT in mk/handout.mk)" >&2; exit 2; }
	projects=("$p")
fi
for p in "${projects[@]}"; do
	[ -f "$here/rubrics/$p.rubric" ] && [ -f "$here/whitelist/$p.txt" ] || { echo "grade_many: unknown project $p" >&2; exit 2; }
done
for n in "$jobs" "$grade_jobs" ${limit:+"$limit"}; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "grade_many: --jobs, --grade-jobs and --timeout take positive numbers" >&2; exit 2; }
done
shard_i=1 shard_k=1
if [ -n "$shard" ]; then
	[[ $shard =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] ||
		{ echo "grade_many: --shard is I/K with 1 <= I <= K" >&2; exit 2; }
	shard_i=${BASH_REMATCH[1]} shard_k=${BASH_REMATCH[2]}
fi
if [ -z "$limit" ]; then
	limit=$(for p in "${projects[@]}"; do grep -vE '^\s*(#|$)' "$here/rubrics/$p.rubric"; done |
		awk -v j="$grade_jobs" '{ s += $3 } END { print int(s / j) + 120 }')
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out/" in "$pristine"/*|"$dir"/*)
	echo "grade_many: --out $out may not lie inside the pristine tree or the submissions" >&2; exit 2 ;;
esac
exec 9>"$out/.lock"
flock -n 9 || { echo "grade_many: another grade_many.sh is using $out" >&2; exit 2; }

# --- the students: one entry each, in name order ------------------------------------------
export LC_ALL=C
names=() entries=()
declare -A seen=()
while IFS= read -r -d '' e; do
	b=$(basename "$e")
	case "$b" in
	.*) continue ;;
	*.tar.gz|*.tar.xz|*.tar.bz2) n=${b%.tar.*} ;;
	*.tar|*.tgz|*.txz|*.tbz2|*.bundle|*.zip) n=${b%.*} ;;
	*) n=$b ;;
	esac
	if [ -n "${seen[$n]:-}" ]; then
		echo "grade_many: two submissions for $n: ${seen[$n]} and $b; keep one" >&2
		exit 2
	fi
	seen[$n]=$b
	names+=("$n") entries+=("$e")
done < <(find "$dir" -mindepth 1 -maxdepth 1 -print0 | sort -z)

# --- the roster, from the results there are ------------------------------------------------
# flag_labels: the short labels of the flags of results.json ($1), "; "-separated.
flag_labels() {
	awk -F'\t' '
		$1 ~ /^\.flags\[/ {
			f = $2
			if (f ~ /^"tampered file: /) l = "tampered file"
			else if (f ~ /^"ambiguous file: /) l = "ambiguous file"
			else if (f ~ /missing from the submission/) l = "missing file"
			else if (f == "\"does not build\"") l = "does not build"
			else if (f ~ /^"timed out/) l = "timed out"
			else if (f ~ /^"unreadable submission/) l = "unreadable submission"
			else if (f ~ /^"[^ :]+:[0-9]+: /) l = "flagged code"
			else l = "flagged"
			if (!(l in have)) { have[l] = 1; out = out (out == "" ? "" : "; ") l }
		}
		$1 ~ /^\.tests\[[0-9]+\]\.output$/ && $2 ~ /^"TIMEOUT/ { hung++ }
		END {
			if (hung) out = out (out == "" ? "" : "; ") "hung tests: " hung
			print out
		}' "$1"
}
csv() { local s=$1; [[ $s == *[,\"]* ]] && s="\"${s//\"/\"\"}\""; printf '%s' "$s"; }
# write_roster INDEX...: roster.csv, one row for each of those students.
write_roster() {
	local i n r leaves total max row p s m seconds
	declare -A rubric_max=()
	for p in "${projects[@]}"; do
		rubric_max[$p]=$(grep -vE '^\s*(#|$)' "$here/rubrics/$p.rubric" | awk '{ s += $2 } END { print s + 0 }')
	done
	local all_max=0
	for p in "${projects[@]}"; do all_max=$((all_max + rubric_max[$p])); done
	{
		printf 'student'
		for p in "${projects[@]}"; do printf ',%s,%s_max' "$p" "$p"; done
		printf ',total,max,seconds,flags\n'
		for i in "$@"; do
			n=${names[$i]} r=$out/${names[$i]}/results.json
			row=$(csv "$n")
			if ! leaves=$(awk -f "$here/json.awk" "$r" 2>/dev/null); then
				for p in "${projects[@]}"; do row+=",0,${rubric_max[$p]}"; done
				echo "$row,0,$all_max,,not graded"
				continue
			fi
			total=0 max=0
			for p in "${projects[@]}"; do
				read -r s m < <(awk -F'\t' -v p="\"$p/" '
					$1 ~ /\.name$/ { named = index($2, p) == 1 }
					$1 ~ /\.score$/ && $1 ~ /^\.tests/ && named { s += $2 }
					$1 ~ /\.max_score$/ && $1 ~ /^\.tests/ && named { m += $2; any = 1 }
					END { print s + 0, (any ? m : -1) }' <<<"$leaves")
				[ "$m" = -1 ] && m=${rubric_max[$p]}
				row+=",$s,$m" total=$((total + s)) max=$((max + m))
			done
			seconds=$(cat "$out/$n/seconds" 2>/dev/null)
			echo "$row,$total,$max,$seconds,$(csv "$(flag_labels <(printf '%s\n' "$leaves"))")"
		done
	} >"$out/roster.csv.tmp"
	mv "$out/roster.csv.tmp" "$out/roster.csv"
}

if [ $roster_only = 1 ]; then
	write_roster "${!names[@]}"
	echo "grade_many: $out/roster.csv (${#names[@]} students)"
	exit 0
fi

# --- this run's students: this shard's, not graded yet -----------------------------------
todo=() todo_names=() skipped=0 selected=()
for i in "${!names[@]}"; do
	[ $((i % shard_k)) = $((shard_i - 1)) ] || continue
	selected+=("$i")
	if [ $regrade = 0 ] && awk -f "$here/json.awk" "$out/${names[$i]}/results.json" >/dev/null 2>&1; then
		skipped=$((skipped + 1))
		continue
	fi
	todo+=("${entries[$i]}") todo_names+=("${names[$i]}")
done
echo "grade_many: ${#names[@]} submissions in $dir; this run grades ${#todo[@]}${shard:+ (shard $shard)}, skips $skipped already graded (--regrade grades them again)"

t0=$(date +%s%N)
status=0
if [ ${#todo[@]} -gt 0 ]; then
	# --- the work trees: built once, copied per slot ----------------------------------
	slots=$jobs
	[ ${#todo[@]} -lt "$slots" ] && slots=${#todo[@]}
	mkdir -p "$out/.work"
	rmdir "$out"/.work/slot-*.lock 2>/dev/null   # left by a run that was killed (we hold $out/.lock)
	empty=$out/.work/empty
	mkdir -p "$empty"
	echo "grade_many: building the pristine tree once ($out/.work/seed)"
	if ! bash "$here/grade_strict.sh" --prepare --work "$out/.work/seed" --log-dir "$out/.work" "$empty" "${projects[@]}" \
		>"$out/.work/seed.out" 2>&1; then
		echo "grade_many: the pristine tree does not build: see $out/.work/seed.out and $out/.work/strict-build.log" >&2
		exit 1
	fi
	for ((k = 1; k <= slots; k++)); do
		# A slot is the seed file for file (cp -a keeps the times make compares).
		[ -d "$out/.work/slot-$k" ] || cp -a "$out/.work/seed" "$out/.work/slot-$k"
	done

	# --- grading: xargs runs a worker per submission, N at a time ------------------------
	export GM_OUT=$out GM_SLOTS=$slots GM_TIMEOUT=$limit GM_GRADE_JOBS=$grade_jobs GM_ONLY=$only
	export GM_PROJECTS="${projects[*]}"
	# xargs and its workers are a session of their own: an interrupt reaches
	# them through the trap below, which each worker passes on to its grading.
	for i in "${!todo[@]}"; do printf '%s\0%s\0' "${todo[$i]}" "${todo_names[$i]}"; done |
		setsid xargs -0 -n 2 -P "$slots" bash "$0" --worker &
	group=$!
	interrupted=0
	trap 'kill -TERM -- "-$group" 2>/dev/null; interrupted=1' INT TERM
	wait "$group"
	while kill -0 -- "-$group" 2>/dev/null; do wait "$group" 2>/dev/null || sleep 0.2; done
	trap - INT TERM
	[ $interrupted = 0 ] || { echo "grade_many: interrupted" >&2; status=130; }
fi
secs=$(( ($(date +%s%N) - t0) / 1000000 ))
write_roster "${selected[@]}"

graded=0 missing=()
for i in "${!todo_names[@]}"; do
	if [ -f "$out/${todo_names[$i]}/results.json" ]; then graded=$((graded + 1)); else missing+=("${todo_names[$i]}"); fi
done
rate=$(awk -v n="$graded" -v ms="$secs" 'BEGIN { printf "%.1f", (ms > 0 ? n * 60000 / ms : 0) }')
echo "grade_many: graded $graded in $((secs / 1000)).$(printf '%02d' $((secs % 1000 / 10)))s ($rate per minute); roster: $out/roster.csv"
[ ${#missing[@]} = 0 ] || { echo "grade_many: no results for: ${missing[*]}" >&2; [ $status != 0 ] || status=1; }
exit $status
