/* Instruction lengths at RIP (see insn.h).
 *
 * Only prefixes are decoded here: every instruction kev completes is a fixed
 * opcode without a memory operand (MOV DR's ModRM is always a register), so
 * its length is the prefixes plus the opcode. */
#include "kev/insn.h"
#include "kev/vcpu.h"
#include "kev/vmcb.h"
#include "keos/arch/x86.h"
#include "keos/lib/format.h"

const struct insn_form insn_cpuid = { "CPUID", { 0x0f, 0xa2 }, 2 };
const struct insn_form insn_rdmsr = { "RDMSR", { 0x0f, 0x32 }, 2 };
const struct insn_form insn_wrmsr = { "WRMSR", { 0x0f, 0x30 }, 2 };
const struct insn_form insn_vmmcall = { "VMMCALL", { 0x0f, 0x01, 0xd9 }, 3 };
const struct insn_form insn_hlt = { "HLT", { 0xf4 }, 1 };
const struct insn_form insn_rdpmc = { "RDPMC", { 0x0f, 0x33 }, 2 };

enum insn_mode insn_mode(const struct vcpu *v)
{
	uint16_t attrib = v->vmcb->save.cs.attrib;
	if ((v->state.efer & EFER_LMA) && (attrib & SEG_ATTR_L))
		return INSN_MODE_64;
	return (attrib & SEG_ATTR_DB) ? INSN_MODE_32 : INSN_MODE_16;
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0xf0: case 0xf2: case 0xf3:                  /* lock, repne, rep */
	case 0x2e: case 0x36: case 0x3e: case 0x26:       /* cs ss ds es */
	case 0x64: case 0x65:                             /* fs gs */
	case 0x66: case 0x67:                             /* operand, address size */
		return true;
	default:
		return false;
	}
}

void insn_scan_prefixes(const uint8_t *bytes, size_t n, enum insn_mode mode, struct insn_prefixes *p)
{
	*p = (struct insn_prefixes){ 0 };
	for (; p->len < n; p->len++) {
		uint8_t b = bytes[p->len];
		if (mode == INSN_MODE_64 && (b & 0xf0) == 0x40) {
			p->rex = b;          /* a later REX replaces an earlier one */
			continue;
		}
		if (!is_legacy_prefix(b))
			return;
		p->rex = 0;              /* a REX not right before the opcode is ignored */
		if (b == 0xf0)
			p->lock = true;
		else if (b == 0x66)
			p->opsize = true;
	}
}

size_t insn_fetch(struct vcpu *v, uint8_t *buf)
{
	return vcpu_fetch_insn(v, buf, INSN_MAX_LEN);
}

void insn_fail_changed(struct vcpu *v, const char *what, const uint8_t *bytes, size_t n)
{
	char hex[3 * INSN_MAX_LEN + 1] = "";
	for (size_t i = 0, at = 0; i < n && i < INSN_MAX_LEN; i++)
		at += (size_t)ksnprintf(hex + at, sizeof(hex) - at, i ? " %02x" : "%02x", bytes[i]);
	if (n == 0)
		vcpu_fail(v, VM_ERR_DECODE, "the %s that exited at rip 0x%lx cannot be read back "
		          "(the guest unmapped its code under the exit)", what, v->state.rip);
	else
		vcpu_fail(v, VM_ERR_DECODE, "the bytes at rip 0x%lx (%s) are not the %s that exited: "
		          "the guest changed its code or page tables under the exit", v->state.rip, hex, what);
}

unsigned insn_length(struct vcpu *v, const struct insn_form *form)
{
	uint8_t bytes[INSN_MAX_LEN];
	size_t n = insn_fetch(v, bytes);
	struct insn_prefixes p;
	insn_scan_prefixes(bytes, n, insn_mode(v), &p);
	bool same = p.len + form->opcode_len <= n;
	for (unsigned i = 0; same && i < form->opcode_len; i++)
		same = bytes[p.len + i] == form->opcode[i];
	if (!same) {
		insn_fail_changed(v, form->name, bytes, n);
		return 0;
	}
	return p.len + form->opcode_len;
}

void insn_skip(struct vcpu *v, unsigned len)
{
	enum insn_mode mode = insn_mode(v);
	vcpu_skip(v, len);
	if (mode == INSN_MODE_32)
		v->state.rip = (uint32_t)v->state.rip;
	else if (mode == INSN_MODE_16)
		v->state.rip = (uint16_t)v->state.rip;
}

bool insn_complete(struct vcpu *v, const struct insn_form *form)
{
	unsigned len = insn_length(v, form);
	if (!len)
		return false;
	insn_skip(v, len);
	return true;
}
