/* SVM on this machine: feature checks, per-CPU enable, ASIDs, permission maps.
 *
 * svm_init() runs once (from vm_create) on whatever CPU creates the first VM;
 * it checks CPUID, counts ASIDs and fills the permission maps. Each CPU that
 * runs a vCPU then calls svm_cpu_enable() from the pinned vCPU thread: it sets
 * EFER.SVME (and EFER.NXE, which the nested table's no-execute bit needs) and
 * gives the CPU its host save area (VM_HSAVE_PA) and a page where the vCPU
 * loop VMSAVEs the host's FS/GS/TR/syscall state around each VMRUN.
 *
 * All pages here are static (kernel BSS, physically contiguous with the
 * image): they are never freed, so the test runner's leak count never sees
 * them, whichever test enables SVM first. */
#include "kev/svm.h"
#include "kev/vmcb.h"
#include "kev/exit.h"
#include "keos/arch/cpu.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"
#include "keos/lib/printk.h"
#include "keos/mm/vm.h"
#include "keos/sync/spinlock.h"
#include <string.h>

#define PAGE 4096
#define MAX_ASIDS 4096

struct svm_cpu {
	bool enabled;
	uint8_t hsave[PAGE] __attribute__((aligned(PAGE)));       /* VM_HSAVE_PA: VMRUN's host state */
	uint8_t host_vmcb[PAGE] __attribute__((aligned(PAGE)));   /* VMSAVE/VMLOAD of host state */
};

static struct svm_cpu svm_cpus[MAX_CPUS];
static uint8_t iopm[3 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t msrpm[2 * PAGE] __attribute__((aligned(PAGE)));

static struct spinlock svm_lock = SPINLOCK_INIT("svm");
static bool svm_ready;
static uint32_t asid_count;                  /* ASIDs 1 .. asid_count-1 are usable */
static uint8_t asid_used[MAX_ASIDS];
static unsigned max_phys_bits;

const char *svm_missing_feature(uint32_t max_ext_leaf, uint32_t ext1_ecx, uint32_t svm_edx,
                                uint64_t vm_cr)
{
	if (max_ext_leaf < 0x8000000a || !(ext1_ecx & CPUID_EXT1_ECX_SVM))
		return "kev: this CPU has no AMD SVM (CPUID 0x80000001 ECX bit 2); run QEMU with "
		       SVM_QEMU_CPU_HINT " (TCG emulates SVM; it does not emulate Intel VMX)";
	if (!(svm_edx & CPUID_SVM_EDX_NP))
		return "kev: this CPU has SVM but no nested paging (CPUID 0x8000000A EDX bit 0); "
		       "run QEMU with " SVM_QEMU_CPU_HINT;
	if (vm_cr & VM_CR_SVMDIS)
		return "kev: SVM is disabled by the firmware (VM_CR.SVMDIS); enable it, or run QEMU with "
		       SVM_QEMU_CPU_HINT;
	return NULL;
}

/* Clears the intercept bits (read and write) of one MSR in the MSR permission map. */
static void msrpm_pass(uint32_t msr)
{
	uint32_t base;
	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800, msr -= 0xc0000000;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000, msr -= 0xc0010000;
	else
		panic("kev: MSR 0x%x is outside the MSR permission map", msr);
	uint32_t bit = msr * 2;
	msrpm[base + bit / 8] &= (uint8_t)~(3u << (bit % 8));
}

void svm_init(void)
{
	spin_lock(&svm_lock);
	if (svm_ready) {
		spin_unlock(&svm_lock);
		return;
	}
	uint32_t max_ext = cpuid(0x80000000, 0).eax;
	uint32_t ext1_ecx = max_ext >= 0x80000001 ? cpuid(0x80000001, 0).ecx : 0;
	struct cpuid_regs svm = max_ext >= 0x8000000a ? cpuid(0x8000000a, 0) : (struct cpuid_regs){ 0 };
	uint64_t vm_cr = (ext1_ecx & CPUID_EXT1_ECX_SVM) ? rdmsr(MSR_VM_CR) : 0;
	const char *missing = svm_missing_feature(max_ext, ext1_ecx, svm.edx, vm_cr);
	if (missing) {
		spin_unlock(&svm_lock);
		panic("%s", missing);
	}
	asid_count = svm.ebx < MAX_ASIDS ? svm.ebx : MAX_ASIDS;
	max_phys_bits = max_ext >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xff) : 36;
	memset(iopm, 0xff, sizeof(iopm));
	memset(msrpm, 0xff, sizeof(msrpm));
	static const uint32_t guest_owned[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS,
		0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,   /* STAR LSTAR CSTAR SFMASK */
		0x174, 0x175, 0x176,                              /* SYSENTER_CS/ESP/EIP */
	};
	for (size_t i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++)
		msrpm_pass(guest_owned[i]);
	__atomic_store_n(&svm_ready, true, __ATOMIC_RELEASE);
	spin_unlock(&svm_lock);
	printk("kev: SVM with nested paging, %u ASIDs, NRIP save %s\n", asid_count,
	       (svm.edx & CPUID_SVM_EDX_NRIPS) ? "yes" : "no");
}

void svm_cpu_enable(void)
{
	if (!__atomic_load_n(&svm_ready, __ATOMIC_ACQUIRE))
		panic("kev: svm_cpu_enable before svm_init");
	intr_push();
	struct cpu *c = cpu_current();
	struct svm_cpu *s = &svm_cpus[c->id];
	if (!s->enabled) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME | EFER_NXE);
		wrmsr(MSR_VM_HSAVE_PA, virt_to_phys(s->hsave));
		s->enabled = true;
		c->arch_priv = s;
	}
	intr_pop();
}

hpa_t svm_cpu_host_vmcb_pa(void)
{
	struct svm_cpu *s = cpu_current()->arch_priv;
	if (!s || !s->enabled)
		panic("kev: SVM is not enabled on cpu %d", cpu_current()->id);
	return virt_to_phys(s->host_vmcb);
}

uint32_t svm_asid_alloc(void)
{
	spin_lock(&svm_lock);
	for (uint32_t a = 1; a < asid_count; a++) {
		if (!asid_used[a]) {
			asid_used[a] = 1;
			spin_unlock(&svm_lock);
			return a;
		}
	}
	spin_unlock(&svm_lock);
	return 0;
}

void svm_asid_free(uint32_t asid)
{
	spin_lock(&svm_lock);
	if (asid == 0 || asid >= asid_count || !asid_used[asid]) {
		spin_unlock(&svm_lock);
		panic("kev: freeing ASID %u, which is not allocated", asid);
	}
	asid_used[asid] = 0;
	spin_unlock(&svm_lock);
}

hpa_t svm_iopm_pa(void)
{
	return virt_to_phys(iopm);
}

hpa_t svm_msrpm_pa(void)
{
	return virt_to_phys(msrpm);
}

/* --- VMEXIT_INVALID explained ------------------------------------------------ */

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_VALID (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | (1u << 13) | (1u << 14) | (1u << 15))

struct explain {
	char *buf;
	size_t size, len;
	int broken;
};

static void rule(struct explain *x, bool broken, const char *text)
{
	if (!broken)
		return;
	x->broken++;
	if (x->len < x->size)
		x->len += ksnprintf(x->buf + x->len, x->size - x->len, "  broken rule: %s\n", text);
}

int svm_explain_invalid(const struct vmcb *vmcb, char *buf, size_t size)
{
	const struct vmcb_control_area *c = &vmcb->control;
	const struct vmcb_save_area *s = &vmcb->save;
	struct explain x = { buf, size, 0, 0 };
	if (size)
		buf[0] = '\0';
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);
	uint64_t max_pa = max_phys_bits ? (1ull << max_phys_bits) : (1ull << 36);
	rule(&x, !(c->intercept_misc2 & INTERCEPT2_VMRUN), "the VMRUN intercept bit must be set");
	rule(&x, c->asid == 0, "the ASID must not be 0 (ASID 0 is the host's)");
	rule(&x, !(s->efer & EFER_SVME), "guest EFER.SVME must be 1");
	rule(&x, s->efer & ~(uint64_t)EFER_VALID, "guest EFER must have no reserved (MBZ) bit set");
	rule(&x, !(s->cr0 & CR0_CD) && (s->cr0 & CR0_NW), "CR0.NW=1 requires CR0.CD=1");
	rule(&x, s->cr0 >> 32, "CR0 bits 63:32 must be 0");
	rule(&x, (s->efer & EFER_LMA) && (s->cr3 >> 52), "CR3 bits 63:52 must be 0 in long mode");
	rule(&x, s->cr4 >> 32, "CR4 bits 63:32 must be 0");
	rule(&x, s->dr6 >> 32, "DR6 bits 63:32 must be 0");
	rule(&x, s->dr7 >> 32, "DR7 bits 63:32 must be 0");
	rule(&x, lme_pg && !(s->cr4 & CR4_PAE), "EFER.LME=1 with CR0.PG=1 requires CR4.PAE=1");
	rule(&x, lme_pg && !(s->cr0 & CR0_PE), "EFER.LME=1 with CR0.PG=1 requires CR0.PE=1");
	rule(&x, lme_pg && (s->cr4 & CR4_PAE) && (s->cs.attrib & SEG_ATTR_L) && (s->cs.attrib & SEG_ATTR_DB),
	     "in long mode CS.L and CS.D must not both be 1");
	rule(&x, c->iopm_base_pa + 3 * PAGE > max_pa || c->msrpm_base_pa + 2 * PAGE > max_pa,
	     "the I/O and MSR permission maps must lie below the maximum physical address");
	rule(&x, (c->event_inj & EVENT_VALID) &&
	         ((c->event_inj & (7u << EVENT_TYPE_SHIFT)) == (1u << EVENT_TYPE_SHIFT) ||
	          (c->event_inj & (7u << EVENT_TYPE_SHIFT)) > EVENT_TYPE_SOFT ||
	          ((c->event_inj & (7u << EVENT_TYPE_SHIFT)) == EVENT_TYPE_EXCEPT &&
	           (c->event_inj & EVENT_VECTOR_MASK) == 2)),
	     "an injected event must have a valid type and vector");
	rule(&x, (c->nested_ctl & NESTED_CTL_NP_ENABLE) && (c->nested_cr3 >= max_pa || (c->nested_cr3 & 0xfff)),
	     "nested_cr3 must be a page-aligned address below the maximum physical address");
	if (!x.broken && x.len < size)
		ksnprintf(buf, size, "  no known consistency rule is broken (look for a rule this list lacks)\n");
	return x.broken;
}
