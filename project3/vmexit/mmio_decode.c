/* x86-64 decoder for the MOV forms a guest uses on device registers: MOV
 * r/m,r (88/89), MOV r,r/m (8A/8B), MOV r/m,imm (C6/C7), MOVZX (0F B6/B7),
 * and MOV between the accumulator and a 64-bit absolute address (A0-A3),
 * which compilers emit for a constant address.
 *
 * An instruction is read in the order the CPU reads it (Intel SDM vol. 2,
 * ch. 2; AMD APM vol. 3, ch. 1):
 *
 *   legacy prefixes*  REX?  opcode (1 byte, or 0F + 1)  ModRM  SIB?  disp?  imm?
 *
 * Invariants the code keeps:
 *  - No byte at or past min(avail, 15) is ever read. Running into that bound
 *    is TRUNCATED when the caller gave fewer than 15 bytes, TOO_LONG otherwise.
 *  - A REX byte counts only when it is the last prefix before the opcode; a
 *    legacy prefix after it makes the CPU ignore it, so every legacy prefix
 *    forgets the REX seen so far. An ignored REX also does not turn AH..BH into
 *    SPL..DIL.
 *  - Operand size: 8-bit opcodes ignore 66 and REX.W; otherwise REX.W gives 8
 *    bytes, else 66 gives 2, else 4.
 *  - Sizes are in bytes everywhere (KeV mixed bits and bytes), and an 8-bit
 *    immediate is read as exactly one byte.
 *  - Refused prefixes (F0/F2/F3, 67, 64/65) are collected while scanning and
 *    reported only after the opcode and operands parsed, so the error names the
 *    prefix only when the instruction is otherwise one we know.
 *
 * The effective address is never computed: the #NPF exit supplies the GPA.
 * ModRM/SIB/displacement are still decoded in full because the length must be
 * exact to advance RIP. */
#include "project3/vmexit/mmio_decode.h"
#include <string.h>

/* What an opcode means before its ModRM is seen. */
struct opcode_form {
	enum mmio_direction dir;
	bool byte_op;          /* access and register operand are 8-bit */
	bool has_imm;          /* C6/C7: immediate source, ModRM.reg must be 0 */
	uint8_t movzx_size;    /* 0F B6/B7: memory size 1/2, register is full width */
};

static enum mmio_decode_error out_of_bytes(size_t avail)
{
	return avail >= MMIO_INSN_MAX_LEN ? MMIO_DECODE_TOO_LONG : MMIO_DECODE_TRUNCATED;
}

/* Little-endian, byte by byte: the guest bytes need not be aligned. */
static uint32_t read_le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;
	for (unsigned k = 0; k < n; k++)
		v |= (uint32_t)p[k] << (8 * k);
	return v;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static bool lookup_opcode(bool two_byte, uint8_t op, struct opcode_form *f)
{
	memset(f, 0, sizeof(*f));
	if (two_byte) {
		if (op != 0xb6 && op != 0xb7)
			return false;
		f->dir = MMIO_READ;
		f->movzx_size = op == 0xb6 ? 1 : 2;
		return true;
	}
	switch (op) {
	case 0x88: f->dir = MMIO_WRITE; f->byte_op = true; return true;
	case 0x89: f->dir = MMIO_WRITE; return true;
	case 0x8a: f->dir = MMIO_READ; f->byte_op = true; return true;
	case 0x8b: f->dir = MMIO_READ; return true;
	case 0xc6: f->dir = MMIO_WRITE; f->byte_op = true; f->has_imm = true; return true;
	case 0xc7: f->dir = MMIO_WRITE; f->has_imm = true; return true;
	default: return false;
	}
}

/* The refused prefixes, in the order they are reported; OK if none. */
static enum mmio_decode_error refused_prefix(bool lock_rep, bool addr32, bool fsgs)
{
	if (lock_rep)
		return MMIO_DECODE_LOCK_REP;
	if (addr32)
		return MMIO_DECODE_ADDRESS_SIZE;
	if (fsgs)
		return MMIO_DECODE_SEGMENT_BASE;
	return MMIO_DECODE_OK;
}

/* MOV between the accumulator and a 64-bit absolute address (A0-A3, "moffs"):
 * no ModRM, an 8-byte address after the opcode. Compilers emit it for a store
 * to a constant address, e.g. a device register in the direct map. i is the
 * opcode's index, size the operand size the prefixes give. */
static enum mmio_decode_error decode_moffs(const uint8_t *b, size_t avail, size_t lim, size_t i,
                                           uint8_t op, unsigned size, struct mmio_insn *out)
{
	if (i + 1 + 8 > lim)
		return out_of_bytes(avail);
	uint64_t addr = (uint64_t)read_le(b + i + 1, 4) | (uint64_t)read_le(b + i + 5, 4) << 32;
	bool byte_op = op == 0xa0 || op == 0xa2;
	memset(out, 0, sizeof(*out));
	out->length = (uint8_t)(i + 1 + 8);
	out->dir = op <= 0xa1 ? MMIO_READ : MMIO_WRITE;
	out->size = out->reg_size = (uint8_t)(byte_op ? 1 : size);
	out->reg = GPR_RAX;
	out->mem = (struct mmio_mem_operand){ .base = MMIO_NO_REG, .index = MMIO_NO_REG, .scale = 1,
	                                      .absolute = true, .abs = addr };
	return MMIO_DECODE_OK;
}

enum mmio_decode_error mmio_decode(const uint8_t *b, size_t avail, struct mmio_insn *out)
{
	size_t lim = avail < MMIO_INSN_MAX_LEN ? avail : MMIO_INSN_MAX_LEN;
	size_t i = 0;
	bool opsize = false, lock_rep = false, addr32 = false, fsgs = false;
	bool have_rex = false;
	uint8_t rex = 0;

	for (;; i++) {
		if (i >= lim)
			return out_of_bytes(avail);
		uint8_t c = b[i];
		if (c >= 0x40 && c <= 0x4f) {
			have_rex = true;
			rex = c;
			continue;
		}
		if (c == 0x66)
			opsize = true;
		else if (c == 0x67)
			addr32 = true;
		else if (c == 0xf0 || c == 0xf2 || c == 0xf3)
			lock_rep = true;
		else if (c == 0x64 || c == 0x65)
			fsgs = true;
		else if (c != 0x26 && c != 0x2e && c != 0x36 && c != 0x3e)
			break;
		have_rex = false;
		rex = 0;
	}
	bool rex_w = rex & 8, rex_r = rex & 4, rex_x = rex & 2, rex_b = rex & 1;

	bool two_byte = false;
	uint8_t op = b[i++];
	if (op == 0x0f) {
		if (i >= lim)
			return out_of_bytes(avail);
		two_byte = true;
		op = b[i++];
	}
	if (!two_byte && op >= 0xa0 && op <= 0xa3) {
		/* 67 would make the address 4 bytes: refused like elsewhere. */
		enum mmio_decode_error refused = refused_prefix(lock_rep, addr32, fsgs);
		if (refused != MMIO_DECODE_OK)
			return refused;
		return decode_moffs(b, avail, lim, i - 1, op, rex_w ? 8 : opsize ? 2 : 4, out);
	}
	struct opcode_form f;
	if (!lookup_opcode(two_byte, op, &f))
		return MMIO_DECODE_UNSUPPORTED;

	if (i >= lim)
		return out_of_bytes(avail);
	uint8_t modrm = b[i++];
	unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
	/* C6/C7 with reg != 0 are other instructions (XABORT, XBEGIN) or #UD;
	 * check before mod=3 so those are called unsupported, not "register". */
	if (f.has_imm && reg != 0)
		return MMIO_DECODE_UNSUPPORTED;
	if (mod == 3)
		return MMIO_DECODE_REGISTER_OPERAND;

	struct mmio_mem_operand mem = { .base = MMIO_NO_REG, .index = MMIO_NO_REG, .scale = 1 };
	unsigned disp_len = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		/* rm=4 always means SIB, even with REX.B (r12 needs a SIB). */
		if (i >= lim)
			return out_of_bytes(avail);
		uint8_t sib = b[i++];
		unsigned sbase = sib & 7, sindex = ((sib >> 3) & 7) | (rex_x ? 8 : 0);
		mem.scale = (uint8_t)(1u << (sib >> 6));
		/* Only index 0100 without REX.X means "none": REX.X makes it r12. */
		if (sindex != 4)
			mem.index = (uint8_t)sindex;
		/* base 101 with mod 0 is disp32 with no base, whatever REX.B says. */
		if (sbase == 5 && mod == 0)
			disp_len = 4;
		else
			mem.base = (uint8_t)(sbase | (rex_b ? 8 : 0));
	} else if (rm == 5 && mod == 0) {
		/* In 64-bit mode this is [rip + disp32], not [disp32]; REX.B does not
		 * change it. */
		mem.rip_relative = true;
		disp_len = 4;
	} else {
		mem.base = (uint8_t)(rm | (rex_b ? 8 : 0));
	}

	unsigned size = f.byte_op ? 1 : rex_w ? 8 : opsize ? 2 : 4;
	unsigned imm_len = !f.has_imm ? 0 : size == 1 ? 1 : size == 2 ? 2 : 4;
	if (i + disp_len + imm_len > lim)
		return out_of_bytes(avail);
	if (disp_len == 1)
		mem.disp = (int8_t)b[i];
	else if (disp_len == 4)
		mem.disp = (int32_t)read_le(b + i, 4);
	i += disp_len;
	uint64_t imm = 0;
	if (imm_len) {
		uint32_t raw = read_le(b + i, imm_len);
		/* imm32 is sign-extended to 64 bits under REX.W. */
		imm = size == 8 ? (uint64_t)(int64_t)(int32_t)raw : raw;
		i += imm_len;
	}

	enum mmio_decode_error refused = refused_prefix(lock_rep, addr32, fsgs);
	if (refused != MMIO_DECODE_OK)
		return refused;

	memset(out, 0, sizeof(*out));
	out->length = (uint8_t)i;
	out->dir = f.dir;
	out->mem = mem;
	if (f.movzx_size) {
		out->size = f.movzx_size;
		out->reg_size = (uint8_t)size;
	} else {
		out->size = (uint8_t)size;
		out->reg_size = (uint8_t)size;
	}
	out->has_imm = f.has_imm;
	out->imm = imm;
	if (!f.has_imm) {
		out->reg = (uint8_t)(reg | (rex_r ? 8 : 0));
		/* Without any REX, 8-bit register numbers 4..7 are AH, CH, DH, BH. */
		out->high_byte = f.byte_op && !have_rex && reg >= 4;
	}
	return MMIO_DECODE_OK;
}

uint64_t mmio_insn_write_value(const struct mmio_insn *in, const uint64_t gpr[16])
{
	if (in->has_imm)
		return in->imm & size_mask(in->size);
	if (in->high_byte)
		return (gpr[in->reg - 4] >> 8) & 0xff;
	return gpr[in->reg & 15] & size_mask(in->size);
}

void mmio_insn_apply_read(const struct mmio_insn *in, uint64_t gpr[16], uint64_t value)
{
	/* MOVZX: the memory value is zero-extended to the register width first. */
	value &= size_mask(in->size);
	if (in->high_byte) {
		uint64_t *r = &gpr[in->reg - 4];
		*r = (*r & ~0xff00ull) | (value << 8);
		return;
	}
	uint64_t *r = &gpr[in->reg & 15];
	switch (in->reg_size) {
	case 1: *r = (*r & ~0xffull) | value; break;
	case 2: *r = (*r & ~0xffffull) | value; break;
	default: *r = value; break;   /* 4: the CPU clears bits 32..63 too */
	}
}

void mmio_insn_to_info(const struct mmio_insn *in, const uint64_t gpr[16], gpa_t gpa,
                       struct mmio_info *info)
{
	memset(info, 0, sizeof(*info));
	info->dir = in->dir;
	info->size = in->size;
	info->addr = gpa;
	if (in->dir == MMIO_WRITE)
		info->value = mmio_insn_write_value(in, gpr);
	else
		info->dst_reg = in->high_byte ? (uint8_t)(in->reg - 4) : in->reg;
}

const char *mmio_decode_strerror(enum mmio_decode_error e)
{
	switch (e) {
	case MMIO_DECODE_OK: return "ok";
	case MMIO_DECODE_TRUNCATED: return "instruction bytes truncated";
	case MMIO_DECODE_TOO_LONG: return "instruction longer than 15 bytes";
	case MMIO_DECODE_UNSUPPORTED: return "not a supported MOV/MOVZX";
	case MMIO_DECODE_REGISTER_OPERAND: return "no memory operand (ModRM mod=3)";
	case MMIO_DECODE_LOCK_REP: return "LOCK/REP prefix not supported";
	case MMIO_DECODE_ADDRESS_SIZE: return "address-size prefix (67) not supported";
	case MMIO_DECODE_SEGMENT_BASE: return "segment base not supported (FS/GS override)";
	}
	return "unknown decode error";
}

size_t mmio_format_bytes(const uint8_t *bytes, size_t n, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;
	if (bufsz == 0)
		return 0;
	for (size_t k = 0; k < n; k++) {
		size_t need = (k ? 1 : 0) + 2;
		if (len + need + 1 > bufsz)
			break;
		if (k)
			buf[len++] = ' ';
		buf[len++] = hex[bytes[k] >> 4];
		buf[len++] = hex[bytes[k] & 15];
	}
	buf[len] = '\0';
	return len;
}
