#!/usr/bin/env bash
# Every failure explains itself: reads what rules_check.sh's mutants left
# (their table output, results.json and logs) and checks that
#   - a failing guest check is shown with its own words, exactly as the guest
#     printed them (file:line and message, no harness prefix, not cut: the
#     table wraps long lines instead), followed by the path of the test's
#     full log, which exists; results.json carries the same;
#   - a VM that ran past its deadline shows kev's report, line by line;
#   - a VM that hung in the host (a device call that never returns) shows
#     kev's diagnosis: the vCPU, its guest RIP and symbol, the host backtrace.
#
#   failure_check.sh PROJECT...     (inside selftest.sh, after rules_check.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
fail=0

# reason_block OUT TEST: the lines under TEST's row in a grade table, indent removed.
reason_block() {
	awk -v t="$2" '
		index($0, t " ") == 1 { on = 1; next }
		on && /^    / { print substr($0, 5); next }
		on { exit }' "$1"
}

# check_guest_reason PROJECT MUTANT TEST: the table shows the guest's own reason, uncut.
check_guest_reason() {
	local project=$1 m=$2 test=$3 label=mutant-$1-$2
	local out=$SELFTEST_WORK/$label.out json=$SELFTEST_WORK/$label.json
	[ -f "$out" ] || { complain "no output of mutant $m ($out)"; fail=1; return; }
	local block log own shown
	block=$(reason_block "$out" "$test")
	log=$(sed -n 's/^log: //p' <<<"$block" | tail -n 1)
	[ -f "$log" ] || { complain "$test (mutant $m): no 'log: PATH' line naming an existing log under its row:"$'\n'"$block"; fail=1; return; }
	# kev prints a guest line longer than KEV_SERIAL_LINE (160) in pieces: rejoin them.
	own=$(tr -d '\r' <"$log" | awk -v t="${test#"$project"_}" '
		match($0, /^\[guest [0-9]+\] /) { body = substr($0, RLENGTH + 1) }
		joining { own = own body; if (length(body) < 160) exit; next }
		index($0, "] test " t " ... FAILED: ") { own = substr(body, length("test " t " ... FAILED: ") + 1); joining = length(body) == 160; if (!joining) exit }
		END { print own }')
	[ -n "$own" ] || { complain "$test (mutant $m): the guest printed no FAILED line in $log"; fail=1; return; }
	# The table's wrap keeps each break's blank at the end of its line: joining restores the text.
	shown=$(grep -v '^log: ' <<<"$block" | tr -d '\n')
	if [ "$shown" != "$own" ]; then
		complain "$test (mutant $m): the table does not show the guest's own reason whole"
		complain "  guest: $own"
		complain "  table: $shown"
		fail=1
	elif grep -q 'guest_harness\.c\|FAILED:' <<<"$shown"; then
		complain "$test (mutant $m): the reason carries the harness's prefix: $shown"
		fail=1
	elif ! grep -qF "$(sed 's/\\/\\\\/g; s/"/\\"/g' <<<"$own")" "$json" || ! grep -qF "log: $log" "$json"; then
		complain "$test (mutant $m): results.json lacks the reason or the log's path"
		fail=1
	else
		say "$test (mutant $m): the table shows the guest's reason whole (${#own} characters) and the log"
	fi
}

# check_row_says LABEL TEST FIRST SECOND WHAT: under TEST's row of mutant
# LABEL's table, lines matching the patterns FIRST and SECOND.
check_row_says() {
	local block
	block=$(reason_block "$SELFTEST_WORK/mutant-$1.out" "$2")
	if grep -q "$3" <<<"$block" && grep -q "$4" <<<"$block"; then
		say "$2 (mutant ${1#*-}): $5"
	else
		complain "$2 (mutant ${1#*-}): expected $5, got:"$'\n'"$block"
		fail=1
	fi
}

for project in "$@"; do
	case $project in
	project4)
		check_guest_reason project4 register_page_not_mapped project4_svirtb_register_reads_do_not_exit
		check_guest_reason project4 reset_keeps_queue project4_svirtb_reset_zeroes_queue
		# The hanging device (a handle that never returns, interrupts on: its
		# lock is a mutex): kev stops the VM at its deadline and diagnoses it,
		# the stuck vCPU, its guest RIP and symbol, and the host backtrace
		# through the student's function.
		check_row_says project4-hang_in_handle project4_check_blockio '^the VM ran past its deadline' \
			'inside the exit handler' "the deadline and kev's report"
		check_row_says project4-hang_in_handle project4_check_blockio '^ *guest rip 0x[0-9a-f]* (' \
			'simple_virtio_handle+0x[0-9a-f]* <- ' "the guest's RIP with its symbol and the stuck host thread's backtrace" ;;
	project3)
		check_guest_reason project3 unmap_keeps_empty_tables project3_page_table_unmap_frees_tables
		# kev stops each VM at its deadline.
		check_row_says project3-table_entry_without_user project3_guest_boots_under_kev \
			'^the VM ran past its deadline' '^kev: vm ' "the deadline and kev's report" ;;
	esac
done
exit $fail
