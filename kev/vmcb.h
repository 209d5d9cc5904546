/* The Virtual Machine Control Block (AMD64 APM vol. 2, appendix B).
 *
 * One 4 KiB page per vCPU, handed to VMRUN by its physical address. The first
 * 1 KiB is the control area (what to intercept, the nested page table, the
 * exit code and its information); the save area at 0x400 holds the guest's
 * segment, control and system registers. Field names follow the manual (and
 * Linux's struct vmcb_control_area / vmcb_save_area) so a reader can check
 * them against the tables there; the _Static_asserts below pin the offsets. */
#ifndef KEV_VMCB_H
#define KEV_VMCB_H
#include <stdint.h>
#include <stddef.h>

/* One segment register as the VMCB stores it. attrib packs the descriptor's
 * access byte (bits 0-7: type, S, DPL, P) and flags (bits 8-11: AVL, L, D/B, G). */
struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

#define SEG_ATTR_TYPE(t) ((t) & 0xf)
#define SEG_ATTR_S       (1u << 4)      /* code or data (not system) */
#define SEG_ATTR_DPL(d)  (((d) & 3) << 5)
#define SEG_ATTR_P       (1u << 7)
#define SEG_ATTR_L       (1u << 9)      /* 64-bit code */
#define SEG_ATTR_DB      (1u << 10)
#define SEG_ATTR_G       (1u << 11)

struct vmcb_control_area {
	uint32_t intercept_cr;          /* 0x000: bits 0-15 CR reads, 16-31 CR writes */
	uint32_t intercept_dr;          /* 0x004: bits 0-15 DR reads, 16-31 DR writes */
	uint32_t intercept_exceptions;  /* 0x008: bit n intercepts exception vector n */
	uint32_t intercept_misc1;       /* 0x00c: INTERCEPT1_* */
	uint32_t intercept_misc2;       /* 0x010: INTERCEPT2_* */
	uint32_t intercept_misc3;       /* 0x014 */
	uint8_t reserved_1[0x3c - 0x18];
	uint16_t pause_filter_thresh;   /* 0x03c */
	uint16_t pause_filter_count;    /* 0x03e */
	uint64_t iopm_base_pa;          /* 0x040: I/O permission map (12 KiB) */
	uint64_t msrpm_base_pa;         /* 0x048: MSR permission map (8 KiB) */
	uint64_t tsc_offset;            /* 0x050 */
	uint32_t asid;                  /* 0x058: must not be 0 */
	uint8_t tlb_ctl;                /* 0x05c: TLB_CONTROL_* */
	uint8_t reserved_2[3];
	uint32_t int_ctl;               /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING ... */
	uint32_t int_vector;            /* 0x064 */
	uint32_t int_state;             /* 0x068: bit 0 interrupt shadow */
	uint8_t reserved_3[4];
	uint64_t exit_code;             /* 0x070 */
	uint64_t exit_info_1;           /* 0x078 */
	uint64_t exit_info_2;           /* 0x080 */
	uint32_t exit_int_info;         /* 0x088: event being delivered when the exit hit */
	uint32_t exit_int_info_err;     /* 0x08c */
	uint64_t nested_ctl;            /* 0x090: bit 0 enables nested paging */
	uint64_t avic_vapic_bar;        /* 0x098 */
	uint64_t ghcb_gpa;              /* 0x0a0 */
	uint32_t event_inj;             /* 0x0a8: event to inject at VMRUN */
	uint32_t event_inj_err;         /* 0x0ac */
	uint64_t nested_cr3;            /* 0x0b0: root of the nested page table (hpa) */
	uint64_t virt_ext;              /* 0x0b8 */
	uint32_t clean;                 /* 0x0c0: VMCB clean bits (kev keeps 0) */
	uint32_t reserved_5;
	uint64_t next_rip;              /* 0x0c8: only with NRIP save (absent under QEMU TCG) */
	uint8_t insn_len;               /* 0x0d0: only with decode assists (absent too) */
	uint8_t insn_bytes[15];
	uint64_t avic_backing_page;     /* 0x0e0 */
	uint8_t reserved_6[8];
	uint64_t avic_logical_id;       /* 0x0f0 */
	uint64_t avic_physical_id;      /* 0x0f8 */
	uint8_t reserved_7[0x400 - 0x100];
} __attribute__((packed));

struct vmcb_save_area {
	struct vmcb_seg es;             /* 0x400 */
	struct vmcb_seg cs;             /* 0x410 */
	struct vmcb_seg ss;             /* 0x420 */
	struct vmcb_seg ds;             /* 0x430 */
	struct vmcb_seg fs;             /* 0x440 */
	struct vmcb_seg gs;             /* 0x450 */
	struct vmcb_seg gdtr;           /* 0x460 */
	struct vmcb_seg ldtr;           /* 0x470 */
	struct vmcb_seg idtr;           /* 0x480 */
	struct vmcb_seg tr;             /* 0x490 */
	uint8_t reserved_1[0x4cb - 0x4a0];
	uint8_t cpl;                    /* 0x4cb */
	uint8_t reserved_2[4];
	uint64_t efer;                  /* 0x4d0 */
	uint8_t reserved_3[0x548 - 0x4d8];
	uint64_t cr4;                   /* 0x548 */
	uint64_t cr3;                   /* 0x550 */
	uint64_t cr0;                   /* 0x558 */
	uint64_t dr7;                   /* 0x560 */
	uint64_t dr6;                   /* 0x568 */
	uint64_t rflags;                /* 0x570 */
	uint64_t rip;                   /* 0x578 */
	uint8_t reserved_4[0x5d8 - 0x580];
	uint64_t rsp;                   /* 0x5d8 */
	uint64_t s_cet;                 /* 0x5e0 */
	uint64_t ssp;                   /* 0x5e8 */
	uint64_t isst_addr;             /* 0x5f0 */
	uint64_t rax;                   /* 0x5f8 */
	uint64_t star;                  /* 0x600 */
	uint64_t lstar;                 /* 0x608 */
	uint64_t cstar;                 /* 0x610 */
	uint64_t sfmask;                /* 0x618 */
	uint64_t kernel_gs_base;        /* 0x620 */
	uint64_t sysenter_cs;           /* 0x628 */
	uint64_t sysenter_esp;          /* 0x630 */
	uint64_t sysenter_eip;          /* 0x638 */
	uint64_t cr2;                   /* 0x640 */
	uint8_t reserved_5[0x668 - 0x648];
	uint64_t g_pat;                 /* 0x668: guest PAT (used with nested paging) */
	uint64_t dbgctl;                /* 0x670 */
	uint64_t br_from;               /* 0x678 */
	uint64_t br_to;                 /* 0x680 */
	uint64_t last_excp_from;        /* 0x688 */
	uint64_t last_excp_to;          /* 0x690 */
	uint8_t reserved_6[0x1000 - 0x698];
} __attribute__((packed));

struct vmcb {
	struct vmcb_control_area control;
	struct vmcb_save_area save;
} __attribute__((packed, aligned(4096)));

/* intercept_misc1 (vector 3 in the manual). */
#define INTERCEPT1_INTR          (1u << 0)
#define INTERCEPT1_NMI           (1u << 1)
#define INTERCEPT1_SMI           (1u << 2)
#define INTERCEPT1_INIT          (1u << 3)
#define INTERCEPT1_VINTR         (1u << 4)
#define INTERCEPT1_CR0_SEL_WRITE (1u << 5)
#define INTERCEPT1_RDTSC         (1u << 14)
#define INTERCEPT1_RDPMC         (1u << 15)
#define INTERCEPT1_CPUID         (1u << 18)
#define INTERCEPT1_RSM           (1u << 19)
#define INTERCEPT1_INVD          (1u << 22)
#define INTERCEPT1_PAUSE         (1u << 23)
#define INTERCEPT1_HLT           (1u << 24)
#define INTERCEPT1_INVLPGA       (1u << 26)
#define INTERCEPT1_IOIO_PROT     (1u << 27)   /* consult the I/O permission map */
#define INTERCEPT1_MSR_PROT      (1u << 28)   /* consult the MSR permission map */
#define INTERCEPT1_TASK_SWITCH   (1u << 29)
#define INTERCEPT1_FERR_FREEZE   (1u << 30)
#define INTERCEPT1_SHUTDOWN      (1u << 31)

/* intercept_misc2 (vector 4). */
#define INTERCEPT2_VMRUN         (1u << 0)    /* VMRUN fails unless this is set */
#define INTERCEPT2_VMMCALL       (1u << 1)
#define INTERCEPT2_VMLOAD        (1u << 2)
#define INTERCEPT2_VMSAVE        (1u << 3)
#define INTERCEPT2_STGI          (1u << 4)
#define INTERCEPT2_CLGI          (1u << 5)
#define INTERCEPT2_SKINIT        (1u << 6)
#define INTERCEPT2_RDTSCP        (1u << 7)
#define INTERCEPT2_ICEBP         (1u << 8)
#define INTERCEPT2_WBINVD        (1u << 9)
#define INTERCEPT2_MONITOR       (1u << 10)
#define INTERCEPT2_MWAIT         (1u << 11)
#define INTERCEPT2_MWAIT_COND    (1u << 12)   /* MWAIT with a monitor armed */
#define INTERCEPT2_XSETBV        (1u << 13)

/* tlb_ctl */
#define TLB_CONTROL_DO_NOTHING      0
#define TLB_CONTROL_FLUSH_ALL_ASID  1

/* int_ctl */
#define V_TPR_MASK          0xffu
#define V_IRQ               (1u << 8)
#define V_INTR_MASKING      (1u << 24)   /* host RFLAGS.IF masks physical interrupts */

/* nested_ctl */
#define NESTED_CTL_NP_ENABLE (1ull << 0)

/* event_inj and exit_int_info share one format. */
#define EVENT_VECTOR_MASK   0xffu
#define EVENT_TYPE_SHIFT    8
#define EVENT_TYPE_MASK     (7u << 8)
#define EVENT_TYPE_INTR     (0u << 8)
#define EVENT_TYPE_NMI      (2u << 8)
#define EVENT_TYPE_EXCEPT   (3u << 8)
#define EVENT_TYPE_SOFT     (4u << 8)
#define EVENT_ERROR_VALID   (1u << 11)
#define EVENT_VALID         (1u << 31)

_Static_assert(sizeof(struct vmcb_seg) == 16, "vmcb_seg is 16 bytes");
_Static_assert(offsetof(struct vmcb_control_area, iopm_base_pa) == 0x040, "iopm_base_pa");
_Static_assert(offsetof(struct vmcb_control_area, asid) == 0x058, "asid");
_Static_assert(offsetof(struct vmcb_control_area, int_ctl) == 0x060, "int_ctl");
_Static_assert(offsetof(struct vmcb_control_area, exit_code) == 0x070, "exit_code");
_Static_assert(offsetof(struct vmcb_control_area, exit_int_info) == 0x088, "exit_int_info");
_Static_assert(offsetof(struct vmcb_control_area, nested_ctl) == 0x090, "nested_ctl");
_Static_assert(offsetof(struct vmcb_control_area, event_inj) == 0x0a8, "event_inj");
_Static_assert(offsetof(struct vmcb_control_area, nested_cr3) == 0x0b0, "nested_cr3");
_Static_assert(offsetof(struct vmcb_control_area, next_rip) == 0x0c8, "next_rip");
_Static_assert(offsetof(struct vmcb_control_area, avic_physical_id) == 0x0f8, "avic_physical_id");
_Static_assert(sizeof(struct vmcb_control_area) == 0x400, "control area is 1 KiB");
_Static_assert(offsetof(struct vmcb, save.cs) == 0x410, "cs");
_Static_assert(offsetof(struct vmcb, save.tr) == 0x490, "tr");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "cpl");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "efer");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "cr4");
_Static_assert(offsetof(struct vmcb, save.rflags) == 0x570, "rflags");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "rip");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "rsp");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "rax");
_Static_assert(offsetof(struct vmcb, save.kernel_gs_base) == 0x620, "kernel_gs_base");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "cr2");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "g_pat");
_Static_assert(sizeof(struct vmcb) == 4096, "a VMCB is one page");
#endif
