#!/usr/bin/env bash
# Builds the two libFuzzer harnesses with clang's fuzzer, AddressSanitizer and
# UBSan, then fuzzes each for half the time: the svirtb device model
# (tests/fuzz/fuzz_simple_virtio.c) and the MMIO instruction decoder against
# Zydis in 64-, 32- and 16-bit mode (tests/fuzz/fuzz_mmio_decode.c).
#
#   bash tests/fuzz/run_fuzz.sh [SECONDS]   fuzz for SECONDS in all (default 30), output in build/fuzz
#   bash tests/fuzz/run_fuzz.sh BUILD_DIR   the short run of make check-host (a HOST_SHELL_TESTS
#                                           script gets the build directory): FUZZ_CHECK_SECONDS
#                                           (default 30) seconds in all, output in BUILD_DIR/fuzz
#
# The corpora grow in <build>/fuzz/corpus (svirtb) and <build>/fuzz/decode/corpus
# across runs; a few hand-written seeds (regenerated each run) start them: an
# initialized device with a ring of requests, which random bytes alone reach
# slowly, and one encoding of each supported MOV form. A crash, sanitizer
# report, leak, timeout or decoder mismatch leaves its input in <build>/fuzz/
# (svirtb) or <build>/fuzz/decode/ (crash-*, leak-*, timeout-*) and makes this
# script exit non-zero; replay one with
#   SVIRTB_FUZZ_ECHO=1 build/fuzz/fuzz_simple_virtio build/fuzz/crash-<hash>
#   build/fuzz/fuzz_mmio_decode build/fuzz/decode/crash-<hash>
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
dec=$out/decode
dec_bin=$out/fuzz_mmio_decode
mkdir -p "$out/corpus" "$out/seeds" "$dec/corpus" "$dec/seeds"
# Debian's libzydis-dev ships no .pc file; fall back to the plain library.
zydis_libs=$(pkg-config --libs zydis 2>/dev/null || echo -lZydis)
svirtb_seconds=$(( (seconds + 1) / 2 ))
decode_seconds=$(( seconds - svirtb_seconds ))
(( decode_seconds > 0 )) || decode_seconds=1

cflags=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -DKEOS_HOST
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
"$CLANG" "${cflags[@]}" \
	tests/fuzz/fuzz_simple_virtio.c project4/dev/simple_virtio.c project4/virtio/virt_queue.c \
	tests/host/fake_guest.c project3/vmexit/mmio_regions.c -o "$bin"
"$CLANG" "${cflags[@]}" tests/fuzz/fuzz_mmio_decode.c tests/host/mmio_zydis.c \
	project3/vmexit/mmio_decode.c $zydis_libs -o "$dec_bin"

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

# Decoder seeds: one of each form, in the spellings 64-, 32- and 16-bit code use.
seed() { printf '%b' "$2" > "$dec/seeds/$1"; }
seed store_rip_rel '\x89\x05\x10\x00\x00\x00'
seed store_sib_rex '\x66\x43\x89\x44\xe5\x10'
seed load_movzx '\x0f\xb6\x47\x04'
seed store_imm32 '\xc7\x84\x24\x00\x01\x00\x00\x01\x02\x03\x04'
seed moffs64 '\x48\xa3\x04\x00\xfe\xca\x00\x80\xff\xff'
seed moffs32 '\xa3\x04\x00\xfe\xca'
seed fs_addr32 '\x64\x67\x8b\x0c\x25\x28\x00\x00\x00'
seed modrm16 '\x26\x66\x89\x46\xfe'
seed lock_rep '\xf3\x88\x20'

# Runs one harness for its share of the time; prints its summary line and
# adds "NAME: N runs" to the closing summary.
summary=()
fuzz() {
	local name=$1 binary=$2 dir=$3 secs=$4 corpus=$5 seeds=$6
	shift 6
	set +e
	"$binary" -max_total_time="$secs" -timeout=10 -print_final_stats=1 "$@" \
		-artifact_prefix="$dir/" "$corpus" "$seeds" 2>"$dir/$name.log"
	local status=$?
	set -e
	if (( status != 0 )); then
		tail -n 60 "$dir/$name.log" >&2
		echo "$name: FAILED (exit $status); log in $dir/$name.log" >&2
		exit "$status"
	fi
	local done_line
	done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$dir/$name.log" | tail -n 1 || true)
	echo "$name: ${done_line:-Done (no summary)}, corpus $(find "$corpus" -type f | wc -l) inputs, no crash"
	local runs
	runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1 runs in \2 s/p' <<<"$done_line")
	summary+=("$name ${runs:-?}")
}

fuzz fuzz_simple_virtio "$bin" "$out" "$svirtb_seconds" "$out/corpus" "$out/seeds"
fuzz fuzz_mmio_decode "$dec_bin" "$dec" "$decode_seconds" "$dec/corpus" "$dec/seeds" -max_len=32
# The last line is what make check-host shows.
echo "run_fuzz.sh: ${summary[0]}, ${summary[1]} (decoder vs Zydis in 64/32/16-bit mode): no crash"
