#!/usr/bin/env bash
# Writes .gdbinit for `make gdb`: symbols of the kernel, the QEMU stub, and a
# breakpoint at the first C function. gdb must be allowed to read it: add
# "set auto-load safe-path /" to ~/.gdbinit, or run gdb -x .gdbinit.
set -euo pipefail
kernel=$1
cat > .gdbinit <<GDB
set architecture i386:x86-64
file $kernel
target remote localhost:1234
break arch_start
break panic_at
GDB
echo "wrote .gdbinit: in another terminal run: gdb -x .gdbinit" >&2
