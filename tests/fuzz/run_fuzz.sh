#!/usr/bin/env bash
# Builds the svirtb libFuzzer harness (tests/fuzz/fuzz_simple_virtio.c) with
# clang's fuzzer, AddressSanitizer and UBSan, then fuzzes the device model.
#
#   bash tests/fuzz/run_fuzz.sh [SECONDS]   fuzz for SECONDS (default 30), output in build/fuzz
#   bash tests/fuzz/run_fuzz.sh BUILD_DIR   the short run of make check-host (a HOST_SHELL_TESTS
#                                           script gets the build directory): FUZZ_CHECK_SECONDS
#                                           (default 30) seconds, output in BUILD_DIR/fuzz
#
# The corpus grows in <build>/fuzz/corpus across runs; a few hand-written seeds
# (<build>/fuzz/seeds, regenerated each run) start it at an initialized device
# with a ring of requests, which random bytes alone reach slowly. A crash,
# sanitizer report, leak or timeout leaves its input in <build>/fuzz/ (crash-*,
# leak-*, timeout-*) and makes this script exit non-zero; replay one with
#   SVIRTB_FUZZ_ECHO=1 build/fuzz/fuzz_simple_virtio build/fuzz/crash-<hash>
set -euo pipefail

cd "$(dirname "$0")/../.."
build=build
seconds=30
if [[ $# -gt 0 && -d $1 ]]; then
	build=$1
	seconds=${FUZZ_CHECK_SECONDS:-30}
elif [[ $# -gt 0 ]]; then
	seconds=$1
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || (( seconds == 0 )); then
	echo "usage: $0 [SECONDS | BUILD_DIR]" >&2
	exit 2
fi

CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null; then
	echo "run_fuzz.sh: $CLANG not found (needs clang and libclang-rt-dev for -fsanitize=fuzzer)" >&2
	exit 1
fi
out=$build/fuzz
bin=$out/fuzz_simple_virtio
mkdir -p "$out/corpus" "$out/seeds"

"$CLANG" -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -DKEOS_HOST \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	tests/fuzz/fuzz_simple_virtio.c project4/dev/simple_virtio.c project4/virtio/virt_queue.c \
	tests/host/fake_guest.c project3/vmexit/mmio_regions.c -o "$bin"

# Seeds, in the harness's operation encoding (little-endian operands):
#   02 ring:u16 size:u16 where:u8                         initialize (where 0: ring as is)
#   03 flags slot:u16 addr:u16 size:u16 sector:u8 cmd:u8  ring entry (flags 0)
#   05 n                                                  doorbell at head + n
#   04 gpa:u16 len:u8 bytes                               RAM bytes
#   01 reg:u8 value:u32                                   register store
#   06 offset:u16 width:u8                                register load
# A write of 700 bytes from 0x2000 to sector 1 and a read back into 0x3000.
printf '%b' '\x04\x00\x20\x08abcdefgh' '\x02\x00\x10\x08\x00\x00' \
	'\x03\x00\x00\x00\x00\x20\xbc\x02\x01\x01' '\x03\x00\x01\x00\x00\x30\xbc\x02\x01\x00' \
	'\x05\x02' > "$out/seeds/write_read"
# A 3-entry ring that crosses a page and wraps over three kicks of two entries.
printf '%b' '\x02\xf0\x0f\x03\x00\x00' \
	'\x03\x00\x00\x00\x00\x20\x10\x00\x00\x01' '\x03\x00\x01\x00\x00\x21\x10\x00\x01\x01' '\x05\x02' \
	'\x03\x00\x02\x00\x00\x22\x10\x00\x00\x00' '\x03\x00\x00\x00\x00\x23\x10\x00\x01\x00' '\x05\x02' \
	'\x03\x00\x01\x00\x00\x24\x10\x00\x02\x01' '\x03\x00\x02\x00\x00\x25\x10\x00\x03\x01' '\x05\x02' \
	> "$out/seeds/wrap"
# A read past the end of disk_file, an entry in the RAM hole, a RESET and a load.
printf '%b' '\x02\x00\x10\x04\x00\x00' '\x03\x00\x00\x00\x00\x20\x00\x04\x05\x00' '\x05\x01' \
	'\x03\x00\x01\x00\x00\x80\x10\x00\x00\x00' '\x05\x01' '\x01\x00\x02\x00\x00\x00' '\x06\x00\x00\x00' \
	> "$out/seeds/edges"

set +e
"$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$out/" "$out/corpus" "$out/seeds" 2>"$out/fuzz.log"
status=$?
set -e
if (( status != 0 )); then
	tail -n 60 "$out/fuzz.log" >&2
	echo "fuzz_simple_virtio: FAILED (exit $status); log in $out/fuzz.log" >&2
	exit "$status"
fi
done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$out/fuzz.log" | tail -n 1 || true)
corpus=$(find "$out/corpus" -type f | wc -l)
echo "fuzz_simple_virtio: ${done_line:-Done (no summary)}, corpus $corpus inputs, no crash"
