/* Each vCPU's own x87/SSE registers (kev/vcpu_fpu.c). */
#ifndef KEV_VCPU_FPU_H
#define KEV_VCPU_FPU_H
#include <stdbool.h>

struct vcpu;

/* Gives v its FXSAVE area in the power-on state; false when out of memory. */
bool vcpu_fpu_init(struct vcpu *v);
/* Frees v's FXSAVE area (its thread has ended). */
void vcpu_fpu_free(struct vcpu *v);
/* Before VMRUN, interrupts off: makes the CPU's x87/SSE registers v's. */
void vcpu_fpu_enter(struct vcpu *v);
/* When v's thread ends, interrupts off: saves v's registers if this CPU holds
 * them and loads the power-on state, so nothing of v stays in the CPU. */
void vcpu_fpu_release(struct vcpu *v);
#endif
