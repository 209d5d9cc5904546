/* The decoder-versus-Zydis comparison (see mmio_zydis.h).
 *
 * zydis_expect() turns Zydis's decode into the struct mmio_insn ours must
 * produce (or the refusal it must return); first_difference() names the
 * first field where the two differ. */
#include "tests/host/mmio_zydis.h"
#include <stdio.h>
#include <string.h>

struct expectation {
	bool supported;                /* Zydis sees one of our MOV/MOVZX with memory */
	enum mmio_decode_error err;    /* what ours must return when supported */
	struct mmio_insn insn;         /* the fields, when err is OK */
};

bool mmio_zydis_init(struct mmio_zydis *z, enum mmio_cpu_mode mode)
{
	/* Compatibility mode, as kev guests run 32/16-bit code; for these MOV
	 * forms legacy and real mode decode the same. */
	ZydisMachineMode m = mode == MMIO_MODE_64 ? ZYDIS_MACHINE_MODE_LONG_64
	                   : mode == MMIO_MODE_32 ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32
	                   : ZYDIS_MACHINE_MODE_LONG_COMPAT_16;
	ZydisStackWidth w = mode == MMIO_MODE_64 ? ZYDIS_STACK_WIDTH_64
	                  : mode == MMIO_MODE_32 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16;
	z->mode = mode;
	return ZYAN_SUCCESS(ZydisDecoderInit(&z->dec, m, w));
}

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Maps a Zydis general-purpose register to (number, high-byte, width). */
static bool zydis_gpr(ZydisRegister r, uint8_t *num, bool *high, uint8_t *width)
{
	*high = false;
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BH) {
		*num = (uint8_t)(r - ZYDIS_REGISTER_AL);
		*high = r >= ZYDIS_REGISTER_AH;
		*width = 1;
	} else if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_R15B) {
		*num = (uint8_t)(4 + (r - ZYDIS_REGISTER_SPL));
		*width = 1;
	} else if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W) {
		*num = (uint8_t)(r - ZYDIS_REGISTER_AX);
		*width = 2;
	} else if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D) {
		*num = (uint8_t)(r - ZYDIS_REGISTER_EAX);
		*width = 4;
	} else if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) {
		*num = (uint8_t)(r - ZYDIS_REGISTER_RAX);
		*width = 8;
	} else {
		return false;
	}
	return true;
}

/* An address register as ours names it; 0xee (never ours) if it is not a
 * general-purpose register of the address size. */
static uint8_t zydis_addr_reg(ZydisRegister r, unsigned addr_size)
{
	uint8_t num, width;
	bool high;
	if (r == ZYDIS_REGISTER_NONE || r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP)
		return MMIO_NO_REG;
	if (!zydis_gpr(r, &num, &high, &width) || width != addr_size)
		return 0xee;
	return num;
}

static uint8_t zydis_segment(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES: return MMIO_SEG_ES;
	case ZYDIS_REGISTER_CS: return MMIO_SEG_CS;
	case ZYDIS_REGISTER_SS: return MMIO_SEG_SS;
	case ZYDIS_REGISTER_DS: return MMIO_SEG_DS;
	case ZYDIS_REGISTER_FS: return MMIO_SEG_FS;
	case ZYDIS_REGISTER_GS: return MMIO_SEG_GS;
	default: return 0xee;
	}
}

static bool supported_opcode(const ZydisDecodedInstruction *zi)
{
	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return false;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_0F)
		return zi->mnemonic == ZYDIS_MNEMONIC_MOVZX && (zi->opcode == 0xb6 || zi->opcode == 0xb7);
	if (zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT || zi->mnemonic != ZYDIS_MNEMONIC_MOV)
		return false;
	switch (zi->opcode) {
	case 0x88: case 0x89: case 0x8a: case 0x8b: case 0xc6: case 0xc7: return true;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: return true;   /* moffs */
	default: return false;
	}
}

/* The refusal the raw prefixes call for, in the decoder's order. */
static enum mmio_decode_error expected_refusal(const ZydisDecodedInstruction *zi)
{
	bool lock_rep = false, conflict = false;
	int seg = -1;
	for (unsigned k = 0; k < zi->raw.prefix_count; k++) {
		uint8_t p = zi->raw.prefixes[k].value;
		int s = p == 0x26 ? MMIO_SEG_ES : p == 0x2e ? MMIO_SEG_CS : p == 0x36 ? MMIO_SEG_SS
		      : p == 0x3e ? MMIO_SEG_DS : p == 0x64 ? MMIO_SEG_FS : p == 0x65 ? MMIO_SEG_GS : -1;
		lock_rep |= p == 0xf0 || p == 0xf2 || p == 0xf3;
		if (s >= 0) {
			conflict |= seg >= 0 && seg != s;
			seg = s;
		}
	}
	return lock_rep ? MMIO_DECODE_LOCK_REP : conflict ? MMIO_DECODE_SEGMENT_CONFLICT
	                                                 : MMIO_DECODE_OK;
}

static struct expectation zydis_expect(const struct mmio_zydis *z, const uint8_t *b, size_t n)
{
	struct expectation x;
	memset(&x, 0, sizeof(x));
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&z->dec, b, n, &zi, ops)) || !supported_opcode(&zi))
		return x;

	const ZydisDecodedOperand *mem = NULL, *reg = NULL, *imm = NULL;
	for (unsigned k = 0; k < zi.operand_count_visible; k++) {
		if (ops[k].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[k].mem.type == ZYDIS_MEMOP_TYPE_MEM)
			mem = &ops[k];
		else if (ops[k].type == ZYDIS_OPERAND_TYPE_REGISTER)
			reg = &ops[k];
		else if (ops[k].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			imm = &ops[k];
	}
	if (!mem)
		return x;
	x.supported = true;
	x.err = expected_refusal(&zi);

	struct mmio_insn *in = &x.insn;
	in->mode = z->mode;
	in->length = zi.length;
	in->size = (uint8_t)(mem->size / 8);
	in->dir = (mem->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) ? MMIO_WRITE : MMIO_READ;
	if (reg) {
		uint8_t width = 0;
		if (!zydis_gpr(reg->reg.value, &in->reg, &in->high_byte, &width))
			in->reg = 0xee;
		if (in->dir == MMIO_READ)
			in->reg_size = width;
	}
	if (imm) {
		in->has_imm = true;
		in->imm = imm->imm.value.u & mask_of(in->size);
	}
	struct mmio_mem_operand *m = &in->mem;
	m->addr_size = (uint8_t)(zi.address_width / 8);
	m->rip_relative = mem->mem.base == ZYDIS_REGISTER_RIP || mem->mem.base == ZYDIS_REGISTER_EIP;
	m->base = zydis_addr_reg(mem->mem.base, m->addr_size);
	m->index = zydis_addr_reg(mem->mem.index, m->addr_size);
	m->scale = mem->mem.scale;
	m->seg = zydis_segment(mem->mem.segment);
	if (zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && zi.opcode >= 0xa0 && zi.opcode <= 0xa3) {
		m->absolute = true;
		m->abs = (uint64_t)mem->mem.disp.value & mask_of(m->addr_size);
	} else {
		m->disp = (int32_t)mem->mem.disp.value;
	}
	/* Zydis 4.0.0 decodes 67 + REX.B + SIB base 101 with mod 00 in 64-bit
	 * mode as [r13d + ...] without the displacement, although it counts the
	 * disp32 in the length. The SDM (vol. 2, table 2-5) and QEMU read it as
	 * no base plus disp32, whatever REX.B and the address size say. */
	if (z->mode == MMIO_MODE_64 && m->addr_size == 4 && zi.raw.modrm.mod == 0 &&
	    zi.raw.modrm.rm == 4 && zi.raw.sib.base == 5 && zi.raw.disp.size == 32) {
		m->base = MMIO_NO_REG;
		m->disp = (int32_t)zi.raw.disp.value;
	}
	return x;
}

/* What a segment means for the address: in 64-bit mode only FS and GS. */
static unsigned segment_key(enum mmio_cpu_mode mode, unsigned seg)
{
	if (mode == MMIO_MODE_64 && seg != MMIO_SEG_FS && seg != MMIO_SEG_GS)
		return 0x100;
	return seg;
}

/* The first field where ours (a) and Zydis's (z) differ, or NULL. */
static const char *first_difference(const struct mmio_insn *a, const struct mmio_insn *z)
{
	const struct mmio_mem_operand *am = &a->mem, *zm = &z->mem;
	uint64_t dmask = mask_of(am->addr_size);
	if (a->length != z->length) return "length";
	if (a->size != z->size) return "access size";
	if (a->dir != z->dir) return "direction";
	if (am->addr_size != zm->addr_size) return "address size";
	if (am->absolute != zm->absolute) return "moffs";
	if (am->abs != zm->abs) return "moffs address";
	if (am->base != zm->base) return "base register";
	if (am->index != zm->index) return "index register";
	if (am->index != MMIO_NO_REG && am->scale != zm->scale) return "scale";
	if (am->rip_relative != zm->rip_relative) return "rip-relative";
	/* A disp16 is sign- or zero-extended depending on the decoder: only the
	 * bits inside the address size reach the address. */
	if (((uint64_t)(int64_t)am->disp & dmask) != ((uint64_t)(int64_t)zm->disp & dmask))
		return "displacement";
	if (segment_key(a->mode, am->seg) != segment_key(z->mode, zm->seg)) return "segment";
	if (a->has_imm != z->has_imm) return "immediate or register source";
	if (a->has_imm)
		return a->imm == z->imm ? NULL : "immediate";
	if (a->reg != z->reg) return "register";
	if (a->high_byte != z->high_byte) return "high-byte register";
	if (a->dir == MMIO_READ && a->reg_size != z->reg_size) return "register size";
	return NULL;
}

enum mmio_zydis_verdict mmio_zydis_compare(const struct mmio_zydis *z, const uint8_t *b, size_t n,
                                           char *why, size_t why_size)
{
	struct expectation x = zydis_expect(z, b, n);
	struct mmio_insn ours;
	memset(&ours, 0, sizeof(ours));
	enum mmio_decode_error e = mmio_decode(b, n, z->mode, &ours);
	if (!x.supported) {
		if (e == MMIO_DECODE_OK) {
			snprintf(why, why_size, "accepted what Zydis does not see as a supported MOV");
			return MMIO_ZYDIS_MISMATCH;
		}
		return MMIO_ZYDIS_BOTH_REJECT;
	}
	if (e != x.err) {
		snprintf(why, why_size, "ours says \"%s\", expected \"%s\"", mmio_decode_strerror(e),
		         mmio_decode_strerror(x.err));
		return MMIO_ZYDIS_MISMATCH;
	}
	if (e != MMIO_DECODE_OK)
		return MMIO_ZYDIS_SAME_REFUSAL;
	const char *diff = first_difference(&ours, &x.insn);
	if (diff) {
		snprintf(why, why_size, "%s differs", diff);
		return MMIO_ZYDIS_MISMATCH;
	}
	return MMIO_ZYDIS_SAME_DECODE;
}
