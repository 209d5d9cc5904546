#!/usr/bin/env bash
# Boots a keos kernel in QEMU (serial on stdout) and turns QEMU's exit status
# into a plain one: 0 when keos reported success, 1 for failure, 2 for a
# panic, 124 when the time limit ran out, 125 when QEMU itself failed.
#
#   qemu_run.sh [--gdb] [--timeout SECONDS] [--append CMDLINE] [--drive IMAGE] KERNEL
#
# QEMU and QEMU_ARGS come from the environment (the Makefile exports them);
# --gdb stops the machine before its first instruction and waits for gdb on
# localhost:$GDB_PORT (default 1234).
set -uo pipefail
gdb=0 timeout_s=0 append="" drive=""
while [ $# -gt 1 ]; do
	case "$1" in
	--gdb) gdb=1; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--drive) drive=$2; shift 2 ;;
	*) break ;;
	esac
done
kernel=${1:?usage: qemu_run.sh [--gdb] [--timeout S] [--append CMDLINE] [--drive IMAGE] KERNEL}
: "${QEMU:=qemu-system-x86_64}"
: "${QEMU_ARGS:=-accel tcg -cpu qemu64,+svm,+npt -smp 2 -m 512M -nographic -no-reboot -net none -device isa-debug-exit,iobase=0xf4,iosize=0x04}"
command -v "$QEMU" >/dev/null || { echo "qemu_run: $QEMU not found (run: make deps)" >&2; exit 125; }
args=()
read -r -a args <<<"$QEMU_ARGS"
[ -n "$drive" ] && args+=(-drive "file=$drive,if=none,id=disk0,format=raw" -device virtio-blk-pci,drive=disk0)
if [ $gdb = 1 ]; then
	args+=(-gdb "tcp:127.0.0.1:${GDB_PORT:-1234}" -S)
	echo "qemu_run: waiting for gdb on localhost:${GDB_PORT:-1234} (in another terminal: gdb -x .gdbinit)" >&2
fi
cmd=("$QEMU" "${args[@]}" -kernel "$kernel")
[ -n "$append" ] && cmd+=(-append "$append")
if [ "$timeout_s" != 0 ]; then
	# --foreground keeps Ctrl-C working; -k kills a QEMU that ignores TERM.
	timeout --foreground -k 5 "$timeout_s" "${cmd[@]}"
else
	"${cmd[@]}"
fi
rc=$?
case $rc in
1) exit 0 ;;            # keos wrote KEOS_EXIT_SUCCESS (0): (0 << 1) | 1
3) exit 1 ;;            # KEOS_EXIT_FAILURE
5) exit 2 ;;            # KEOS_EXIT_PANIC
124|137) exit 124 ;;
*) echo "qemu_run: QEMU exited with status $rc" >&2; exit 125 ;;
esac
