/* The hypercall interface: VMMCALL from the guest.
 *
 * RAX holds the number, RDI, RSI, RDX, R10 the arguments (the Linux system
 * call order); the result comes back in RAX, every other register is
 * preserved. A number no controller knows stops the VM with a report (a
 * controller added to the chain may define more: kev/vmexit.h). Only the
 * guest kernel may call: from guest user mode (CPL > 0) every call returns
 * KEV_HC_EPERM and does nothing. This header is shared with guest assembly
 * (tests/guests/). */
#ifndef KEV_HYPERCALL_H
#define KEV_HYPERCALL_H

#define KEV_HC_NOP        0   /* returns 0: the cheapest exit (the benchmark's) */
#define KEV_HC_VERSION    1   /* returns KEV_HC_ABI_VERSION */
#define KEV_HC_SUM        2   /* returns a0 + 2*a1 + 3*a2 + 4*a3 (checks argument order) */
#define KEV_HC_PUTS       3   /* prints a1 bytes at guest-virtual a0 on the VM's console; returns a1, or KEV_HC_EFAULT */
#define KEV_HC_EXIT       4   /* ends the VM with status a0 */
#define KEV_HC_VCPU_ID    5   /* returns the calling vCPU's index (0 = bootstrap) */
#define KEV_HC_START_VCPU 6   /* starts vCPU a0 at rip a1, rsp a2, with the caller's paging and segments; returns 0 or KEV_HC_EINVAL */
#define KEV_HC_EXIT_COUNT 7   /* returns the calling vCPU's #VMEXITs so far, host interrupts not counted (benchmarks) */

#define KEV_HC_ABI_VERSION 1

#define KEV_HC_EPERM   (-1)  /* called from guest user mode (CPL > 0) */
#define KEV_HC_EFAULT  (-2)
#define KEV_HC_EINVAL  (-3)

/* CPUID leaf 0x40000000 returns the highest kev leaf in EAX and this signature
 * in EBX, ECX, EDX. Leaf 0x40000001: EAX the hypercall ABI version, EBX the
 * number of vCPUs, ECX the TSC frequency in kHz (a keos guest has no timer
 * interrupt: its clock is the TSC). */
#define KEV_CPUID_SIGNATURE_LEAF 0x40000000u
#define KEV_CPUID_INFO_LEAF      0x40000001u
#define KEV_CPUID_SIGNATURE "KeVKeVKeVKeV"
#define KEV_CPUID_SIG_EBX 0x4b56654b   /* "KeVK" little-endian */
#define KEV_CPUID_SIG_ECX 0x654b5665   /* "eVKe" */
#define KEV_CPUID_SIG_EDX 0x56654b56   /* "VKeV" */
#endif
