/* Address types shared by kev, project3 and project4.
 *
 * Guest-physical (gpa), host-physical (hpa) and host-virtual addresses are
 * different spaces; distinct typedefs keep the intent visible in signatures. */
#ifndef KEV_TYPES_H
#define KEV_TYPES_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint64_t gpa_t;   /* guest-physical address */
typedef uint64_t gva_t;   /* guest-virtual address */
typedef uint64_t hpa_t;   /* host-physical address */

#define GUEST_PAGE_SIZE 4096ull

/* What an exit handler tells the vCPU loop. */
enum vmexit_result {
	VMEXIT_RESULT_OK,          /* handled: advance RIP (if set) and resume */
	VMEXIT_RESULT_EXIT,        /* the guest asked to end the VM (status in vcpu) */
};

/* Why a VM must stop; returned by handlers that cannot continue. */
enum vm_error {
	VM_ERR_NONE = 0,
	VM_ERR_UNHANDLED_EXIT,     /* no controller took the exit */
	VM_ERR_BAD_GUEST_ACCESS,   /* guest touched memory it does not own */
	VM_ERR_DECODE,             /* instruction at RIP could not be decoded */
	VM_ERR_NO_MEMORY,
	VM_ERR_DEVICE,             /* a device model failed */
	VM_ERR_TRIPLE_FAULT,       /* shutdown intercept */
	VM_ERR_TIMEOUT,
	VM_ERR_HOST_FAULT,         /* a fault or panic in host code run for the VM (an exit handler) */
};

/* General-purpose registers in x86 encoding order (rax=0 ... r15=15), so an
 * instruction's register number indexes this array directly. */
enum gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT
};

/* The guest state an exit handler may read and change (KeV's GenericVCpuState). */
struct vcpu_state {
	uint64_t gpr[GPR_COUNT];
	uint64_t rip;
	uint64_t rflags;
	uint64_t cr0, cr3, cr4, efer;
};
#endif
