#!/usr/bin/env bash
# The host's half of the storage tests (make check-storage).
#
#   check_storage_image.sh written BUILD PRISTINE RUN
#       After the storage_* kernel tests ran on RUN (a copy of PRISTINE) and
#       QEMU exited: every file of RUN, extracted with BUILD/tools/fsutil,
#       must equal the same file of PRISTINE with exactly the tests' writes
#       applied (recomputed here), and the whole image must equal PRISTINE
#       with those files laid over it: the writes landed, byte for byte, and
#       nothing else changed (no metadata, no slack, no other file).
#
#   check_storage_image.sh corrupt BUILD PRISTINE KERNEL
#       Boots KERNEL (the test kernel) on corrupted copies of PRISTINE and
#       expects, for each, the test storagebad_mount_fails_cleanly to pass,
#       the kernel's one-line mount error naming the damage, and the run to
#       end before its timeout.
#
# The writes below mirror tests/kernel/test_storage.c: change both together.
set -euo pipefail

fail() { echo "check_storage_image: FAIL: $*" >&2; exit 1; }

# repeat UNIT N SKIP: N bytes of UNIT repeated, starting SKIP bytes into it.
repeat() {
	local unit=$1 n=$2 skip=$3 s=""
	while ((${#s} < n + skip)); do s+=$unit; done
	printf '%s' "${s:skip:n}"
}

# patch FILE OFFSET DATA: overwrites bytes of FILE in place.
patch() {
	printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# expected_file NAME PRISTINE_COPY: turns the pristine copy of NAME into what
# the kernel tests leave behind.
expected_file() {
	local name=$1 f=$2 size
	size=$(stat -c %s "$f")
	case $name in
	scratch.txt)
		patch "$f" 700 "<<keos storage test wrote this at offset 700>>"   # storage_write_pattern
		patch "$f" 1500 "$(repeat ABCDEFGHIJKLMNOPQRSTUVWXYZ 1300 0)"      # storage_write_crosses_sectors
		patch "$f" $((size - 10)) 0123456789 ;;                           # storage_short_write_at_eof
	# storage_concurrent_two_cpus: the last of 6 passes, byte i = HEX[(i + 5 + 7 * id) % 16].
	scratch2.txt) repeat 0123456789abcdef "$size" 5 >"$f" ;;
	scratch3.txt) repeat 0123456789abcdef "$size" 12 >"$f" ;;
	esac
}

cmd_written() {
	local fsutil=$1/tools/fsutil pristine=$2 run=$3 name size first nfiles=0
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	timeout 20 "$fsutil" check "$run" >/dev/null || fail "$run no longer mounts"
	timeout 20 "$fsutil" ls "$pristine" >"$tmp/ls.pristine"
	timeout 20 "$fsutil" ls "$run" >"$tmp/ls.run"
	cmp -s "$tmp/ls.pristine" "$tmp/ls.run" || fail "the file table changed: $(diff "$tmp/ls.pristine" "$tmp/ls.run" | tr '\n' '|')"
	cp "$pristine" "$tmp/expected.img"
	while IFS=$'\t' read -r name size first; do
		timeout 20 "$fsutil" cat "$pristine" "$name" >"$tmp/want"
		timeout 20 "$fsutil" cat "$run" "$name" >"$tmp/got"
		expected_file "$name" "$tmp/want"
		[ "$(stat -c %s "$tmp/want")" = "$size" ] || fail "$name: expected file has the wrong size (script bug)"
		if ! cmp "$tmp/want" "$tmp/got" >"$tmp/cmp" 2>&1; then
			fail "$name differs from what the kernel tests wrote: $(head -n 1 "$tmp/cmp")"
		fi
		dd if="$tmp/want" of="$tmp/expected.img" bs=512 seek="$first" conv=notrunc status=none
		nfiles=$((nfiles + 1))
	done <"$tmp/ls.pristine"
	if ! cmp "$tmp/expected.img" "$run" >"$tmp/cmp" 2>&1; then
		fail "bytes outside the written ranges changed: $(head -n 1 "$tmp/cmp")"
	fi
	local changed
	changed=$(cmp -l "$pristine" "$run" | wc -l || true)
	[ "$changed" -gt 0 ] || fail "the kernel's writes did not reach $run"
	echo "check_storage_image: $run: $nfiles files as written, $changed bytes changed, the rest of the image identical"
}

# boot_corrupt NAME IMAGE PATTERN: boots the kernel on IMAGE and expects the
# mount error to match PATTERN.
boot_corrupt() {
	local name=$1 img=$2 pattern=$3 log=${2%.img}.log line
	if ! bash "$here/run_kernel_tests.sh" --timeout 60 --drive "$img" \
		--append test=storagebad_mount_fails_cleanly --log "$log" "$kernel" >/dev/null; then
		fail "$name: the kernel did not reject the image cleanly (log: $log)"
	fi
	line=$(tr -d '\r' <"$log" | grep -E '^fs: cannot mount the virtio-blk disk \([0-9]+ sectors\): ' || true)
	[ -n "$line" ] || fail "$name: no mount error line in $log"
	grep -qE "$pattern" <<<"$line" || fail "$name: unclear mount error: $line"
	echo "check_storage_image: $name: $line"
}

cmd_corrupt() {
	local pristine=$2 dir
	kernel=$3
	dir=$(dirname "$pristine")/corrupt
	rm -rf "$dir" && mkdir -p "$dir"

	cp "$pristine" "$dir/garbage.img"
	printf 'this is not a keos file system, just garbage in sector 0' |
		dd of="$dir/garbage.img" bs=1 conv=notrunc status=none
	boot_corrupt "garbage superblock" "$dir/garbage.img" 'bad magic.*no KEOSFS magic'

	head -c $((16 * 512)) "$pristine" >"$dir/truncated.img"
	boot_corrupt "truncated image" "$dir/truncated.img" 'truncated image'

	cp "$pristine" "$dir/table.img"
	printf 'X' | dd of="$dir/table.img" bs=1 seek=512 conv=notrunc status=none
	boot_corrupt "scribbled file table" "$dir/table.img" 'checksum mismatch'

	: >"$dir/empty.img"
	boot_corrupt "empty disk" "$dir/empty.img" 'smaller than one sector'
}

here=$(dirname "$0")
case ${1:-} in
written) [ $# = 4 ] || fail "usage: $0 written BUILD PRISTINE RUN"; cmd_written "$2" "$3" "$4" ;;
corrupt) [ $# = 4 ] || fail "usage: $0 corrupt BUILD PRISTINE KERNEL"; cmd_corrupt "$2" "$3" "$4" ;;
*) fail "usage: $0 written BUILD PRISTINE RUN | corrupt BUILD PRISTINE KERNEL" ;;
esac
