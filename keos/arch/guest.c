/* kev detection through the CPUID signature leaf (keos/arch/kev_abi.h). */
#include "keos/arch/guest.h"
#include "keos/arch/kev_abi.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"

static bool is_guest;
static uint64_t tsc_per_tick;
static int vcpus;

bool guest_detect(void)
{
	struct cpuid_regs sig = cpuid(KEV_CPUID_SIGNATURE_LEAF, 0);
	is_guest = sig.ebx == KEV_CPUID_SIGNATURE_EBX && sig.ecx == KEV_CPUID_SIGNATURE_ECX &&
	           sig.edx == KEV_CPUID_SIGNATURE_EDX && sig.eax >= KEV_CPUID_INFO_LEAF;
	if (is_guest) {
		struct cpuid_regs info = cpuid(KEV_CPUID_INFO_LEAF, 0);
		tsc_per_tick = (uint64_t)info.eax * 1000 / TIMER_HZ;
		if (tsc_per_tick == 0)
			tsc_per_tick = 1;
		vcpus = info.ebx ? (int)info.ebx : 1;
	}
	return is_guest;
}

bool keos_is_guest(void)
{
	return is_guest;
}

uint64_t guest_tsc_per_tick(void)
{
	return tsc_per_tick;
}

int guest_vcpu_count(void)
{
	return vcpus;
}
