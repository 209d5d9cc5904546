/* The interface between kev and a keos guest: how a guest recognizes kev,
 * the hypercalls it may make and the ports kev emulates. Both sides include
 * this file, so the numbers cannot drift apart. */
#ifndef KEOS_ARCH_KEV_ABI_H
#define KEOS_ARCH_KEV_ABI_H

/* CPUID leaf 0x40000000 under kev: EAX = highest kev leaf, EBX ECX EDX =
 * "KeV in C\0\0\0\0". CPUID.1:ECX bit 31 (hypervisor present) is set too,
 * but QEMU sets it as well, so only the signature identifies kev. */
#define KEV_CPUID_SIGNATURE_LEAF 0x40000000u
#define KEV_CPUID_SIGNATURE_EBX 0x2056654bu   /* "KeV " */
#define KEV_CPUID_SIGNATURE_ECX 0x43206e69u   /* "in C" */
#define KEV_CPUID_SIGNATURE_EDX 0x00000000u
/* CPUID leaf 0x40000001 under kev: EAX = TSC frequency in kHz (the guest's
 * clock: kev offers no timer interrupt), EBX = number of vCPUs. */
#define KEV_CPUID_INFO_LEAF 0x40000001u

/* Hypercalls: VMMCALL with the number in RAX and arguments in RDI, RSI,
 * RDX, RCX; the result comes back in RAX (negative: error). */
#define KEV_HC_PING       0x0u    /* returns RDI + 1 */
#define KEV_HC_START_CPU  0x1u    /* RDI vCPU index, RSI 64-bit entry RIP, RDX RSP, RCX value for RDI;
                                     the vCPU starts in 64-bit mode with the caller's CR0/CR3/CR4/EFER */
#define KEV_HC_ERR_INVALID (-1l)

/* Ports kev emulates for a guest (all others are a VM error). */
#define KEV_PORT_EXIT     0xf4    /* 32-bit OUT: ends the VM; status = value (as QEMU's isa-debug-exit) */
#define KEV_PORT_EXIT_ALT 0x604   /* KeV's exit port, same meaning */
#endif
