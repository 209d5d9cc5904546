/* Lazy x87/SSE switching between vCPUs.
 *
 * VMRUN and #VMEXIT leave the x87/SSE registers alone, and keos never uses
 * them (it is built without SSE): between two runs of the same vCPU on a CPU
 * the registers still hold that vCPU's values. So each CPU remembers which
 * vCPU's values it holds (fpu_owner), and only when a different vCPU is
 * about to run there does it FXSAVE the owner's registers into the owner's
 * area and FXRSTOR the newcomer's. The switch runs with interrupts off, just
 * before VMRUN, so no other vCPU thread can run on this CPU in between; a
 * vCPU thread is pinned, so a vCPU is the owner on at most one CPU. The
 * single-vCPU exit path costs one comparison.
 *
 * When a vCPU thread ends (normally or killed by a fault), it saves its
 * registers and loads the power-on state, so the CPU holds nothing of it and
 * no owner pointer outlives the vCPU. FXSAVE64 includes XMM0-15 because
 * every CPU runs with CR4.OSFXSR set (keos/arch/cpu.c). */
#include "kev/vcpu_fpu.h"
#include "kev/vcpu.h"
#include "keos/arch/cpu.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include <string.h>

#define FXSAVE_BYTES 512
#define FCW_POWER_ON 0x037f      /* all x87 exceptions masked, 64-bit precision */
#define MXCSR_POWER_ON 0x1f80    /* all SSE exceptions masked */

static struct vcpu *fpu_owner[MAX_CPUS];
/* FCW (bytes 0-1) and MXCSR (bytes 24-27) at their power-on values, the rest 0. */
static const uint8_t power_on_state[FXSAVE_BYTES] __attribute__((aligned(16))) = {
	[0] = FCW_POWER_ON & 0xff, [1] = FCW_POWER_ON >> 8,
	[24] = MXCSR_POWER_ON & 0xff, [25] = MXCSR_POWER_ON >> 8,
};

static void fxsave(void *area)
{
	__asm__ volatile("fxsave64 (%0)" :: "r"(area) : "memory");
}

static void fxrstor(const void *area)
{
	__asm__ volatile("fxrstor64 (%0)" :: "r"(area) : "memory");
}

bool vcpu_fpu_init(struct vcpu *v)
{
	v->fxsave = page_alloc();
	if (!v->fxsave)
		return false;
	memcpy(v->fxsave, power_on_state, FXSAVE_BYTES);
	return true;
}

void vcpu_fpu_free(struct vcpu *v)
{
	if (v->fxsave)
		page_free(v->fxsave);
	v->fxsave = NULL;
}

void vcpu_fpu_enter(struct vcpu *v)
{
	struct vcpu **owner = &fpu_owner[cpu_current()->id];
	if (*owner == v)
		return;
	if (*owner)
		fxsave((*owner)->fxsave);
	fxrstor(v->fxsave);
	*owner = v;
	v->stats.fpu_switches++;
}

void vcpu_fpu_release(struct vcpu *v)
{
	struct vcpu **owner = &fpu_owner[cpu_current()->id];
	if (*owner != v)
		return;
	fxsave(v->fxsave);
	fxrstor(power_on_state);
	*owner = NULL;
}
