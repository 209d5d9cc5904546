/* kev detection through the CPUID signature leaf (kev/hypercall.h). QEMU
 * sets the hypervisor-present bit itself, so only kev's signature counts.
 * The x2APIC timer is used only when leaf 1 shows both x2APIC (ECX bit 21)
 * and TSC-deadline (ECX bit 24): kev shows them only to a VM with the device. */
#include "keos/arch/guest.h"
#include "keos/arch/x86.h"
#include "keos/thread/thread.h"
#include "kev/hypercall.h"
#include "kev/device_hooks.h"

static bool is_guest;
static uint64_t tsc_per_tick;
static int vcpus;
static bool x2apic_timer;

bool guest_detect(void)
{
	struct cpuid_regs sig = cpuid(KEV_CPUID_SIGNATURE_LEAF, 0);
	is_guest = sig.ebx == KEV_CPUID_SIG_EBX && sig.ecx == KEV_CPUID_SIG_ECX &&
	           sig.edx == KEV_CPUID_SIG_EDX && sig.eax >= KEV_CPUID_INFO_LEAF;
	if (is_guest) {
		struct cpuid_regs info = cpuid(KEV_CPUID_INFO_LEAF, 0);
		vcpus = info.ebx ? (int)info.ebx : 1;
		tsc_per_tick = (uint64_t)info.ecx * 1000 / TIMER_HZ;
		if (tsc_per_tick == 0)
			tsc_per_tick = 1;
		uint32_t need = CPUID_LEAF1_ECX_X2APIC | CPUID_LEAF1_ECX_TSC_DEADLINE;
		x2apic_timer = (cpuid(1, 0).ecx & need) == need;
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

bool guest_has_x2apic_timer(void)
{
	return x2apic_timer;
}

int guest_vcpu_count(void)
{
	return vcpus;
}

long guest_hypercall(long nr, long a0, long a1, long a2)
{
	long ret;
	__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	return ret;
}
