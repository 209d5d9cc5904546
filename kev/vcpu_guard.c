/* What kev re-establishes before every entry into a guest (see vcpu_guard.h). */
#include "kev/vcpu_guard.h"
#include "kev/vmexit.h"
#include "kev/console_limit.h"

void vcpu_guard_before_vmrun(struct vcpu *v)
{
	dr_before_vmrun(v);
	kev_console_attach(v);
}
