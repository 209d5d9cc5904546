#!/usr/bin/env bash
# After QEMU exits: disk_file on the disk image must hold exactly the bytes
# the guest's last writes left (tests/guest/project4/test_svirtb.c,
# svirtb_durable_write): the fixture with sector 1 replaced by "durable!"
# repeated and the file's last 8 bytes replaced by "TAILMARK". Every other
# test restores what it wrote, so nothing else may differ.
#   check_svirtb_durability.sh FSUTIL FIXTURE IMAGE
set -euo pipefail
fsutil=$1 fixture=$2 image=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
size=$(stat -c %s "$fixture")
{
	head -c 512 "$fixture"
	for _ in $(seq 64); do printf 'durable!'; done
	tail -c +1025 "$fixture" | head -c $((size - 1024 - 8))
	printf 'TAILMARK'
} >"$tmp/expected"
[ "$(stat -c %s "$tmp/expected")" = "$size" ] || { echo "durability: expected file has the wrong size" >&2; exit 1; }
"$fsutil" cat "$image" disk_file >"$tmp/actual"
if ! cmp "$tmp/expected" "$tmp/actual"; then
	echo "durability: disk_file on $image is not what the guest wrote (first difference above)" >&2
	exit 1
fi
echo "durability: disk_file on the image holds the guest's final writes byte for byte ($size bytes)"
