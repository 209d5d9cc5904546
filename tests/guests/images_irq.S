/* The interrupt, FPU and hang test guests (mk/kev.mk, KEV_IRQ_GUESTS),
 * embedded like those of images.S: kev_guest_NAME_start .. _end. */
	.section .rodata
.macro guest name
	.global kev_guest_\name\()_start, kev_guest_\name\()_end
	.balign 16
kev_guest_\name\()_start:
	.incbin "\name\().bin"
kev_guest_\name\()_end:
.endm
	guest irq_window
	guest irq_priority
	guest irq_redeliver
	guest irq_flood
	guest irq_hlt
	guest fpu
	guest hang
