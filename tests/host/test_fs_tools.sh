#!/bin/bash
# End-to-end test of the image tools: usage: test_fs_tools.sh BUILD_DIR
#
# Builds an image with BUILD_DIR/tools/mkfs from a temp directory, reads every
# file back with BUILD_DIR/tools/fsutil and compares bytes with cmp, then
# feeds fsutil broken images and expects exit 1 with a one-line message
# naming the image. Every tool run is wrapped in `timeout 10`, so a hang on
# a bad image fails the test instead of stalling `make check`.
# The eval'd conditions below are single-quoted on purpose: they expand when run.
# shellcheck disable=SC2016
set -euo pipefail

build=${1:?usage: test_fs_tools.sh BUILD_DIR}
mkfs=$build/tools/mkfs
fsutil=$build/tools/fsutil
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# run EXPECTED_STATUS NAME CMD...: runs CMD under timeout, stderr to $tmp/err.
run() {
	local want=$1 name=$2 status=0
	shift 2
	timeout 10 "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
	if [ "$status" -eq 124 ]; then fail "$name: timed out"; return 1; fi
	if [ "$status" -ne "$want" ]; then
		fail "$name: exit $status, wanted $want; stderr: $(cat "$tmp/err")"
		return 1
	fi
}

# expect_error NAME IMAGE PATTERN: every fsutil command must reject IMAGE with
# exit 1, nothing on stdout, and one stderr line naming IMAGE and matching PATTERN.
expect_error() {
	local name=$1 image=$2 pattern=$3 ok=1 cmd
	for cmd in check ls cat; do
		local args=("$cmd" "$image")
		[ "$cmd" = cat ] && args+=(hello.txt)
		if ! run 1 "$name ($cmd)" "$fsutil" "${args[@]}"; then
			ok=0
		elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^fsutil: $image: .*$pattern" "$tmp/err"; then
			fail "$name ($cmd): unclear message: $(cat "$tmp/err")"; ok=0
		elif [ -s "$tmp/out" ]; then
			fail "$name ($cmd): wrote to stdout"; ok=0
		fi
	done
	[ "$ok" -eq 1 ] && pass "$name: $(cat "$tmp/err")"
	return 0
}

# check LABEL CONDITION...: passes or fails LABEL on the exit status of CONDITION
# (eval'd conditions see the script's variables: no locals here may shadow them).
check() {
	local _label=$1
	shift
	if "$@"; then pass "$_label"; else fail "$_label"; fi
}

# --- a round trip ------------------------------------------------------------------
src=$tmp/src
mkdir -p "$src/subdir"
printf 'hello, keos\n' >"$src/hello.txt"
head -c 1000 /dev/urandom >"$src/odd.bin"          # not a multiple of 512
head -c 4096 /dev/urandom >"$src/exact.bin"        # a multiple of 512
head -c 200000 /dev/urandom >"$src/large.bin"      # many sectors, several requests
: >"$src/empty"
echo ignored >"$src/subdir/inner"
img=$tmp/fs.img

check "mkfs builds an image" run 0 "mkfs" "$mkfs" "$img" "$src"
check "mkfs warns about the subdirectory" grep -q "warning: skipping subdirectory .*subdir" "$tmp/err"

names=$(cd "$src" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort)
for name in $names; do
	check "cat $name is byte-identical" eval 'run 0 "cat $name" "$fsutil" cat "$img" "$name" && cmp "$tmp/out" "$src/$name"'
done
check "ls runs" run 0 "ls" "$fsutil" ls "$img"
check "ls lists the files in name order" [ "$(cut -f1 "$tmp/out")" = "$names" ]
check "ls shows name, size, first sector" grep -qx "$(printf 'odd.bin\t1000\t')[0-9]*" "$tmp/out"
check "check accepts a good image" run 0 "check" "$fsutil" check "$img"

# Exactly what is needed: superblock, one table sector, then the data sectors
# of empty (0), exact.bin (8), hello.txt (1), large.bin (391), odd.bin (2).
check "the image size is exact" [ "$(stat -c %s "$img")" -eq $(((1 + 1 + 0 + 8 + 1 + 391 + 2) * 512)) ]
check "mkfs is reproducible" eval 'run 0 "mkfs again" "$mkfs" "$tmp/again.img" "$src" && cmp "$img" "$tmp/again.img"'
check "--extra-sectors adds zero sectors" eval 'run 0 "mkfs --extra-sectors" "$mkfs" "$tmp/extra.img" "$src" --extra-sectors 16 &&
	[ "$(stat -c %s "$tmp/extra.img")" -eq $(($(stat -c %s "$img") + 16 * 512)) ] &&
	run 0 "check extra" "$fsutil" check "$tmp/extra.img"'
mkdir "$tmp/none"
check "an empty directory gives an empty file system" eval 'run 0 "mkfs of an empty dir" "$mkfs" "$tmp/none.img" "$tmp/none" &&
	run 0 "ls of an empty fs" "$fsutil" ls "$tmp/none.img" && [ ! -s "$tmp/out" ]'

# --- errors --------------------------------------------------------------------------
check "cat of a missing file fails" eval 'run 1 "cat nosuch" "$fsutil" cat "$img" nosuch &&
	grep -q "nosuch: no such file" "$tmp/err"'
check "fsutil usage error exits 2" run 2 "fsutil usage" "$fsutil" frobnicate "$img"
check "mkfs usage error exits 2" run 2 "mkfs usage" "$mkfs" "$img"
mkdir "$tmp/long" && : >"$tmp/long/$(printf 'n%.0s' {1..48})"
check "mkfs rejects a 48-byte name and leaves no image" eval 'run 1 "mkfs long name" "$mkfs" "$tmp/long.img" "$tmp/long" &&
	grep -q "name longer than 47 bytes" "$tmp/err" && [ ! -e "$tmp/long.img" ]'
check "mkfs of a missing directory fails" run 1 "mkfs no dir" "$mkfs" "$tmp/x.img" "$tmp/nosuchdir"
mkdir "$tmp/many"
for i in $(seq -w 1 64); do printf 'file %s\n' "$i" >"$tmp/many/f$i"; done
check "64 files (an 8-sector table) round-trip" eval 'run 0 "mkfs 64" "$mkfs" "$tmp/many.img" "$tmp/many" &&
	run 0 "cat f64" "$fsutil" cat "$tmp/many.img" f64 && cmp "$tmp/out" "$tmp/many/f64" &&
	run 0 "ls 64" "$fsutil" ls "$tmp/many.img" && [ "$(wc -l <"$tmp/out")" -eq 64 ]'
: >"$tmp/many/f65"
check "mkfs refuses a 65th file" eval 'run 1 "mkfs 65" "$mkfs" "$tmp/many65.img" "$tmp/many" &&
	grep -q "more than 64 files" "$tmp/err" && [ ! -e "$tmp/many65.img" ]'
mkdir "$tmp/ctl" && : >"$tmp/ctl/$(printf 'a\tb')"
check "mkfs refuses a name with a tab" eval 'run 1 "mkfs tab" "$mkfs" "$tmp/ctl.img" "$tmp/ctl" &&
	grep -q "control character" "$tmp/err"'

cp "$img" "$tmp/trunc.img" && truncate -s $((5 * 512)) "$tmp/trunc.img"
expect_error "truncated image" "$tmp/trunc.img" "truncated"
cp "$img" "$tmp/ragged.img" && truncate -s 3000 "$tmp/ragged.img"
expect_error "ragged truncated image" "$tmp/ragged.img" "not a multiple of 512"
head -c 65536 /dev/urandom >"$tmp/garbage.img"
expect_error "garbage image" "$tmp/garbage.img" "bad magic"
: >"$tmp/empty.img"
expect_error "empty image" "$tmp/empty.img" "smaller than one sector"
cp "$img" "$tmp/table.img" && printf 'XY' | dd of="$tmp/table.img" bs=1 seek=$((512 + 64 + 3)) conv=notrunc status=none
expect_error "scribbled table" "$tmp/table.img" "checksum"
cp "$img" "$tmp/version.img" && printf '\x07' | dd of="$tmp/version.img" bs=1 seek=8 conv=notrunc status=none
expect_error "future version" "$tmp/version.img" "version"
expect_error "missing image" "$tmp/nosuch.img" "cannot open"
expect_error "directory as image" "$tmp" "cannot open"

if [ "$failures" -ne 0 ]; then
	echo "test_fs_tools: $failures failure(s)" >&2
	exit 1
fi
echo "test_fs_tools: all passed"
