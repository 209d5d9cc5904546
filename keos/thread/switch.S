/* thread_switch(struct thread *from, struct thread *to): saves the
 * callee-saved registers on from's stack and its rsp in from->saved_rsp,
 * then resumes to from to->saved_rsp. A new thread's stack is prepared by
 * thread_create so that the final ret lands in thread_start. */
	.text
	.global thread_switch
thread_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	mov %rsp, (%rdi)
	mov (%rsi), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
