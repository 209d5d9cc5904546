#!/usr/bin/env bash
# The debugging recipe of docs/project3.md and docs/project4.md works: in the
# project's strict work tree (the pristine handout with the reference's
# file, built), `make gdb TEST=NAME` boots the test kernel with that test
# and the project's disk, and gdb in batch mode, reading the .gdbinit it
# wrote, stops in the student's function:
#   project4: host-break simple_virtio_handle during project4_check_blockio;
#   project3: guest-break ept_map during project3_page_table_simple, which
#             must stop at the guest test's own gpa (0x1234000), not in the host.
# QEMU waits on a port of its own; everything started here is stopped here.
#
#   gdb_check.sh PROJECT        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: gdb_check.sh PROJECT}
tree=$SELFTEST_WORK/worktree/$project
case $project in
project4) test=project4_check_blockio cmd="host-break simple_virtio_handle"
	expect='hit Breakpoint [0-9]+, simple_virtio_handle \(' ;;
project3) test=project3_page_table_simple cmd="guest-break ept_map"
	expect='hit Breakpoint [0-9]+, ept_map \(ept=0x[0-9a-f]+, gpa=19087360,' ;;
*) complain "gdb_check: no recipe for $project"; exit 1 ;;
esac
command -v gdb >/dev/null || { complain "gdb_check: gdb is not installed"; exit 1; }

# A port nobody listens on (QEMU fails loudly if it was taken meanwhile).
port=""
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || { complain "gdb_check: no free port"; exit 1; }

out=$SELFTEST_WORK/gdb-$project
GDB_PORT=$port setsid make -C "$tree" -s gdb TEST="$test" </dev/null >"$out.qemu" 2>&1 &
qemu_session=$!
stop_qemu() { kill -TERM -- "-$qemu_session" 2>/dev/null; sleep 0.5; kill -KILL -- "-$qemu_session" 2>/dev/null; wait "$qemu_session" 2>/dev/null; }
trap stop_qemu EXIT
# Wait for the event: QEMU says it waits for gdb (or make ended).
for _ in $(seq 600); do
	grep -q 'waiting for gdb' "$out.qemu" && break
	kill -0 "$qemu_session" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q 'waiting for gdb' "$out.qemu"; then
	complain "gdb_check: make gdb TEST=$test did not start QEMU:"
	tail -n 20 "$out.qemu" >&2
	exit 1
fi
(cd "$tree" && timeout 120 gdb -batch -nx -x .gdbinit -ex "$cmd" -ex continue -ex "bt 3" -ex kill) >"$out.gdb" 2>&1
if grep -qE "$expect" "$out.gdb"; then
	say "$project: make gdb TEST=$test, then '$cmd': gdb stops in the student's function: $(grep -m1 -oE "$expect" "$out.gdb")"
	exit 0
fi
complain "gdb_check: gdb did not stop where expected ($expect):"
tail -n 20 "$out.gdb" >&2
exit 1
