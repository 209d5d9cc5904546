/* The test guests (tests/guests/NAME.S), assembled to flat binaries by
 * mk/kev.mk and embedded here: kev_guest_NAME_start .. kev_guest_NAME_end. */
	.section .rodata
.macro guest name
	.global kev_guest_\name\()_start, kev_guest_\name\()_end
	.balign 16
kev_guest_\name\()_start:
	.incbin "\name\().bin"
kev_guest_\name\()_end:
.endm
	guest cpuid
	guest msr
	guest msr_unknown
	guest serial
	guest hypercall
	guest unmapped
	guest exit
	guest ud2
	guest bench
	guest rendezvous
	guest smp
	guest irq_window
	guest irq_priority
	guest irq_redeliver
	guest irq_flood
	guest irq_hlt
	guest fpu
	guest hang
	guest hostile_dr
	guest hostile_dr_breakpoint
	guest hostile_int_once
	guest hostile_msr
	guest hostile_prefix
	guest hostile_user
	guest hostile_features
	guest hostile_flood
	guest msr_device
