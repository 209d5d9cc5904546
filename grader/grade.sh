#!/usr/bin/env bash
# The grader: runs each graded test of a project in its own QEMU (its own
# disk copy, log and time limit; --jobs at a time), reads the verdict from the
# serial log (grader/run_test.sh) and scores it with the project's rubric
# (grader/rubrics/PROJECT.rubric).
#
#   grade.sh [--format table|tap] [--results FILE] [--log-dir DIR] [--jobs N]
#            [--only NAME[,NAME...]] [--fail-fast] [--flag TEXT]... [--visibility V] PROJECT...
#
# A project is described by grader/projects/PROJECT.conf (bash): KERNEL, the
# kernel that runs the tests; optionally DRIVE, a disk image copied fresh for
# every test. The kernel must run one test given "test=NAME" on its command
# line and print "test NAME ... ok" or "test NAME ... FAILED: reason".
#
# Output: one row per test in rubric order; a failure's reason follows its
# row uncut (wrapped), then the path of the test's full log. The files a
# student edits (grader/whitelist/PROJECT.txt) are checked for what a device
# has no business doing (grader/scan_submission.sh); anything found is shown
# as FLAGGED above the project's rows and listed in the results' "flags".
# Results for autograders go to --results FILE (Gradescope's results.json;
# --visibility gives each test Gradescope's "visibility": visible, hidden,
# after_due_date or after_published).
#
# Exit status: 0 only at full marks; 1 otherwise; 2 for a usage or rubric error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
format=table results="" log_dir="" projects=() fail_fast=0 jobs=${GRADE_JOBS:-2} only="" extra_flags=() visibility=""
usage="usage: grade.sh [--format table|tap] [--results FILE] [--log-dir DIR] [--jobs N] [--only NAME,...] [--fail-fast] PROJECT..."
while [ $# -gt 0 ]; do
	case "$1" in
	--format) format=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--log-dir) log_dir=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--flag) extra_flags+=("$2"); shift 2 ;;   # a finding of the caller (grade_strict.sh: a missing file)
	--visibility) visibility=$2; shift 2 ;;
	--fail-fast) fail_fast=1; shift ;;   # stop at the first lost point (the self-test's mutants)
	-*) echo "grade: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
	*) projects+=("$1"); shift ;;
	esac
done
[ ${#projects[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
case $format in table|tap) ;; *) echo "grade: --format is table or tap" >&2; exit 2 ;; esac
case $visibility in ''|visible|hidden|after_due_date|after_published) ;;
*) echo "grade: --visibility is visible, hidden, after_due_date or after_published" >&2; exit 2 ;;
esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "grade: --jobs needs a positive number" >&2; exit 2; }
[ -n "$log_dir" ] || log_dir=$top/build/grade
mkdir -p "$log_dir"
log_dir=$(cd "$log_dir" && pwd)

# Paths are shown relative to the directory grade.sh was started from when
# they lie below it (build/grade/...), absolute otherwise.
show_path() {
	case "$1" in "$PWD"/*) printf '%s' "${1#"$PWD"/}" ;; *) printf '%s' "$1" ;; esac
}

# QEMU must never outlive the grader, Ctrl-C included: every run is its own
# session (setsid), and the trap ends each session still running. A run the
# signal catches being started (launching) is not recorded yet ($! is) and
# may not have made its session yet: it is signalled by pid as well.
declare -A running=()   # pid -> result file
launching=0 last_bg=""
cleanup() {
	local pid pids=("${!running[@]}")
	[ $launching = 1 ] && [ -n "${!:-}" ] && [ "$!" != "$last_bg" ] && pids+=("$!")
	[ ${#pids[@]} -gt 0 ] || return 0
	for pid in "${pids[@]}"; do kill -TERM -- "-$pid" "$pid" 2>/dev/null; done
	sleep 0.5
	for pid in "${pids[@]}"; do kill -KILL -- "-$pid" "$pid" 2>/dev/null; done
	running=()
}
trap 'cleanup; echo "grade: interrupted" >&2; exit 130' INT TERM
trap cleanup EXIT

# --- the rubric ------------------------------------------------------------------
# Every selected test of every project, in order: parallel arrays.
t_project=() t_name=() t_points=() t_limit=() t_kernel=() t_drive=() t_log=() t_result=()
declare -A wanted=() found=()
IFS=, read -r -a only_list <<<"$only"
for n in "${only_list[@]}"; do [ -n "$n" ] && wanted[$n]=1; done
for project in "${projects[@]}"; do
	conf=$here/projects/$project.conf rubric=$here/rubrics/$project.rubric
	[ -f "$conf" ] && [ -f "$rubric" ] || { echo "grade: unknown project '$project' (no $conf or $rubric)" >&2; exit 2; }
	KERNEL="" DRIVE=""
	# shellcheck source=/dev/null
	source "$conf"
	[ -f "$top/$KERNEL" ] || { echo "grade: $project: kernel $KERNEL is not built (run make first)" >&2; exit 2; }
	[ -z "$DRIVE" ] || [ -f "$top/$DRIVE" ] || { echo "grade: $project: disk $DRIVE is not built (run make first)" >&2; exit 2; }
	lineno=0
	while read -r name points limit extra || [ -n "${name:-}" ]; do
		lineno=$((lineno + 1))
		case "$name" in ''|'#'*) continue ;; esac
		if ! [[ $points =~ ^[0-9]+$ && $limit =~ ^[0-9]+$ ]] || [ "$limit" -lt 3 ] || [ -n "${extra:-}" ]; then
			echo "grade: $rubric:$lineno: expected 'NAME POINTS QEMU_LIMIT' (limit at least 3 s)" >&2
			exit 2
		fi
		if [ ${#wanted[@]} -gt 0 ]; then
			[ -n "${wanted[$name]:-}" ] || continue
			found[$name]=1
		fi
		t_project+=("$project") t_name+=("$name") t_points+=("$points") t_limit+=("$limit")
		t_kernel+=("$top/$KERNEL") t_drive+=("${DRIVE:+$top/$DRIVE}")
		t_log+=("$log_dir/$project-$name.log") t_result+=("$log_dir/$project-$name.result")
	done <"$rubric"
done
for n in "${!wanted[@]}"; do
	[ -n "${found[$n]:-}" ] || { echo "grade: no test '$n' in the rubric of ${projects[*]}" >&2; exit 2; }
done

# --- running: --jobs QEMUs at a time --------------------------------------------
# kev stops the VM at half QEMU's limit, counted from the host kernel's boot
# (tests/kernel/guest_harness.c: vm_deadline=), so a guest that hangs is
# diagnosed by kev and the harness before QEMU is killed, even on a loaded
# machine that boots slowly and whose timer ticks lag.
ntests=${#t_name[@]}
# A result file left by an earlier grading in the same log directory must
# never be read as this run's: none exists until its test has started.
rm -f "${t_result[@]}"
next=0 lost=0 started=()
start_next() {
	local i=$next
	next=$((next + 1))
	rm -f "${t_result[$i]}"
	if [ $fail_fast = 1 ] && [ $lost = 1 ]; then
		printf 'skipped\n0.00\nskipped after a failure (--fail-fast)\n' >"${t_result[$i]}"
		started[$i]=skipped
		return
	fi
	local deadline=$(( t_limit[i] / 2 ))
	last_bg=${!:-}
	launching=1
	setsid bash "$here/run_test.sh" "${t_name[$i]}" "${t_limit[$i]}" "$deadline" \
		"${t_log[$i]}" "${t_result[$i]}" "${t_kernel[$i]}" ${t_drive[$i]:+"${t_drive[$i]}"} </dev/null &
	running[$!]=${t_result[$i]}
	started[$i]=$!
	launching=0
}
reap_one() {
	local pid
	wait -n 2>/dev/null
	for pid in "${!running[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			[ "$(head -n 1 "${running[$pid]}" 2>/dev/null)" = pass ] || lost=1
			unset "running[$pid]"
		fi
	done
}

# --- reporting ------------------------------------------------------------------
json_escape() {
	local s=$1
	s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/ }; s=${s//$'\n'/\\n}
	# any other control character (a CR from a student's file, say) is not valid in a JSON string
	[[ $s == *[[:cntrl:]]* ]] && s=$(printf '%s' "$s" | tr -d '\000-\037\177')
	printf '%s' "$s"
}

# The reason, word-wrapped at 96 columns (a word is never cut) and indented
# under the row; the log's path stays on one line.
print_detail() {
	local line
	while IFS= read -r line; do
		case "$line" in
		'log: '*) printf '    %s\n' "$line" ;;
		*) awk -v w=96 '{
			s = $0
			while (length(s) > w) {
				cut = 0
				for (i = w + 1; i > 1; i--) if (substr(s, i, 1) == " ") { cut = i; break }
				if (!cut) { cut = index(substr(s, w + 2), " "); if (!cut) break; cut += w + 1 }
				print "    " substr(s, 1, cut); s = substr(s, cut + 1)
			}
			print "    " s
		}' <<<"$line" ;;
		esac
	done <<<"$1"
}

declare -A flags_of=() ptotal=() pmax=()
all_flags=("${extra_flags[@]}")
for project in "${projects[@]}"; do
	mapfile -t f < <(bash "$here/scan_submission.sh" "$top" "$project")
	flags_of[$project]=$(printf '%s\n' "${f[@]}")
	[ ${#f[@]} -gt 0 ] && all_flags+=("${f[@]}")
	ptotal[$project]=0 pmax[$project]=0
done

json_tests=() tap_lines=() total=0 max=0 printed_project="" t0=$(date +%s%N)
header() {
	local project=$1 f
	[ "$printed_project" = "$project" ] && return
	printed_project=$project
	[ $format = table ] || return
	printf '\n%s\n' "== $project"
	while IFS= read -r f; do
		[ -n "$f" ] && printf 'FLAGGED: %s\n' "$f" | fold -s -w 100
	done <<<"${flags_of[$project]}"
	printf '%-50s %7s  %s\n' "test" "points" "result"
}
footer() {
	local project=$1
	[ $format = table ] && printf '%-50s %3d/%-3d\n' "total $project" "${ptotal[$project]}" "${pmax[$project]}"
}

for ((i = 0; i < ntests; i++)); do
	# Keep --jobs runs going until test i has its result (or its run is gone).
	while :; do
		while [ $next -lt $ntests ] && [ ${#running[@]} -lt "$jobs" ]; do start_next; done
		[ "${started[$i]:-}" ] && [ -s "${t_result[$i]}" ] && break
		[ "${started[$i]:-}" ] && [ -z "${running[${started[$i]}]:-}" ] && break
		reap_one
	done
	project=${t_project[$i]} name=${t_name[$i]} points=${t_points[$i]}
	if [ $i -gt 0 ] && [ "${t_project[$((i - 1))]}" != "$project" ]; then footer "${t_project[$((i - 1))]}"; fi
	header "$project"
	{ read -r verdict; read -r secs; detail=$(cat); } <"${t_result[$i]}" 2>/dev/null ||
		{ verdict=FAIL secs=0.00 detail="the run left no result (${t_result[$i]})"; }
	[ "$verdict" = pass ] || lost=1
	got=0
	[ "$verdict" = pass ] && got=$points
	ptotal[$project]=$(( ${ptotal[$project]} + got )) pmax[$project]=$(( ${pmax[$project]} + points ))
	total=$((total + got)) max=$((max + points))
	logp=$(show_path "${t_log[$i]}")
	output=""
	if [ "$verdict" != pass ]; then
		output=$verdict
		[ -n "$detail" ] && output+=$'\n'$detail
		[ "$verdict" != skipped ] && output+=$'\n'"log: $logp"
	fi
	if [ $format = table ]; then
		printf '%-50s %3d/%-3d  %-8s (%ss)\n' "$name" "$got" "$points" "$verdict" "$secs"
		[ "$verdict" = pass ] || print_detail "${output#*$'\n'}"
	else
		n=${#tap_lines[@]}
		if [ "$verdict" = pass ]; then
			tap_lines+=("ok $((n + 1)) - $project/$name")
		else
			tap_lines+=("not ok $((n + 1)) - $project/$name # $verdict"$'\n'"$(sed 's/^/  # /' <<<"${output#*$'\n'}")")
		fi
	fi
	status=failed
	[ "$verdict" = pass ] && status=passed
	json_tests+=("{\"name\": \"$(json_escape "$project/$name")\", \"score\": $got, \"max_score\": $points, \"status\": \"$status\", \"execution_time\": $secs, \"output\": \"$(json_escape "$output")\", \"log\": \"$(json_escape "$logp")\"${visibility:+, \"visibility\": \"$visibility\"}}")
done
[ $ntests -gt 0 ] && footer "${t_project[$((ntests - 1))]}"
wait
running=()
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
elapsed=$(printf '%d.%02d' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 10)))

if [ $format = tap ]; then
	echo "TAP version 13"
	echo "1..${#tap_lines[@]}"
	for f in "${all_flags[@]}"; do echo "# FLAGGED: $f"; done
	printf '%s\n' "${tap_lines[@]}"
	echo "# score $total/$max"
else
	printf '\n%-50s %3d/%-3d  (%ss)\n' "TOTAL" "$total" "$max" "$elapsed"
	[ ${#all_flags[@]} -gt 0 ] && echo "FLAGGED: ${#all_flags[@]} finding(s) above; course staff review flagged submissions"
fi
if [ -n "$results" ]; then
	{
		printf '{\n  "score": %d,\n  "max_score": %d,\n  "execution_time": %s,\n' "$total" "$max" "$elapsed"
		if [ ${#all_flags[@]} -gt 0 ]; then
			printf '  "output": "%s",\n' "$(json_escape "FLAGGED for review: $(printf '%s; ' "${all_flags[@]}")")"
		fi
		printf '  "flags": ['
		sep=""
		for f in "${all_flags[@]}"; do printf '%s"%s"' "$sep" "$(json_escape "$f")"; sep=", "; done
		printf '],\n  "tests": [\n'
		for i in "${!json_tests[@]}"; do
			sep=","
			[ "$i" = $(( ${#json_tests[@]} - 1 )) ] && sep=""
			printf '    %s%s\n' "${json_tests[$i]}" "$sep"
		done
		printf '  ]\n}\n'
	} >"$results"
fi
[ "$max" -gt 0 ] && [ "$total" = "$max" ]
