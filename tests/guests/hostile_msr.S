/* MSR writes a CPU refuses get #GP(0) and change nothing: EFER with a
 * reserved bit, with SVME (hidden), or with LME changed while paging is on;
 * PAT with a reserved memory type in any byte; APIC_BASE with a reserved bit
 * or x2APIC mode; MISC_ENABLE with anything but 0. Writes a CPU accepts still
 * work. Exits 0, or the failed check. */
#include "tests/guests/hostile.h"
#define MSR_APIC_BASE   0x1b
#define MSR_MISC_ENABLE 0x1a0
#define MSR_PAT         0x277
#define MSR_EFER        0xc0000080

/* WRMSR of edx:eax to msr must raise #GP(0) at the WRMSR. */
.macro wrmsr_gp msr, hi, lo, status
	movl $\msr, %ecx
	movl $\hi, %edx
	movl $\lo, %eax
	hg_arm .Lafter\@
.Lat\@:
	wrmsr
.Lafter\@:
	hg_expect 13, 0, .Lat\@, \status
.endm

/* RDMSR of msr must give edx:eax = hi:lo. */
.macro rdmsr_is msr, hi, lo, status
	movl $\msr, %ecx
	rdmsr
	cmpl $\lo, %eax
	expect_eq \status
	cmpl $\hi, %edx
	expect_eq \status
.endm

	.text
	.global guest_start
guest_start:
	hostile_setup
	movl $MSR_EFER, %ecx
	rdmsr
	cmpl $0xd00, %eax                      /* LME, LMA, NXE: the flat boot's */
	expect_eq $1
	wrmsr_gp MSR_EFER, 0, 0xd02, $2        /* bit 1 is reserved */
	wrmsr_gp MSR_EFER, 0, 0x1d00, $3       /* SVME: CPUID has no SVM */
	wrmsr_gp MSR_EFER, 0x80000000, 0xd00, $4   /* bit 63 */
	wrmsr_gp MSR_EFER, 0, 0, $5            /* clears LME with paging on */
	wrmsr_gp MSR_EFER, 0, 0xc00, $6        /* the same, LMA kept */
	rdmsr_is MSR_EFER, 0, 0xd00, $7        /* nothing changed */
	movl $MSR_EFER, %ecx                   /* NXE may go and come back */
	xorl %edx, %edx
	movl $0x500, %eax
	wrmsr
	rdmsr_is MSR_EFER, 0, 0x500, $8
	movl $MSR_EFER, %ecx
	xorl %edx, %edx
	movl $0xd00, %eax
	wrmsr
	movl $MSR_EFER, %ecx                   /* LMA is the CPU's: writing 0 there keeps it */
	xorl %edx, %edx
	movl $0x901, %eax
	wrmsr
	rdmsr_is MSR_EFER, 0, 0xd01, $9

	wrmsr_gp MSR_PAT, 0x00070406, 0x00070402, $10   /* byte 0: type 2 */
	wrmsr_gp MSR_PAT, 0x03070406, 0x00070406, $11   /* byte 7: type 3 */
	wrmsr_gp MSR_PAT, 0x00070406, 0x08070406, $12   /* byte 3: type 8 */
	wrmsr_gp MSR_PAT, 0x000704ff, 0x00070406, $13   /* byte 4: 0xff */
	rdmsr_is MSR_PAT, 0x00070406, 0x00070406, $14   /* the power-on value stays */
	movl $MSR_PAT, %ecx                    /* every valid type: UC WC WT WP WB UC- */
	movl $0x00000706, %edx
	movl $0x05040100, %eax
	wrmsr
	rdmsr_is MSR_PAT, 0x00000706, 0x05040100, $15

	wrmsr_gp MSR_APIC_BASE, 0, 0xfee00801, $16      /* bit 0 is reserved */
	wrmsr_gp MSR_APIC_BASE, 0, 0xfee00c00, $17      /* x2APIC: not offered */
	wrmsr_gp MSR_APIC_BASE, 0x00100000, 0xfee00800, $18   /* bit 52: above any address width */
	movl $MSR_APIC_BASE, %ecx              /* a new base, BSP written as 0: kept as 1 */
	xorl %edx, %edx
	movl $0xfed00800, %eax
	wrmsr
	rdmsr_is MSR_APIC_BASE, 0, 0xfed00900, $19

	wrmsr_gp MSR_MISC_ENABLE, 0, 1, $20
	movl $MSR_MISC_ENABLE, %ecx
	xorl %edx, %edx
	xorl %eax, %eax
	wrmsr
	rdmsr_is MSR_MISC_ENABLE, 0, 0, $21
	guest_exit $0
	hostile_lib
