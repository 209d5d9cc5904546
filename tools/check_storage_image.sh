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
#   check_storage_image.sh crash BUILD PRISTINE KERNEL
#       Boots KERNEL (the test kernel) on a copy of PRISTINE with the test
#       storagecrash_stop_without_flush, which writes through the block
#       cache, flushes, writes more and stops QEMU without a flush. The
#       image must then hold exactly the flushed writes (the same
#       byte-for-byte comparison), and a second boot must mount it and read
#       the flushed bytes back (storagecrash_after_restart).
#
#   check_storage_image.sh corrupt BUILD PRISTINE KERNEL
#       Boots KERNEL (the test kernel) on corrupted copies of PRISTINE and
#       expects, for each, the test storagebad_mount_fails_cleanly to pass,
#       the kernel's one-line mount error naming the damage, and the run to
#       end before its timeout.
#
# The writes below mirror tests/kernel/test_storage.c and
# tests/kernel/test_storage_cache.c: change both together.
set -euo pipefail

fail() { echo "check_storage_image: FAIL: $*" >&2; exit 1; }

# repeat UNIT N SKIP: N bytes of UNIT repeated, starting SKIP bytes into it.
repeat() {
	local unit=$1 n=$2 skip=$3 s=""
	while ((${#s} < n + skip)); do s+=$unit; done
	printf '%s' "${s:skip:n}"
}

# fill N BYTE: N copies of BYTE.
fill() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

# patch FILE OFFSET DATA: overwrites bytes of FILE in place.
patch() {
	printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# expected_file MODE NAME PRISTINE_COPY: turns the pristine copy of NAME into
# what the kernel tests of MODE (written or crash) leave behind.
expected_file() {
	local mode=$1 name=$2 f=$3 size
	size=$(stat -c %s "$f")
	case $mode:$name in
	written:scratch.txt)
		patch "$f" 700 "<<keos storage test wrote this at offset 700>>"   # storage_write_pattern
		patch "$f" 1500 "$(repeat ABCDEFGHIJKLMNOPQRSTUVWXYZ 1300 0)"      # storage_write_crosses_sectors
		patch "$f" $((size - 10)) 0123456789 ;;                           # storage_short_write_at_eof
	# storage_concurrent_two_cpus: the last of 6 passes, byte i = HEX[(i + 5 + 7 * id) % 16].
	written:scratch2.txt) repeat 0123456789abcdef "$size" 5 >"$f" ;;
	written:scratch3.txt) repeat 0123456789abcdef "$size" 12 >"$f" ;;
	# storage_cache_write_back_waits_for_sync and storage_cache_evicts_dirty_data.
	written:durable.bin) repeat "durable after fs_sync"$'\n' "$size" 0 >"$f" ;;
	written:evict.bin) fill "$size" E >"$f" ;;
	# storage_cache_readers_and_writers_on_two_cpus: the last of 4 passes,
	# byte i = HEX[(i + 3 + 5 * id) % 16].
	written:cache1.bin) repeat 0123456789abcdef "$size" 3 >"$f" ;;
	written:cache2.bin) repeat 0123456789abcdef "$size" 8 >"$f" ;;
	# storagecrash_stop_without_flush: only the flushed 8192 'A' bytes survive.
	crash:crash.bin) fill 8192 A | dd of="$f" conv=notrunc status=none ;;
	esac
}

# compare_image MODE BUILD PRISTINE RUN: RUN must be PRISTINE with the writes
# of MODE applied, file by file and then as a whole image.
compare_image() {
	local mode=$1 fsutil=$2/tools/fsutil pristine=$3 run=$4 name size first nfiles=0 changed
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
		expected_file "$mode" "$name" "$tmp/want"
		[ "$(stat -c %s "$tmp/want")" = "$size" ] || fail "$name: expected file has the wrong size (script bug)"
		if ! cmp "$tmp/want" "$tmp/got" >"$tmp/cmp" 2>&1; then
			fail "$name differs from what the kernel tests wrote ($mode run): $(head -n 1 "$tmp/cmp")"
		fi
		dd if="$tmp/want" of="$tmp/expected.img" bs=512 seek="$first" conv=notrunc status=none
		nfiles=$((nfiles + 1))
	done <"$tmp/ls.pristine"
	if ! cmp "$tmp/expected.img" "$run" >"$tmp/cmp" 2>&1; then
		fail "bytes outside the written ranges changed: $(head -n 1 "$tmp/cmp")"
	fi
	changed=$(cmp -l "$pristine" "$run" | wc -l || true)
	[ "$changed" -gt 0 ] || fail "the kernel's writes did not reach $run"
	rm -rf "$tmp"
	trap - EXIT
	echo "check_storage_image: $run: $nfiles files as written ($mode run), $changed bytes changed, the rest of the image identical"
}

cmd_crash() {
	local build=$1 pristine=$2 img log rc=0
	kernel=$3
	img=$(dirname "$pristine")/crash-run.img
	log=${img%.img}.log
	cp "$pristine" "$img"
	bash "$here/qemu_run.sh" --timeout 60 --drive "$img" --append test=storagecrash_stop_without_flush \
		"$kernel" </dev/null >"$log" 2>&1 || rc=$?
	if ! tr -d '\r' <"$log" | grep -q '^storage crash: stopping without a flush'; then
		fail "the crash run did not reach its stop (status $rc, log: $log): $(tr -d '\r' <"$log" | grep -E 'FAILED|PANIC' | head -n 1)"
	fi
	[ "$rc" = 0 ] || fail "the crash run ended with status $rc after its stop line (log: $log)"
	compare_image crash "$build" "$pristine" "$img"
	bash "$here/run_kernel_tests.sh" --timeout 60 --drive "$img" --append test=storagecrash_after_restart \
		--log "${img%.img}-restart.log" "$kernel" >/dev/null ||
		fail "the kernel did not mount the crashed image or read the flushed bytes (log: ${img%.img}-restart.log)"
	echo "check_storage_image: crash before flush: only the unflushed writes were lost, and the kernel mounts the image"
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
written) [ $# = 4 ] || fail "usage: $0 written BUILD PRISTINE RUN"; compare_image written "$2" "$3" "$4" ;;
crash) [ $# = 4 ] || fail "usage: $0 crash BUILD PRISTINE KERNEL"; cmd_crash "$2" "$3" "$4" ;;
corrupt) [ $# = 4 ] || fail "usage: $0 corrupt BUILD PRISTINE KERNEL"; cmd_corrupt "$2" "$3" "$4" ;;
*) fail "usage: $0 written BUILD PRISTINE RUN | crash BUILD PRISTINE KERNEL | corrupt BUILD PRISTINE KERNEL" ;;
esac
