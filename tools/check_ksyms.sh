#!/usr/bin/env bash
# Fails if embedding the symbol table moved any function: the table would
# then name the wrong functions in backtraces. Also checks the image is laid
# out flat for the multiboot loader (keos/arch/boot.S): from the header on,
# file offset - 0x1000 must equal physical address - 1 MiB in every segment.
set -euo pipefail
pass1=$1 final=$2
text_syms() { nm -n --defined-only "$1" | awk '$2 ~ /^[Tt]$/'; }
if ! diff <(text_syms "$pass1") <(text_syms "$final") >/dev/null; then
	echo "check_ksyms: function addresses moved between the two links of $final" >&2
	exit 1
fi
while read -r type off _ pa _; do
	[ "$type" = LOAD ] || continue
	if (( off - 0x1000 != pa - 0x100000 )); then
		echo "check_ksyms: segment at physical $pa is not flat in $final" >&2
		exit 1
	fi
done < <(readelf -lW "$final")
