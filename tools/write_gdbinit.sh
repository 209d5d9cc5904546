#!/usr/bin/env bash
# Writes .gdbinit for `make gdb`: the kernel's symbols (and gKeOS's, when a
# guest kernel is given), the QEMU stub on localhost:$GDB_PORT (default
# 1234), a breakpoint on panics, and two commands:
#
#   host-break FUNCTION    stop in FUNCTION only when the host kernel runs it
#   guest-break FUNCTION   stop in FUNCTION only when gKeOS runs it
#
#   write_gdbinit.sh KERNEL [GUEST_KERNEL]
#
# Why the two commands: QEMU's gdb stub stops at a virtual address whatever
# runs there, and the host kernel and gKeOS are both linked at
# 0xffffffff80000000. gKeOS is linked with the kernel's own objects first, in
# the same order (the Makefile's gkeos rule), so keos and kev functions sit at
# the same address in both and a plain `break printk` is right in both, but
# it stops in both. Each CPU's GS base points into its kernel's `cpus` array
# (keos/arch/cpu.h), and the two arrays lie at different addresses: the
# commands add that test as the breakpoint's condition. gdb must be allowed
# to read the file: run `gdb -x .gdbinit` (or add "set auto-load safe-path /"
# to ~/.gdbinit).
set -euo pipefail
kernel=${1:?usage: write_gdbinit.sh KERNEL [GUEST_KERNEL]}
guest=${2:-}
port=${GDB_PORT:-1234}

# start, size and element size of the `cpus` array in KERNEL
cpus_range() {
	local n addr size
	n=$(sed -n 's/^#define MAX_CPUS[[:space:]]*\([0-9]*\).*/\1/p' keos/arch/cpu.h)
	read -r addr size < <(nm -S "$1" | awk '$4 == "cpus" { print $1, $2 }')
	[ -n "${size:-}" ] && [ -n "$n" ] || { echo "write_gdbinit: no symbol cpus in $1 (or no MAX_CPUS)" >&2; exit 1; }
	echo $((16#$addr)) $((16#$size)) $((16#$size / n))
}
# the gdb condition "GS base is &cpus[i] of that kernel, for some i"
on_cpus() {
	printf '((unsigned long)$gs_base - %#x) < %#x && ((unsigned long)$gs_base - %#x) %% %#x == 0' "$1" "$2" "$1" "$3"
}
read -r host_cpus host_size cpu_size < <(cpus_range "$kernel")
{
	echo "set architecture i386:x86-64"
	echo "set pagination off"
	echo "file $kernel"
	[ -n "$guest" ] && echo "add-symbol-file $guest"
	echo "target remote localhost:$port"
	echo "break panic_at"
	echo "define host-break"
	echo "  break \$arg0 if $(on_cpus "$host_cpus" "$host_size" "$cpu_size")"
	echo "end"
	echo "document host-break"
	echo "host-break FUNCTION: stop in FUNCTION only when the host kernel runs it."
	echo "end"
	if [ -n "$guest" ]; then
		read -r guest_cpus guest_size _ < <(cpus_range "$guest")
		diff=$(( guest_cpus > host_cpus ? guest_cpus - host_cpus : host_cpus - guest_cpus ))
		if (( diff < host_size && diff % cpu_size == 0 )); then
			echo "write_gdbinit: a struct cpu of $kernel and one of $guest share an address: host-break and guest-break cannot tell them apart" >&2
			exit 1
		fi
		echo "define guest-break"
		echo "  break \$arg0 if $(on_cpus "$guest_cpus" "$guest_size" "$cpu_size")"
		echo "end"
		echo "document guest-break"
		echo "guest-break FUNCTION: stop in FUNCTION only when gKeOS (the guest) runs it."
		echo "end"
	else
		echo "break arch_start"
	fi
} >.gdbinit
echo "wrote .gdbinit: in another terminal run: gdb -x .gdbinit" >&2
