/* The symbol table of the first link: empty (see tools/gen_ksyms.sh). */
	.section .ksyms, "a"
	.align 8
	.global ksyms_count, ksyms_table, ksyms_names
ksyms_count:
	.quad 0
ksyms_table:
ksyms_names:
	.byte 0
