/* One guest run: VMRUN with the guest's general-purpose registers around it.
 *
 *   void svm_vmrun(uint64_t gpr[16], hpa_t vmcb_pa, hpa_t host_vmcb_pa);
 *
 * gpr is in x86 encoding order (kev/types.h enum gpr); RAX and RSP are not
 * touched here: VMRUN loads them from the VMCB and #VMEXIT saves them there.
 *
 * VMRUN saves and restores only part of the host state (CS, SS, DS, ES, GDTR,
 * IDTR, CR0/3/4, EFER, RFLAGS, RIP, RSP, RAX). The rest of what VMLOAD and
 * VMSAVE move (FS, GS with their bases, KernelGSbase, TR, LDTR, STAR, LSTAR,
 * CSTAR, SFMASK, SYSENTER_*) is swapped by hand:
 *
 *   (called with interrupts off: the caller has just decided what to inject)
 *   CLGI; STI                    no interrupt, not even an NMI, from here;
 *                                RFLAGS.IF = 1 is what VMRUN saves as the host's
 *   VMSAVE host_vmcb             host FS/GS/TR/... (GS base = this CPU's struct cpu)
 *   VMLOAD vmcb                  the guest's
 *   load guest GPRs; VMRUN; store guest GPRs
 *   VMSAVE vmcb; VMLOAD host_vmcb
 *   CLI; STGI                    back to the caller with interrupts off
 *
 * With V_INTR_MASKING set in the VMCB, the host's IF (1, saved by VMRUN) lets
 * physical interrupts exit the guest (the INTR intercept). An interrupt that
 * arrives between the caller's CLI and VMRUN (a kick IPI) stays pending and
 * makes the guest exit at once. After the exit, GIF = 0 and then IF = 0 hold
 * it until the caller has recorded the exit and re-enables interrupts; then
 * the host's handler runs and the scheduler may switch threads as usual. */
	.text
	.code64
	.global svm_vmrun
svm_vmrun:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                /* gpr */
	pushq %rdx                /* host_vmcb_pa */
	pushq %rsi                /* vmcb_pa */

	clgi
	sti
	movq %rdx, %rax
	vmsave
	movq (%rsp), %rax
	vmload

	movq 8(%rdi), %rcx
	movq 16(%rdi), %rdx
	movq 24(%rdi), %rbx
	movq 40(%rdi), %rbp
	movq 48(%rdi), %rsi
	movq 64(%rdi), %r8
	movq 72(%rdi), %r9
	movq 80(%rdi), %r10
	movq 88(%rdi), %r11
	movq 96(%rdi), %r12
	movq 104(%rdi), %r13
	movq 112(%rdi), %r14
	movq 120(%rdi), %r15
	movq 56(%rdi), %rdi

	vmrun                     /* rax = vmcb_pa */

	/* #VMEXIT: RAX and RSP are the host's again; every other GPR is the guest's. */
	vmsave
	pushq %rdi
	movq 24(%rsp), %rdi       /* gpr (above: guest rdi, vmcb_pa, host_vmcb_pa) */
	movq %rcx, 8(%rdi)
	movq %rdx, 16(%rdi)
	movq %rbx, 24(%rdi)
	movq %rbp, 40(%rdi)
	movq %rsi, 48(%rdi)
	movq %r8, 64(%rdi)
	movq %r9, 72(%rdi)
	movq %r10, 80(%rdi)
	movq %r11, 88(%rdi)
	movq %r12, 96(%rdi)
	movq %r13, 104(%rdi)
	movq %r14, 112(%rdi)
	movq %r15, 120(%rdi)
	popq 56(%rdi)

	movq 8(%rsp), %rax        /* host_vmcb_pa */
	vmload
	cli
	stgi

	addq $24, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
