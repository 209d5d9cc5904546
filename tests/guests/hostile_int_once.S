/* A software interrupt whose delivery exits: INT 0x40 with RSP on a page the
 * host test removed from the nested table (HOSTILE_INT_STACK_PAGE), so the
 * CPU's first push is a nested page fault; the test puts the page back and
 * resumes. The handler must run once. Exits 0, or 1 with the handler's count
 * in the exit status's high bits. */
#include "tests/guests/hostile.h"
#define INT_COUNT (HG_VARS + 0x100)
#define INT_STACK_TOP 0x81000                  /* page 0x80000: the test unmaps it */
	.text
	.global guest_start
guest_start:
	hostile_setup
	hg_set_gate 0x40, int40
	movq $0, INT_COUNT
	movq %rsp, %r12
	movq $INT_STACK_TOP, %rsp
	int $0x40
	movq %r12, %rsp
	cmpq $1, INT_COUNT
	je 1f
	movq INT_COUNT, %rax
	shll $8, %eax
	orl $1, %eax
	guest_exit %eax
1:	guest_exit $0
int40:
	incq INT_COUNT
	iretq
	hostile_lib
