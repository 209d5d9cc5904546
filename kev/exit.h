/* VM exits: the exit codes SVM reports and their decoding.
 *
 * After #VMEXIT the VMCB holds exit_code, exit_info_1, exit_info_2 and
 * exit_int_info. exit_decode() copies them into a struct exit_reason and
 * decodes the fields the controllers need (the port of an IOIO exit, the MSR
 * of an MSR exit, the GPA of a nested page fault), so a controller never
 * reads the VMCB's raw bit layouts. */
#ifndef KEV_EXIT_H
#define KEV_EXIT_H
#include "kev/types.h"

struct vmcb;

/* Exit codes (AMD64 APM vol. 2, appendix C). */
#define SVM_EXIT_READ_CR0     0x000   /* 0x000-0x00f: CRn reads */
#define SVM_EXIT_WRITE_CR0    0x010   /* 0x010-0x01f: CRn writes */
#define SVM_EXIT_READ_DR0     0x020   /* 0x020-0x02f: DRn reads */
#define SVM_EXIT_WRITE_DR0    0x030   /* 0x030-0x03f: DRn writes */
#define SVM_EXIT_EXCP_BASE    0x040   /* 0x040-0x05f: exception vector n */
#define SVM_EXIT_INTR         0x060
#define SVM_EXIT_NMI          0x061
#define SVM_EXIT_SMI          0x062
#define SVM_EXIT_INIT         0x063
#define SVM_EXIT_VINTR        0x064
#define SVM_EXIT_CR0_SEL_WRITE 0x065
#define SVM_EXIT_IDTR_READ    0x066
#define SVM_EXIT_GDTR_READ    0x067
#define SVM_EXIT_LDTR_READ    0x068
#define SVM_EXIT_TR_READ      0x069
#define SVM_EXIT_IDTR_WRITE   0x06a
#define SVM_EXIT_GDTR_WRITE   0x06b
#define SVM_EXIT_LDTR_WRITE   0x06c
#define SVM_EXIT_TR_WRITE     0x06d
#define SVM_EXIT_RDTSC        0x06e
#define SVM_EXIT_RDPMC        0x06f
#define SVM_EXIT_PUSHF        0x070
#define SVM_EXIT_POPF         0x071
#define SVM_EXIT_CPUID        0x072
#define SVM_EXIT_RSM          0x073
#define SVM_EXIT_IRET         0x074
#define SVM_EXIT_SWINT        0x075
#define SVM_EXIT_INVD         0x076
#define SVM_EXIT_PAUSE        0x077
#define SVM_EXIT_HLT          0x078
#define SVM_EXIT_INVLPG       0x079
#define SVM_EXIT_INVLPGA      0x07a
#define SVM_EXIT_IOIO         0x07b
#define SVM_EXIT_MSR          0x07c
#define SVM_EXIT_TASK_SWITCH  0x07d
#define SVM_EXIT_FERR_FREEZE  0x07e
#define SVM_EXIT_SHUTDOWN     0x07f
#define SVM_EXIT_VMRUN        0x080
#define SVM_EXIT_VMMCALL      0x081
#define SVM_EXIT_VMLOAD       0x082
#define SVM_EXIT_VMSAVE       0x083
#define SVM_EXIT_STGI         0x084
#define SVM_EXIT_CLGI         0x085
#define SVM_EXIT_SKINIT       0x086
#define SVM_EXIT_RDTSCP       0x087
#define SVM_EXIT_ICEBP        0x088
#define SVM_EXIT_WBINVD       0x089
#define SVM_EXIT_MONITOR      0x08a
#define SVM_EXIT_MWAIT        0x08b
#define SVM_EXIT_MWAIT_COND   0x08c
#define SVM_EXIT_XSETBV       0x08d
#define SVM_EXIT_RDPRU        0x08e
#define SVM_EXIT_EFER_WRITE_TRAP 0x08f
#define SVM_EXIT_NPF          0x400
#define SVM_EXIT_AVIC_INCOMPLETE_IPI 0x401
#define SVM_EXIT_AVIC_UNACCELERATED 0x402
#define SVM_EXIT_VMGEXIT      0x403
#define SVM_EXIT_INVALID      ((uint64_t)-1)  /* VMRUN refused the VMCB (consistency checks) */
#define SVM_EXIT_BUSY         ((uint64_t)-2)

/* Exception vectors, for SVM_EXIT_EXCP_BASE + vector. */
#define X86_EXC_DE 0
#define X86_EXC_DB 1
#define X86_EXC_BP 3
#define X86_EXC_UD 6
#define X86_EXC_DF 8
#define X86_EXC_GP 13
#define X86_EXC_PF 14
#define X86_EXC_AC 17

/* IOIO exit_info_1 bits. */
#define IOIO_TYPE_IN   (1u << 0)
#define IOIO_STR       (1u << 2)
#define IOIO_REP       (1u << 3)
#define IOIO_SZ8       (1u << 4)
#define IOIO_SZ16      (1u << 5)
#define IOIO_SZ32      (1u << 6)
#define IOIO_PORT_SHIFT 16

/* #NPF exit_info_1 bits (a page-fault error code plus two SVM bits). */
#define NPF_PRESENT    (1ull << 0)
#define NPF_WRITE      (1ull << 1)
#define NPF_USER       (1ull << 2)
#define NPF_RSVD       (1ull << 3)
#define NPF_FETCH      (1ull << 4)
#define NPF_FINAL_GPA  (1ull << 32)   /* fault on the final guest-physical access */
#define NPF_GUEST_PT   (1ull << 33)   /* fault while walking the guest's page tables */

/* One exit, as the controllers see it. */
struct exit_reason {
	uint64_t code;              /* SVM_EXIT_* */
	uint64_t info1, info2;      /* exit_info_1, exit_info_2 */
	uint32_t int_info;          /* exit_int_info: event interrupted by the exit */
	uint32_t int_info_err;
	uint64_t rip;               /* guest RIP of the exiting instruction */
	union {
		struct {                /* SVM_EXIT_IOIO */
			uint16_t port;
			uint8_t size;       /* 1, 2 or 4 bytes */
			bool in;            /* IN (else OUT) */
			bool string;        /* INS/OUTS */
			bool rep;
			uint64_t next_rip;  /* exit_info_2: the instruction after */
		} io;
		struct {                /* SVM_EXIT_MSR */
			uint32_t index;     /* ECX */
			bool write;         /* WRMSR (else RDMSR) */
		} msr;
		struct {                /* SVM_EXIT_NPF */
			gpa_t gpa;
			uint64_t error;     /* NPF_* bits */
		} npf;
		struct {                /* SVM_EXIT_EXCP_BASE + n */
			uint8_t vector;
			uint64_t error_code;
		} exc;
	} u;
};

/* Fills *out from the VMCB of a vCPU that just exited. */
void exit_decode(const struct vmcb *vmcb, struct exit_reason *out);
/* The manual's short name of an exit code ("CPUID", "NPF", "EXCP_GP", "WRITE_CR3"...), "UNKNOWN" otherwise. */
const char *exit_code_name(uint64_t code);
/* Writes a one-line description of the decoded fields of e (e.g. "port 0x3f8 out 1 byte",
 * "gpa 0x40000000 read, not present") into buf; returns the length. */
int exit_describe(const struct exit_reason *e, char *buf, size_t size);
#endif
