/* What kev re-establishes before every entry into a guest.
 *
 * The vCPU loop calls vcpu_guard_before_vmrun() right before VMRUN, on the
 * vCPU's own thread:
 *   - the DR7 that VMRUN loads is one that arms nothing (kev/vmexit/dr.c:
 *     the guest's debug registers are emulated, never loaded);
 *   - the thread carries the vCPU's console hook (kev/console_limit.h), so
 *     what device code prints for this VM is bounded and recorded. */
#ifndef KEV_VCPU_GUARD_H
#define KEV_VCPU_GUARD_H

struct vcpu;

/* Prepares v's VMCB and thread for VMRUN (see above); cheap when nothing changed. */
void vcpu_guard_before_vmrun(struct vcpu *v);
#endif
