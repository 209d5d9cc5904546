#!/usr/bin/env bash
# Checks for the Debian packages the build and tests need; installs the
# missing ones when run as root (apt-get), otherwise prints the command.
#   --quiet  print nothing when everything is there
#   --staff  also what the grader's self-test needs (the course staff's tree):
#            zip writes the Gradescope bundle, unzip and git read bundles and
#            submissions, gdb is driven to a breakpoint by the make gdb check
set -euo pipefail
quiet=0 staff=0
for arg in "$@"; do
	case $arg in
	--quiet) quiet=1 ;;
	--staff) staff=1 ;;
	*) echo "usage: deps.sh [--quiet] [--staff]" >&2; exit 2 ;;
	esac
done
need=(gcc binutils make qemu-system-x86 check libsubunit-dev pkg-config libzydis-dev clang libclang-rt-14-dev)
staff_need=(zip unzip git gdb)
[ $staff = 0 ] || need+=("${staff_need[@]}")
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	[ $quiet = 1 ] || echo "deps: everything is installed"
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
