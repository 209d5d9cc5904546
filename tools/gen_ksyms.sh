#!/usr/bin/env bash
# Writes the assembly for the kernel's symbol table (.ksyms) from a linked
# kernel: function addresses sorted ascending, each with an offset into a
# string table. keos/lib/ksyms.c looks backtrace addresses up in it.
set -euo pipefail
elf=$1
nm -n --defined-only "$elf" | awk '
$2 ~ /^[Tt]$/ && $3 !~ /^\./ { addr[n] = $1; name[n] = $3; n++ }
END {
	print "\t.section .ksyms, \"a\""
	print "\t.align 8"
	print "\t.global ksyms_count, ksyms_table, ksyms_names"
	print "ksyms_count:"
	printf "\t.quad %d\n", n
	print "ksyms_table:"
	off = 0
	for (i = 0; i < n; i++) {
		printf "\t.quad 0x%s, %d\n", addr[i], off
		off += length(name[i]) + 1
	}
	print "ksyms_names:"
	for (i = 0; i < n; i++)
		printf "\t.asciz \"%s\"\n", name[i]
}'
