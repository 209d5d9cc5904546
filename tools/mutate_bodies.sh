#!/usr/bin/env bash
# "Delete the body" mutation testing: proves the tests notice when any one
# function stops doing its job.
#
# For every function (static ones included) defined in each FILE, the body is
# replaced by the least that compiles: `return 0;` (a zero struct for a struct
# result), nothing for a void function, `for (;;);` for a noreturn one. Each
# such mutant is built in a scratch copy of the tree (/tmp/mut-XXXX; the real
# tree is never written) and run against
#   1. make check-host                      (the libcheck host unit tests)
#   2. make build/keos-test.elf, then tools/run_kernel_tests.sh on it in QEMU
# A mutant is killed when either fails; a kernel that hangs until the timeout
# counts as killed. The script prints a table and the mutation score, and exits
# non-zero if any mutant survived (or a mutant or the unmutated tree failed to
# build or pass, which would make the score meaningless).
#
#   bash tools/mutate_bodies.sh [options] [FILE...]
#
# Without FILE: the allocators and the scheduler (keos/mm/page_pool.c,
# keos/mm/palloc.c, keos/mm/kmalloc.c, keos/thread/thread.c, keos/sync/spinlock.c).
#
#   --only F1,F2   mutate only these functions
#   --list         print each function and its replacement body; build nothing
#   --fast         skip the kernel run for mutants the host tests already killed
#   --keep         keep the scratch tree (its path is printed) for post-mortems
#   --extra T      also run make target T for each mutant the kernel run left
#                  alive (e.g. check-project3: gKeOS under kev); repeatable
#
# Environment:
#   MUT_TIMEOUT     seconds for one kernel test run (default 60)
#   MUT_HOST_TESTS  "auto": only the host test programs that link the mutated file
#                   (found with make; no shell tests); or a list of host test
#                   programs to run instead of all of make check-host, e.g.
#                   "test_kmalloc test_page_pool" when an unrelated host test is
#                   broken in the working tree. Unset: all of make check-host.
#   QEMU_ARGS       QEMU options for the kernel run (default: 2 CPUs, 256 MiB, TCG)
#
# Runs are strictly serial: one build or one QEMU at a time.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export LC_ALL=C

only="" list=0 fast=0 keep=0 files=() extras=()
while [ $# -gt 0 ]; do
	case "$1" in
	--only) only=",$2,"; shift 2 ;;
	--list) list=1; shift ;;
	--fast) fast=1; shift ;;
	--keep) keep=1; shift ;;
	--extra) extras+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "mutate_bodies: unknown option $1" >&2; exit 2 ;;
	*) files+=("$1"); shift ;;
	esac
done
[ ${#files[@]} -gt 0 ] || files=(keos/mm/page_pool.c keos/mm/palloc.c keos/mm/kmalloc.c
	keos/thread/thread.c keos/sync/spinlock.c)
timeout_s=${MUT_TIMEOUT:-60}
: "${QEMU_ARGS:=-accel tcg -cpu qemu64,+svm,+npt -smp 2 -m 256M -nographic -no-reboot -net none -device isa-debug-exit,iobase=0xf4,iosize=0x04}"
export QEMU_ARGS

# The function definitions of a C file, one per line:
#   NAME <tab> OFFSET OF "{" <tab> OFFSET OF THE MATCHING "}" <tab> RETURN TYPE
# (1-based byte offsets). A definition is a brace block at file scope whose
# header, comments and preprocessor lines removed, ends in ")" and has no "=".
list_functions() {
	awk '
	{ src = src $0 "\n" }
	END {
		n = length(src); depth = 0; state = "code"; hdr = ""; bol = 1
		for (i = 1; i <= n; i++) {
			c = substr(src, i, 1); d = substr(src, i + 1, 1)
			if (state == "line") { if (c == "\n") { state = "code"; bol = 1 } continue }
			if (state == "block") { if (c == "*" && d == "/") { state = "code"; i++ } continue }
			if (state == "str" || state == "chr") {
				if (c == "\\") { i++; continue }
				if ((state == "str" && c == "\"") || (state == "chr" && c == "\047")) state = "code"
				continue
			}
			if (state == "pp") {
				if (c == "\\" && d == "\n") { i++; continue }
				if (c == "\n") { state = "code"; bol = 1 }
				continue
			}
			if (bol && c == "#") { state = "pp"; continue }
			if (c == "\n") bol = 1
			else if (c != " " && c != "\t") bol = 0
			if (c == "/" && d == "*") { state = "block"; i++; if (depth == 0) hdr = hdr " "; continue }
			if (c == "/" && d == "/") { state = "line"; i++; continue }
			if (c == "\"") { state = "str"; if (depth == 0) hdr = hdr "\"\""; continue }
			if (c == "\047") { state = "chr"; if (depth == 0) hdr = hdr "0"; continue }
			if (c == "{") {
				if (depth == 0) { ob = i; header = hdr }
				depth++
				continue
			}
			if (c == "}") {
				depth--
				if (depth == 0) { emit(header, ob, i); hdr = "" }
				continue
			}
			if (depth == 0) {
				if (c == ";") hdr = ""
				else hdr = hdr c
			}
		}
	}
	function emit(h, ob, cb,    t, k, lvl, name, ret) {
		gsub(/[ \t\n]+/, " ", h)
		sub(/^ /, "", h); sub(/ $/, "", h)
		if (h !~ /\)$/ || h ~ /=/) return
		# the last parenthesised group is the parameter list; the name precedes it
		lvl = 0
		for (k = length(h); k > 0; k--) {
			t = substr(h, k, 1)
			if (t == ")") lvl++
			else if (t == "(") { lvl--; if (lvl == 0) break }
		}
		if (k <= 1) return
		ret = substr(h, 1, k - 1)
		sub(/ $/, "", ret)
		if (!match(ret, /[A-Za-z_][A-Za-z_0-9]*$/)) return
		name = substr(ret, RSTART)
		ret = substr(ret, 1, RSTART - 1)
		if (h ~ /noreturn/) ret = ret " noreturn"
		gsub(/__attribute__ *\(\(.*\)\)/, " ", ret)
		gsub(/(^| )(static|inline|extern|__inline__)( |$)/, " ", ret)
		gsub(/ +/, " ", ret); sub(/^ /, "", ret); sub(/ $/, "", ret)
		printf "%s\t%d\t%d\t%s\n", name, ob, cb, ret
	}' "$1"
}

# True if a declaration of $2 in $1 or in the header beside it says noreturn.
declared_noreturn() {
	local f
	for f in "$1" "${1%.c}.h"; do
		[ -f "$f" ] || continue
		tr '\n' ' ' <"$f" | tr ';{}' '\n\n\n' | grep -E "(^|[^A-Za-z0-9_])$2 *\(" |
			grep -qE 'noreturn|_Noreturn' && return 0
	done
	return 1
}

# The replacement body for a function with return type $1 (and noreturn flag).
body_for() {
	local ret=$1 noret=$2
	if [ "$noret" = 1 ]; then
		echo "for (;;);"
	elif [ "$ret" = void ]; then
		echo ""
	elif [[ "$ret" =~ (struct|union) && "$ret" != *"*"* ]]; then
		echo "return ($ret){0};"
	else
		echo "return 0;"
	fi
}

# Writes FILE with the body between offsets OPEN and CLOSE replaced.
write_mutant() {
	local src=$1 open=$2 close=$3 body=$4 dst=$5
	{
		# Deleting a body leaves parameters, static helpers and variables unused.
		printf '#pragma GCC diagnostic ignored "-Wunused-parameter"\n'
		printf '#pragma GCC diagnostic ignored "-Wunused-function"\n'
		printf '#pragma GCC diagnostic ignored "-Wunused-variable"\n'
		printf '#pragma GCC diagnostic ignored "-Wunused-but-set-variable"\n'
		head -c "$open" "$src"
		printf ' /* mutant: body deleted */ %s }' "$body"
		tail -c +"$((close + 1))" "$src"
	} >"$dst"
}

# Collect the mutants.
mutants=()     # "file<TAB>name<TAB>open<TAB>close<TAB>body"
for f in "${files[@]}"; do
	[ -f "$root/$f" ] || { echo "mutate_bodies: no such file: $f" >&2; exit 2; }
	while IFS=$'\t' read -r name open close ret; do
		[ -z "$only" ] || [[ "$only" == *",$name,"* ]] || continue
		noret=0
		[[ "$ret" == *noreturn* ]] && noret=1 && ret=${ret% noreturn}
		declared_noreturn "$root/$f" "$name" && noret=1
		mutants+=("$f"$'\t'"$name"$'\t'"$open"$'\t'"$close"$'\t'"$(body_for "$ret" "$noret")")
	done < <(list_functions "$root/$f")
done
[ ${#mutants[@]} -gt 0 ] || { echo "mutate_bodies: no functions to mutate" >&2; exit 2; }

if [ $list = 1 ]; then
	for m in "${mutants[@]}"; do
		IFS=$'\t' read -r f name _ _ body <<<"$m"
		printf '%-24s %-22s { %s }\n' "$f" "$name" "$body"
	done
	exit 0
fi

scratch=$(mktemp -d /tmp/mut-XXXX)
cleanup() {
	if [ $keep = 1 ]; then echo "mutate_bodies: scratch tree kept in $scratch" >&2
	else rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The scratch tree: the working tree as it is (uncommitted files included),
# with its build directory so only what a mutant touches is rebuilt.
tree=$scratch/tree
mkdir -p "$tree" "$scratch/orig" "$scratch/logs"
(cd "$root" && tar --exclude=./.git --exclude=./build/fuzz -cf - .) | (cd "$tree" && tar -xf -)
for f in "${files[@]}"; do
	mkdir -p "$scratch/orig/$(dirname "$f")"
	cp -p "$tree/$f" "$scratch/orig/$f"
done

# Which host tests run: all of make check-host, a fixed list, or ("auto") the
# host test programs that link the mutated file, found by asking make.
printf 'mut-query:\n\t@echo $(foreach t,$(HOST_TESTS),$(if $(filter $(MUT_FILE),$($(t)_SRCS)),$(t)))\n' \
	>"$scratch/query.mk"
host_args() {   # FILE: sets make_args; false when no host test is to run
	make_args=()
	case "${MUT_HOST_TESTS:-}" in
	"") return 0 ;;
	auto) local t
	      t=$(cd "$tree" && make -s -f Makefile -f "$scratch/query.mk" mut-query MUT_FILE="$1" 2>/dev/null)
	      make_args=("HOST_TESTS=$t" "HOST_SHELL_TESTS=" "HOST_SHELL_DEPS=")
	      [ -n "$t" ] ;;
	*) make_args=("HOST_TESTS=$MUT_HOST_TESTS" "HOST_SHELL_TESTS=" "HOST_SHELL_DEPS=") ;;
	esac
}

# run_host LOG: 0 if the host tests pass; sets host_detail.
run_host() {
	(cd "$tree" && make -s check-host "${make_args[@]}") >"$1" 2>&1
	local rc=$?
	[ $rc = 0 ] && { host_detail=""; return 0; }
	host_detail=$(grep -oE '^host: [A-Za-z0-9_.]+: FAILED' "$1" | awk '{ sub(":", "", $2); printf "%s%s", sep, $2; sep = "," }')
	grep -qE 'make: \*\*\* \[[^]]*build/h/' "$1" && host_detail="build error"
	[ -n "$host_detail" ] || host_detail="make failed"
	return $rc
}

# run_kernel LOG: 0 if the kernel suite passes; sets kernel_detail.
run_kernel() {
	if ! (cd "$tree" && make -s build/keos-test.elf) >"$1" 2>&1; then
		kernel_detail="build error"
		return 1
	fi
	(cd "$tree" && bash tools/run_kernel_tests.sh --timeout "$timeout_s" --log build/mut-kernel.log \
		build/keos-test.elf) >>"$1" 2>&1
	local rc=$?
	[ $rc = 0 ] && { kernel_detail=""; cp "$tree/build/mut-kernel.log" "$1.qemu" 2>/dev/null; return 0; }
	# the first failing test names the kill; a hang or crash after it is noted
	kernel_detail=$(grep -m1 -oE '^test [A-Za-z0-9_]+ \.\.\. FAILED' "$1" | awk '{ print $2 }')
	local how
	how=$(grep -oE 'timed out|no closing line|no test ran|exited with status [0-9]+' "$1" | head -n 1)
	[ "$how" = "timed out" ] && how=timeout
	if [ -z "$kernel_detail" ]; then kernel_detail=${how:-failed}
	elif [ "$how" = timeout ]; then kernel_detail="$kernel_detail, then timeout"; fi
	cp "$tree/build/mut-kernel.log" "$1.qemu" 2>/dev/null
	return $rc
}

echo "mutate_bodies: ${#mutants[@]} mutants of ${files[*]}"
echo "mutate_bodies: scratch tree $tree; baseline run first"
baseline_host=1
if [ "${MUT_HOST_TESTS:-}" = auto ]; then
	union=""
	for f in "${files[@]}"; do host_args "$f" && union="$union ${make_args[0]#HOST_TESTS=}"; done
	union=$(tr ' ' '\n' <<<"$union" | sort -u | tr '\n' ' ')
	make_args=("HOST_TESTS=$union" "HOST_SHELL_TESTS=" "HOST_SHELL_DEPS=")
	[ -n "${union// /}" ] || baseline_host=0
else
	host_args ""
fi
if [ $baseline_host = 1 ] && ! run_host "$scratch/logs/baseline.host"; then
	tail -n 20 "$scratch/logs/baseline.host" >&2
	echo "mutate_bodies: the unmutated tree fails make check-host ($host_detail); fix it or set MUT_HOST_TESTS" >&2
	exit 3
fi
if ! run_kernel "$scratch/logs/baseline.kernel"; then
	tail -n 20 "$scratch/logs/baseline.kernel" >&2
	echo "mutate_bodies: the unmutated kernel suite fails ($kernel_detail)" >&2
	exit 3
fi
for t in "${extras[@]}"; do
	if ! (cd "$tree" && make -s "$t") >"$scratch/logs/baseline.$t" 2>&1; then
		tail -n 20 "$scratch/logs/baseline.$t" >&2
		echo "mutate_bodies: the unmutated tree fails make $t" >&2
		exit 3
	fi
done

rows=() killed=0 survived=0 broken=0 i=0 start_all=$(date +%s)
for m in "${mutants[@]}"; do
	IFS=$'\t' read -r f name open close body <<<"$m"
	i=$((i + 1))
	log=$scratch/logs/$i-$name
	write_mutant "$scratch/orig/$f" "$open" "$close" "$body" "$tree/$f"
	t0=$(date +%s)
	host="-" kernel="-" verdict=""
	# A mutant that does not compile tells nothing: check the kernel object first.
	if ! (cd "$tree" && make -s "build/k/${f%.c}.o") >"$log.build" 2>&1; then
		verdict="BUILD ERROR"
	else
		if ! host_args "$f"; then
			host="n/a (no host test links it)"
		elif run_host "$log.host"; then
			host="survived"
		elif [ "$host_detail" = "build error" ]; then
			verdict="BUILD ERROR"
		else
			host="killed ($host_detail)"
		fi
		if [ -z "$verdict" ] && { [ $fast = 0 ] || [[ "$host" != killed* ]]; }; then
			if run_kernel "$log.kernel"; then
				kernel="survived"
			elif [ "$kernel_detail" = "build error" ]; then
				verdict="BUILD ERROR"
			else
				kernel="killed ($kernel_detail)"
			fi
		fi
		# Extra checks only for what survived so far: they can be slow.
		if [ -z "$verdict" ] && [ "$kernel" = survived ] && [[ "$host" != killed* ]]; then
			for t in "${extras[@]}"; do
				if (cd "$tree" && make -s "$t") >"$log.$t" 2>&1; then
					kernel="$kernel; $t: survived"
				else
					kernel="$kernel; $t: killed"
					break
				fi
			done
		fi
	fi
	if [ -n "$verdict" ]; then
		broken=$((broken + 1))
	elif [[ "$host" == killed* || "$kernel" == *killed* ]]; then
		verdict="killed"; killed=$((killed + 1))
	else
		verdict="SURVIVED"; survived=$((survived + 1))
	fi
	cp -p "$scratch/orig/$f" "$tree/$f"
	touch "$tree/$f"
	row=$(printf '%-3d %-22s %-22s %-40s %-38s %s' "$i" "$f" "$name" "$host" "$kernel" "$verdict")
	rows+=("$row")
	printf '%s  (%ds)\n' "$row" "$(($(date +%s) - t0))"
done

echo
echo "Mutation table (body deleted; host = make check-host, kernel = keos-test.elf in QEMU)"
printf '%-3s %-22s %-22s %-40s %-38s %s\n' "#" "file" "function" "host tests" "kernel tests" "result"
printf '%s\n' "${rows[@]}"
total=$((killed + survived))
score=0
[ $total -gt 0 ] && score=$((100 * killed / total))
echo
echo "mutation score: $killed/$total killed ($score%); $survived survived; $broken did not build; $(( ($(date +%s) - start_all) / 60 )) min"
if [ $survived -gt 0 ]; then
	echo "survivors:"
	printf '%s\n' "${rows[@]}" | grep 'SURVIVED$' | awk '{ print "  " $2 ": " $3 }'
fi
[ $survived = 0 ] && [ $broken = 0 ]
