/* The disk_file fixture, embedded so the guest tests compare against exactly
 * the bytes the disk image was built from. */
	.section .rodata
	.global svirtb_fixture, svirtb_fixture_end
svirtb_fixture:
	.incbin "tests/fixtures/project4/disk_file"
svirtb_fixture_end:
	.section .note.GNU-stack, "", @progbits
