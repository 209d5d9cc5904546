/* The decoder for the MOV forms a guest uses on device registers (the forms,
 * the modes and what is refused are listed in mmio_decode.h).
 *
 * An instruction is read in the order the CPU reads it (Intel SDM vol. 2,
 * ch. 2; AMD APM vol. 3, ch. 1):
 *
 *   legacy prefixes*  REX? (64-bit mode)  opcode (1 byte, or 0F + 1)
 *   then either  ModRM  SIB?  disp?  imm?      or (A0-A3)  moffs
 *
 * Invariants the code keeps:
 *  - No byte at or past min(avail, 15) is ever read. Running into that bound
 *    is TRUNCATED when the caller gave fewer than 15 bytes, TOO_LONG otherwise.
 *  - A REX byte exists only in 64-bit mode and counts only when it is the
 *    last prefix before the opcode: a legacy prefix after it makes the CPU
 *    ignore it, so every legacy prefix forgets the REX seen so far. An ignored
 *    REX also does not turn AH..BH into SPL..DIL.
 *  - Operand size: 8-bit opcodes ignore 66 and REX.W; otherwise REX.W gives 8
 *    bytes, else 66 flips the mode's default (4 in 64/32-bit, 2 in 16-bit).
 *  - Address size: 8 in 64-bit mode, 4 in 32-bit, 2 in 16-bit; 67 gives 4, 2, 4.
 *    It picks the ModRM table (16-bit, or 32/64-bit with SIB) and the moffs width.
 *  - Sizes are in bytes everywhere, and an 8-bit immediate is one byte.
 *  - Refused prefixes (F0/F2/F3, conflicting segment overrides) are collected
 *    while scanning and reported only after the opcode and operands parsed,
 *    so the error names the prefix only when the instruction is one we know. */
#include "project3/vmexit/mmio_decode.h"
#include <string.h>

/* What the prefixes said. */
struct prefixes {
	bool opsize;           /* 66 */
	bool addrsize;         /* 67 */
	bool lock_rep;         /* F0, F2, F3 */
	bool seg_conflict;     /* two different segment overrides */
	int seg;               /* the segment override (enum mmio_seg), or -1 */
	bool have_rex;         /* a REX that counts (64-bit mode only) */
	uint8_t rex;
};

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
static uint64_t read_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static int segment_prefix(uint8_t c)
{
	switch (c) {
	case 0x26: return MMIO_SEG_ES;
	case 0x2e: return MMIO_SEG_CS;
	case 0x36: return MMIO_SEG_SS;
	case 0x3e: return MMIO_SEG_DS;
	case 0x64: return MMIO_SEG_FS;
	case 0x65: return MMIO_SEG_GS;
	default: return -1;
	}
}

/* Reads the prefixes of b[0..lim); on OK, *opcode_at is the opcode's index. */
static enum mmio_decode_error scan_prefixes(const uint8_t *b, size_t avail, size_t lim,
                                            enum mmio_cpu_mode mode, struct prefixes *p,
                                            size_t *opcode_at)
{
	*p = (struct prefixes){ .seg = -1 };
	for (size_t i = 0;; i++) {
		if (i >= lim)
			return out_of_bytes(avail);
		uint8_t c = b[i];
		int seg = segment_prefix(c);
		if (mode == MMIO_MODE_64 && c >= 0x40 && c <= 0x4f) {
			p->have_rex = true;
			p->rex = c;
			continue;
		}
		if (c == 0x66) {
			p->opsize = true;
		} else if (c == 0x67) {
			p->addrsize = true;
		} else if (c == 0xf0 || c == 0xf2 || c == 0xf3) {
			p->lock_rep = true;
		} else if (seg >= 0) {
			if (p->seg >= 0 && p->seg != seg)
				p->seg_conflict = true;
			p->seg = seg;
		} else {
			*opcode_at = i;
			return MMIO_DECODE_OK;
		}
		p->have_rex = false;
		p->rex = 0;
	}
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

static enum mmio_decode_error refused_prefix(const struct prefixes *p)
{
	if (p->lock_rep)
		return MMIO_DECODE_LOCK_REP;
	if (p->seg_conflict)
		return MMIO_DECODE_SEGMENT_CONFLICT;
	return MMIO_DECODE_OK;
}

/* The segment an address with this base register uses when no prefix names
 * one: SS for rSP and rBP, DS otherwise (SDM vol. 1, 3.7.4). */
static uint8_t default_segment(uint8_t base)
{
	return base == GPR_RSP || base == GPR_RBP ? MMIO_SEG_SS : MMIO_SEG_DS;
}

/* 16-bit addressing (no SIB): rm picks one of eight base/index pairs; mod 0
 * with rm 6 is a bare disp16. */
static void modrm16(unsigned mod, unsigned rm, struct mmio_mem_operand *m, unsigned *disp_len)
{
	/* [SI], [DI] and [BX] name their register as the base. */
	static const uint8_t base[8] = { GPR_RBX, GPR_RBX, GPR_RBP, GPR_RBP,
	                                 GPR_RSI, GPR_RDI, GPR_RBP, GPR_RBX };
	static const uint8_t index[8] = { GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI,
	                                  MMIO_NO_REG, MMIO_NO_REG, MMIO_NO_REG, MMIO_NO_REG };
	*disp_len = mod == 1 ? 1 : mod == 2 ? 2 : 0;
	if (mod == 0 && rm == 6) {
		*disp_len = 2;
		return;
	}
	m->base = base[rm];
	m->index = index[rm];
}

/* 32/64-bit addressing: rm 4 means a SIB byte follows; rm 5 with mod 0 is
 * [disp32], RIP-relative in 64-bit mode. Reads the SIB at b[*i] if any. */
static enum mmio_decode_error modrm32(const uint8_t *b, size_t avail, size_t lim, size_t *i,
                                      enum mmio_cpu_mode mode, const struct prefixes *p,
                                      unsigned mod, unsigned rm, struct mmio_mem_operand *m,
                                      unsigned *disp_len)
{
	bool rex_x = p->rex & 2, rex_b = p->rex & 1;
	*disp_len = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		/* rm=4 always means SIB, even with REX.B (r12 needs a SIB). */
		if (*i >= lim)
			return out_of_bytes(avail);
		uint8_t sib = b[(*i)++];
		unsigned sbase = sib & 7, sindex = ((sib >> 3) & 7) | (rex_x ? 8 : 0);
		m->scale = (uint8_t)(1u << (sib >> 6));
		/* Only index 0100 without REX.X means "none": REX.X makes it r12. */
		if (sindex != 4)
			m->index = (uint8_t)sindex;
		/* base 101 with mod 0 is disp32 with no base, whatever REX.B says. */
		if (sbase == 5 && mod == 0)
			*disp_len = 4;
		else
			m->base = (uint8_t)(sbase | (rex_b ? 8 : 0));
	} else if (rm == 5 && mod == 0) {
		/* REX.B does not change this into [r13]. */
		m->rip_relative = mode == MMIO_MODE_64;
		*disp_len = 4;
	} else {
		m->base = (uint8_t)(rm | (rex_b ? 8 : 0));
	}
	return MMIO_DECODE_OK;
}

/* MOV between the accumulator and an absolute offset (A0-A3, "moffs"): no
 * ModRM, an address-size offset after the opcode at b[i]. */
static enum mmio_decode_error decode_moffs(const uint8_t *b, size_t avail, size_t lim, size_t i,
                                           enum mmio_cpu_mode mode, unsigned size,
                                           unsigned addr_size, const struct prefixes *p,
                                           struct mmio_insn *out)
{
	uint8_t op = b[i];
	if (i + 1 + addr_size > lim)
		return out_of_bytes(avail);
	enum mmio_decode_error refused = refused_prefix(p);
	if (refused != MMIO_DECODE_OK)
		return refused;
	bool byte_op = op == 0xa0 || op == 0xa2;
	memset(out, 0, sizeof(*out));
	out->mode = mode;
	out->length = (uint8_t)(i + 1 + addr_size);
	out->dir = op <= 0xa1 ? MMIO_READ : MMIO_WRITE;
	out->size = out->reg_size = (uint8_t)(byte_op ? 1 : size);
	out->reg = GPR_RAX;
	out->mem = (struct mmio_mem_operand){
		.base = MMIO_NO_REG, .index = MMIO_NO_REG, .scale = 1,
		.absolute = true, .abs = read_le(b + i + 1, addr_size),
		.addr_size = (uint8_t)addr_size,
		.seg = (uint8_t)(p->seg >= 0 ? p->seg : MMIO_SEG_DS),
	};
	return MMIO_DECODE_OK;
}

enum mmio_decode_error mmio_decode(const uint8_t *b, size_t avail, enum mmio_cpu_mode mode,
                                   struct mmio_insn *out)
{
	if (mode != MMIO_MODE_16 && mode != MMIO_MODE_32 && mode != MMIO_MODE_64)
		return MMIO_DECODE_BAD_MODE;
	size_t lim = avail < MMIO_INSN_MAX_LEN ? avail : MMIO_INSN_MAX_LEN;
	struct prefixes p;
	size_t i;
	enum mmio_decode_error err = scan_prefixes(b, avail, lim, mode, &p, &i);
	if (err != MMIO_DECODE_OK)
		return err;
	bool rex_w = p.rex & 8, rex_r = p.rex & 4;
	unsigned default_size = mode == MMIO_MODE_16 ? 2 : 4;
	unsigned size = rex_w ? 8 : !p.opsize ? default_size : default_size == 2 ? 4 : 2;
	unsigned addr_size = mode == MMIO_MODE_64 ? (p.addrsize ? 4 : 8)
	                   : mode == MMIO_MODE_32 ? (p.addrsize ? 2 : 4)
	                   : (p.addrsize ? 4 : 2);

	uint8_t op = b[i];
	if (op >= 0xa0 && op <= 0xa3)
		return decode_moffs(b, avail, lim, i, mode, size, addr_size, &p, out);
	i++;
	bool two_byte = false;
	if (op == 0x0f) {
		if (i >= lim)
			return out_of_bytes(avail);
		two_byte = true;
		op = b[i++];
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

	struct mmio_mem_operand mem = { .base = MMIO_NO_REG, .index = MMIO_NO_REG, .scale = 1,
	                                .addr_size = (uint8_t)addr_size };
	unsigned disp_len;
	if (addr_size == 2) {
		modrm16(mod, rm, &mem, &disp_len);
	} else {
		err = modrm32(b, avail, lim, &i, mode, &p, mod, rm, &mem, &disp_len);
		if (err != MMIO_DECODE_OK)
			return err;
	}
	mem.seg = (uint8_t)(p.seg >= 0 ? p.seg : default_segment(mem.base));

	if (f.byte_op)
		size = 1;
	unsigned imm_len = !f.has_imm ? 0 : size == 1 ? 1 : size == 2 ? 2 : 4;
	if (i + disp_len + imm_len > lim)
		return out_of_bytes(avail);
	/* Sign-extended; with a disp16 only the low 16 bits of the sum matter. */
	if (disp_len == 1)
		mem.disp = (int8_t)b[i];
	else if (disp_len == 2)
		mem.disp = (int16_t)read_le(b + i, 2);
	else if (disp_len == 4)
		mem.disp = (int32_t)read_le(b + i, 4);
	i += disp_len;
	uint64_t imm = 0;
	if (imm_len) {
		uint32_t raw = (uint32_t)read_le(b + i, imm_len);
		/* imm32 is sign-extended to 64 bits under REX.W. */
		imm = size == 8 ? (uint64_t)(int64_t)(int32_t)raw : raw;
		i += imm_len;
	}

	err = refused_prefix(&p);
	if (err != MMIO_DECODE_OK)
		return err;

	memset(out, 0, sizeof(*out));
	out->mode = mode;
	out->length = (uint8_t)i;
	out->dir = f.dir;
	out->mem = mem;
	out->size = (uint8_t)(f.movzx_size ? f.movzx_size : size);
	out->reg_size = (uint8_t)size;
	out->has_imm = f.has_imm;
	out->imm = imm;
	if (!f.has_imm) {
		out->reg = (uint8_t)(reg | (rex_r ? 8 : 0));
		/* Without any REX, 8-bit register numbers 4..7 are AH, CH, DH, BH. */
		out->high_byte = f.byte_op && !p.have_rex && reg >= 4;
	}
	return MMIO_DECODE_OK;
}

uint64_t mmio_insn_linear_address(const struct mmio_insn *in, const uint64_t gpr[16],
                                  uint64_t rip, uint64_t seg_base)
{
	const struct mmio_mem_operand *m = &in->mem;
	uint64_t offset;
	if (m->absolute) {
		offset = m->abs;
	} else {
		offset = (uint64_t)(int64_t)m->disp;
		if (m->rip_relative)
			offset += rip + in->length;
		if (m->base != MMIO_NO_REG)
			offset += gpr[m->base];
		if (m->index != MMIO_NO_REG)
			offset += gpr[m->index] * m->scale;
	}
	offset &= size_mask(m->addr_size);
	if (in->mode == MMIO_MODE_64)
		return (m->seg == MMIO_SEG_FS || m->seg == MMIO_SEG_GS ? seg_base : 0) + offset;
	return (uint32_t)(seg_base + offset);
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
	case MMIO_DECODE_SEGMENT_CONFLICT: return "two different segment-override prefixes";
	case MMIO_DECODE_BAD_MODE: return "unknown CPU mode";
	}
	return "unknown decode error";
}

const char *mmio_cpu_mode_name(enum mmio_cpu_mode mode)
{
	switch (mode) {
	case MMIO_MODE_16: return "16-bit";
	case MMIO_MODE_32: return "32-bit";
	case MMIO_MODE_64: return "64-bit";
	}
	return "unknown-mode";
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
