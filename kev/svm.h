/* The SVM hardware layer: turning SVM on, ASIDs, the permission maps, VMRUN.
 *
 * Everything vendor-specific that is not the VMCB layout (kev/vmcb.h) lives
 * here; kev/vcpu.c and kev/vm.c use only these functions. */
#ifndef KEV_SVM_H
#define KEV_SVM_H
#include "kev/types.h"

struct vmcb;

#define MSR_VM_CR        0xc0010114
#define MSR_VM_HSAVE_PA  0xc0010117
#define VM_CR_SVMDIS     (1u << 4)

#define CPUID_EXT1_ECX_SVM  (1u << 2)    /* CPUID 0x80000001 ECX */
#define CPUID_SVM_EDX_NP    (1u << 0)    /* CPUID 0x8000000A EDX: nested paging */
#define CPUID_SVM_EDX_NRIPS (1u << 3)    /* next RIP save */

/* The QEMU option that provides what kev needs (named in failure messages). */
#define SVM_QEMU_CPU_HINT "-cpu qemu64,+svm,+npt"

/* Checks the boot CPU once and sets up the shared permission maps; panics
 * with a message naming SVM_QEMU_CPU_HINT when SVM or nested paging is missing. */
void svm_init(void);
/* Why SVM cannot be used given these CPUID/MSR values, or NULL if it can
 * (the pure part of svm_init's check, for tests). */
const char *svm_missing_feature(uint32_t max_ext_leaf, uint32_t ext1_ecx, uint32_t svm_edx,
                                uint64_t vm_cr);
/* Enables SVM on the calling CPU (EFER.SVME and .NXE, host save area); idempotent.
 * The caller must not migrate (vCPU threads are pinned). */
void svm_cpu_enable(void);
/* Physical address of this CPU's page for VMSAVE/VMLOAD of host state
 * (svm_cpu_enable() must have run on this CPU). */
hpa_t svm_cpu_host_vmcb_pa(void);

/* A free ASID (1 .. count-1), or 0 when all are in use. */
uint32_t svm_asid_alloc(void);
void svm_asid_free(uint32_t asid);

/* The I/O permission map (12 KiB, every port intercepted) and the MSR
 * permission map (8 KiB, every MSR intercepted except those the guest owns
 * outright: FS/GS/KernelGS bases, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*, which
 * live in the VMCB and are swapped by VMLOAD/VMSAVE). */
hpa_t svm_iopm_pa(void);
hpa_t svm_msrpm_pa(void);

/* Runs the guest of vmcb until the next #VMEXIT (kev/svm_run.S). */
void svm_vmrun(uint64_t gpr[GPR_COUNT], hpa_t vmcb_pa, hpa_t host_vmcb_pa);

/* After VMRUN failed with VMEXIT_INVALID: writes into buf the consistency
 * rules (AMD64 APM vol. 2, 15.5.1) that vmcb breaks, one per line, or a note
 * that none of the known rules is broken; returns the number of broken rules. */
int svm_explain_invalid(const struct vmcb *vmcb, char *buf, size_t size);
#endif
