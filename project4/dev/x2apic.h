/* The x2APIC device: one local APIC per vCPU, reached through MSRs, whose
 * timer runs in TSC-deadline mode on a host hrtimer. Mechanism, registers
 * and every guest error in x2apic.c; it reaches kev through
 * kev/device_hooks.h (MSRs, CPUID features, the destroy hook). */
#ifndef PROJECT4_DEV_X2APIC_H
#define PROJECT4_DEV_X2APIC_H
#include "kev/types.h"
#include "kev/vm.h"
#include "kev/device_hooks.h"
#include "keos/sync/spinlock.h"
#include "keos/thread/hrtimer.h"

struct vcpu;

/* The MSRs the device owns (x2APIC register n is MSR 0x800 + n / 16). */
#define X2APIC_MSR_APIC_BASE     0x1b
#define X2APIC_MSR_ID            0x802
#define X2APIC_MSR_TPR           0x808
#define X2APIC_MSR_EOI           0x80b
#define X2APIC_MSR_SVR           0x80f
#define X2APIC_MSR_ICR           0x830
#define X2APIC_MSR_LVT_TIMER     0x832
#define X2APIC_MSR_LVT_LINT0     0x835
#define X2APIC_MSR_LVT_LINT1     0x836
#define X2APIC_MSR_TSC_DEADLINE  0x6e0
/* x2APIC registers are MSRs 0x800-0x8ff. */
#define X2APIC_MSR_FIRST         0x800
#define X2APIC_MSR_LAST          0x8ff

/* IA32_APIC_BASE. */
#define APIC_BASE_BSP            (1ull << 8)     /* read-only: vCPU 0 */
#define APIC_BASE_EXTD           (1ull << 10)    /* x2APIC mode (with EN) */
#define APIC_BASE_EN             (1ull << 11)    /* the APIC is enabled */
#define APIC_BASE_ADDR_MASK      0x000ffffffffff000ull
#define APIC_BASE_ADDR           0xfee00000ull   /* the only base the device accepts */

/* Spurious-interrupt vector register. */
#define SVR_VECTOR_MASK          0xffu
#define SVR_ENABLE               (1u << 8)       /* APIC software enable */
#define SVR_WRITABLE             (SVR_VECTOR_MASK | SVR_ENABLE)

/* Local vector table entries. */
#define LVT_VECTOR_MASK          0xffu
#define LVT_DELIVERY_MODE_MASK   (7u << 8)       /* LINT0/LINT1 only */
#define LVT_POLARITY             (1u << 13)      /* LINT0/LINT1 only */
#define LVT_LEVEL_TRIGGERED      (1u << 15)      /* LINT0/LINT1 only */
#define LVT_MASKED               (1u << 16)
#define LVT_TIMER_MODE_MASK      (3u << 17)
#define LVT_TIMER_ONE_SHOT       (0u << 17)
#define LVT_TIMER_PERIODIC       (1u << 17)
#define LVT_TIMER_TSC_DEADLINE   (2u << 17)
#define LVT_TIMER_WRITABLE       (LVT_VECTOR_MASK | LVT_MASKED | LVT_TIMER_MODE_MASK)
#define LVT_LINT_WRITABLE        (LVT_VECTOR_MASK | LVT_DELIVERY_MODE_MASK | LVT_POLARITY | \
                                  LVT_LEVEL_TRIGGERED | LVT_MASKED)

/* Task priority: bits 7:0. */
#define TPR_WRITABLE             0xffu

/* Interrupt command register (64 bits in x2APIC mode). */
#define ICR_VECTOR_MASK          0xffull
#define ICR_DELIVERY_MODE_MASK   (7ull << 8)
#define ICR_DELIVERY_FIXED       (0ull << 8)
#define ICR_DELIVERY_LOWEST      (1ull << 8)
#define ICR_DELIVERY_SMI         (2ull << 8)
#define ICR_DELIVERY_RESERVED3   (3ull << 8)
#define ICR_DELIVERY_NMI         (4ull << 8)
#define ICR_DELIVERY_INIT        (5ull << 8)
#define ICR_DELIVERY_STARTUP     (6ull << 8)
#define ICR_DELIVERY_RESERVED7   (7ull << 8)
#define ICR_DEST_LOGICAL         (1ull << 11)
#define ICR_LEVEL_ASSERT         (1ull << 14)
#define ICR_LEVEL_TRIGGERED      (1ull << 15)
#define ICR_SHORTHAND_MASK       (3ull << 18)
#define ICR_SHORTHAND_NONE       (0ull << 18)
#define ICR_SHORTHAND_SELF       (1ull << 18)
#define ICR_SHORTHAND_ALL        (2ull << 18)
#define ICR_SHORTHAND_OTHERS     (3ull << 18)
#define ICR_RESERVED             0xfff33000ull   /* bits 12, 13, 16, 17, 20-31 */
#define ICR_DEST_SHIFT           32
#define ICR_DEST_BROADCAST       0xffffffffu

/* The first vector an interrupt may use (0-15 are exceptions). */
#define X2APIC_FIRST_VECTOR      16

/* One vCPU's local APIC. */
struct x2apic_lapic {
	/* The fields below; taken by the MSR handler (the vCPU's thread) and
	 * by the timer callback (an interrupt on the vCPU's CPU). */
	struct spinlock lock;
	struct vcpu *vcpu;
	uint64_t apic_base;
	uint32_t svr;
	uint32_t lvt_timer;
	uint32_t lvt_lint0;
	uint32_t lvt_lint1;
	uint64_t icr;                /* the last IPI sent, as read back */
	/* The armed deadline; 0 when disarmed or fired. */
	uint64_t tsc_deadline;
	/* Armed on the vCPU's CPU for tsc_deadline; after a disarm it may still
	 * fire once and then finds tsc_deadline 0. */
	struct hrtimer timer;
};

struct x2apic {
	struct vm *vm;               /* set by a successful attach */
	unsigned nvcpus;
	struct x2apic_lapic lapic[KEV_MAX_VCPUS];
};

enum x2apic_error {
	X2APIC_OK = 0,
	X2APIC_ERR_ATTACHED,         /* attach called again on an attached device */
	X2APIC_ERR_REGISTER,         /* kev refused a registration (the VM runs, or its tables are full) */
};

/* A device whose local APICs are in the power-on state; NULL (with a console line) when memory is short. */
struct x2apic *x2apic_new(void);
/* Cancels the timers and frees the device; after the VM is destroyed (or was never attached). */
void x2apic_free(struct x2apic *dev);
/* Binds one local APIC to each vCPU of vm and registers the MSRs, the CPUID features and the destroy hook; before vm_run, once. */
enum x2apic_error x2apic_attach(struct x2apic *dev, struct vm *vm);
/* The MSR handler (vm_msr_handler, ctx = the device): one RDMSR or WRMSR of vCPU v. */
enum vm_msr_result x2apic_msr(struct vcpu *v, uint32_t index, bool write, uint64_t *value, void *ctx);
/* The timer callback (arg = the local APIC): the TSC reached its deadline. */
void x2apic_timer_expired(void *arg);
/* The CPUID hook (ctx = the device): advertises x2APIC and TSC-deadline in leaf 1. */
void x2apic_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r, void *ctx);
/* The destroy hook (ctx = the device): cancels every local APIC's timer. */
void x2apic_stop_timers(void *ctx);
/* A short English name for an attach error. */
const char *x2apic_strerror(enum x2apic_error e);
#endif
