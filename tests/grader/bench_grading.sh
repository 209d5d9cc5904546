#!/usr/bin/env bash
# Grading throughput (make bench-grading): grade_many.sh grades a class of
# 20 submissions, 4 copies each of a mixed set, on this machine:
#   the reference, the handout's stubs, two mutants that lose points
#   (BENCH_MUTANTS, default ignore_reset off_by_one_wrap) and one whose tests
#   wait on a device that never consumes a request (BENCH_HANG, default
#   skip_tail_update: the driver's requests time out one by one),
# as folders, tarballs and git bundles, in turn. The pristine tree is built
# once beforehand (that time is printed apart). Ways to use 2 cores are
# measured side by side, each from the same prebuilt tree: 2 submissions at
# a time with 1 QEMU each (grade_many.sh's default) and 1 at a time with 2
# QEMUs (and 2 at a time with 2 QEMUs each, the cores oversubscribed). For
# each: submissions per minute (goal: 6), the slowest single
# submission, and where the time goes per kind (the build and unpacking,
# the tests' QEMU runs).
#
#   bench_grading.sh [OUTDIR]        (default build/bench-grading)
#
# Also checks that every copy of a kind scored the same, the reference full
# marks and the stubs 0, and that no QEMU is left running.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$here/../.." && pwd)
out=${1:-$TOP/build/bench-grading}
project=project4
read -r -a mutants <<<"${BENCH_MUTANTS:-ignore_reset off_by_one_wrap}"
hang=${BENCH_HANG:-skip_tail_update}
kinds=(reference stubs "${mutants[@]}" "$hang")
copies=4
rm -rf "$out"
mkdir -p "$out/subs"
out=$(cd "$out" && pwd)
say() { echo "bench-grading: $*"; }
die() { echo "bench-grading: $*" >&2; exit 1; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

bash "$TOP/grader/make_handout.sh" "$out/pristine" "$project" >"$out/handout.log" 2>&1 || die "make_handout failed: $out/handout.log"
pristine=$out/pristine/keos-kev
mapfile -t files < <(grep -vE '^\s*(#|$)' "$TOP/grader/whitelist/$project.txt")

# --- the class: kind k's files in $out/files/k, then 4 submissions of each ----------------
for k in "${kinds[@]}"; do
	d=$out/files/$k
	mkdir -p "$d"
	for f in "${files[@]}"; do
		mkdir -p "$d/$(dirname "$f")"
		if [ "$k" = stubs ]; then cp "$pristine/$f" "$d/$f"; else cp "$TOP/$f" "$d/$f"; fi
	done
	case $k in reference|stubs) ;; *)
		bash "$here/apply_mutant.sh" "$TOP/tests/grader/mutants/$project/$k.mutant" "$d" || die "mutant $k does not apply" ;;
	esac
done
n=0
for ((c = 1; c <= copies; c++)); do
	for k in "${kinds[@]}"; do
		n=$((n + 1))
		name=$(printf 's%02d-%s' "$n" "$k")
		case $((n % 3)) in
		0)  # a folder holding a whole tree
			cp -a "$pristine" "$out/subs/$name"
			cp -r "$out/files/$k/." "$out/subs/$name/" ;;
		1)  # a tarball of a tree inside a folder
			mkdir -p "$out/tree/$name"
			cp -a "$pristine" "$out/tree/$name/keos-kev"
			cp -r "$out/files/$k/." "$out/tree/$name/keos-kev/"
			tar -C "$out/tree/$name" -czf "$out/subs/$name.tar.gz" keos-kev ;;
		2)  # a git bundle of the files alone
			mkdir -p "$out/tree/$name"
			cp -r "$out/files/$k/." "$out/tree/$name/"
			git -C "$out/tree/$name" init -q
			git -C "$out/tree/$name" add -A
			git -C "$out/tree/$name" -c user.name=bench -c user.email=bench@localhost commit -qm submission
			git -C "$out/tree/$name" bundle create -q "$out/subs/$name.bundle" --all 2>/dev/null ||
				die "git bundle failed for $name" ;;
		esac
	done
done
rm -rf "$out/tree"
say "$n submissions: $copies each of ${kinds[*]} (folders, tarballs, git bundles)"

# --- the pristine tree, built once ------------------------------------------------------------
mkdir -p "$out/empty"
t=$(now)
bash "$pristine/grader/grade_strict.sh" --prepare --work "$out/seed" --log-dir "$out/seed-logs" "$out/empty" "$project" \
	>"$out/seed.out" 2>&1 || die "the pristine tree does not build: $out/seed.out"
say "building the pristine tree once: $(secs "$t" "$(now)")s (not counted below)"

# --- the runs -------------------------------------------------------------------------------
max=$(grep -vE '^\s*(#|$)' "$TOP/grader/rubrics/$project.rubric" | awk '{ s += $2 } END { print s }')
fail=0
declare -A rate_of=()
for config in "2 1" "1 2" "2 2"; do
	read -r slots qemus <<<"$config"
	o=$out/run-${slots}x$qemus
	mkdir -p "$o/.work"
	cp -a "$out/seed" "$o/.work/seed"
	load0=$(cut -d" " -f1 /proc/loadavg)
	t=$(now)
	bash "$pristine/grader/grade_many.sh" --out "$o" --jobs "$slots" --grade-jobs "$qemus" "$out/subs" "$project" \
		>"$o.out" 2>&1 || { echo "grade_many failed:" >&2; tail -n 20 "$o.out" >&2; fail=1; continue; }
	elapsed=$(secs "$t" "$(now)")
	load1=$(cut -d" " -f1 /proc/loadavg)
	rate=$(awk -v n="$n" -v s="$elapsed" 'BEGIN { printf "%.1f", n * 60 / s }')
	rate_of[$config]=$rate
	# Per student: total seconds and the tests' share (grade.sh's execution_time).
	worst=$(awk -F, 'NR > 1 && $(NF - 1) > w { w = $(NF - 1); who = $1 } END { print w "s (" who ")" }' "$o/roster.csv")
	echo
	say "$slots submission(s) at a time x $qemus QEMU(s) each: $n graded in ${elapsed}s = $rate per minute (goal 6); slowest submission $worst; load average $load0 before, $load1 after"
	printf '  %-18s %7s %9s %9s %8s  %s\n' kind score "total s" "tests s" "other s" "lost tests (TIMEOUT)"
	for k in "${kinds[@]}"; do
		scores="" tot=0 tst=0 cnt=0 lost=0 to=0
		for r in "$o"/s*-"$k"/results.json; do
			s=$(awk -v get=.score -f "$TOP/grader/json.awk" "$r")
			scores+="$s "
			e=$(awk -v get=.execution_time -f "$TOP/grader/json.awk" "$r")
			w=$(cat "$(dirname "$r")/seconds")
			tot=$(awk -v a="$tot" -v b="$w" 'BEGIN { print a + b }')
			tst=$(awk -v a="$tst" -v b="$e" 'BEGIN { print a + b }')
			lost=$((lost + $(grep -c '"status": "failed"' "$r")))
			to=$((to + $(grep -c '"output": "TIMEOUT' "$r")))
			cnt=$((cnt + 1))
		done
		read -r -a sc <<<"$scores"
		printf '  %-18s %7s %9.1f %9.1f %8.1f  %s (%s)\n' "$k" "${sc[0]}/$max" "$(awk -v a="$tot" -v c="$cnt" 'BEGIN { print a / c }')" \
			"$(awk -v a="$tst" -v c="$cnt" 'BEGIN { print a / c }')" "$(awk -v a="$tot" -v b="$tst" -v c="$cnt" 'BEGIN { print (a - b) / c }')" \
			"$((lost / cnt))" "$((to / cnt))"
		[ "$(printf '%s\n' "${sc[@]}" | sort -u | wc -l)" = 1 ] || { echo "bench-grading: the copies of $k scored differently: $scores" >&2; fail=1; }
		case $k in
		reference) [ "${sc[0]}" = "$max" ] || { echo "bench-grading: the reference scored ${sc[0]}/$max" >&2; fail=1; } ;;
		stubs) [ "${sc[0]}" = 0 ] || { echo "bench-grading: the stubs scored ${sc[0]}" >&2; fail=1; } ;;
		esac
	done
done
echo
for config in "1 2" "2 2"; do
	[ -n "${rate_of["2 1"]:-}" ] && [ -n "${rate_of[$config]:-}" ] || continue
	say "${config/ /x} against 2x1 (grade_many.sh's default): $(awk -v a="${rate_of[$config]}" -v b="${rate_of["2 1"]}" 'BEGIN { printf "%.2f", a / b }') times the throughput"
done
if pgrep -f "qemu-system.*$out/" >/dev/null; then
	echo "bench-grading: QEMU left running:" >&2
	pgrep -af "qemu-system.*$out/" >&2
	fail=1
fi
exit $fail
