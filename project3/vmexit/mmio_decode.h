/* Decoding the guest instruction behind an MMIO nested page fault.
 *
 * The #NPF exit gives the faulting guest-physical address (EXITINFO2) and
 * whether the access was a write (EXITINFO1), but not its size nor the value
 * written. Those come from the instruction at the guest's RIP, which the MMIO
 * controller copies out of guest memory and hands to mmio_decode() together
 * with the CPU mode the guest runs in. The decoder knows only the
 * register/memory MOV forms a compiler emits for volatile device accesses:
 *
 *   88 /r          MOV r/m8, r8                 write, 1 byte
 *   89 /r          MOV r/m16/32/64, r           write, 2/4/8 bytes
 *   C6 /0 ib       MOV r/m8, imm8               write, 1 byte
 *   C7 /0 iw/id    MOV r/m16/32/64, imm         write (imm32 sign-extended with REX.W)
 *   8A /r          MOV r8, r/m8                 read, 1 byte
 *   8B /r          MOV r, r/m16/32/64           read, 2/4/8 bytes
 *   0F B6 /r       MOVZX r16/32/64, r/m8        read, 1 byte, zero-extended
 *   0F B7 /r       MOVZX r16/32/64, r/m16       read, 2 bytes, zero-extended
 *   A0 / A1        MOV AL / rAX, moffs          read, 1 or 2/4/8 bytes
 *   A2 / A3        MOV moffs, AL / rAX          write, 1 or 2/4/8 bytes
 *
 * MOVZX is accepted because GCC and Clang load narrow volatile fields with it
 * (movzbl/movzwl); the moffs forms because they store to a constant address.
 *
 * Modes. The same bytes mean different instructions in 64-bit, 32-bit and
 * 16-bit code (see mmio_cpu_mode): REX exists only in 64-bit mode (40-4F are
 * INC/DEC elsewhere, so unsupported); the default operand size is 4 bytes in
 * 64/32-bit code and 2 in 16-bit code, and 66 switches between 2 and 4; the
 * address size is 8, 4 or 2 bytes and 67 switches to 4, 2 or 4; 16-bit
 * addressing has its own ModRM table ([BX+SI], ..., no SIB); [disp32] with no
 * base is RIP-relative only in 64-bit mode; a moffs is as wide as the address.
 *
 * Refused on purpose (each with its own error, which the controller prints
 * when it stops the VM):
 *   - LOCK, REPNE and REP prefixes (F0/F2/F3): no MOV needs them;
 *   - two different segment-override prefixes on one instruction: which one
 *     the CPU uses is not architecturally defined;
 *   - every other instruction: string moves, read-modify-write instructions
 *     (ADD, OR, XCHG ...), MOVSX, SSE/AVX moves, MOV to/from segment registers;
 *   - register operands (ModRM mod=3): they cannot have faulted on memory.
 *
 * The decoder also names the memory operand in full (base, index, scale,
 * displacement, address size and segment), so mmio_insn_linear_address() can
 * compute the address the instruction accesses and the controller can check
 * it against the exit. Everything here is freestanding: no allocation, no I/O. */
#ifndef PROJECT3_VMEXIT_MMIO_DECODE_H
#define PROJECT3_VMEXIT_MMIO_DECODE_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "project3/vmexit/mmio.h"

/* The architectural limit; a longer byte sequence raises #GP on hardware. */
#define MMIO_INSN_MAX_LEN 15

/* base/index of a memory operand that has none. */
#define MMIO_NO_REG 0xff

/* The code the CPU runs, named by its default width in bits: 64-bit mode
 * (EFER.LMA and CS.L), or a 32-bit or 16-bit code segment (CS.D) in
 * compatibility, protected, real or virtual-8086 mode. */
enum mmio_cpu_mode {
	MMIO_MODE_16 = 16,
	MMIO_MODE_32 = 32,
	MMIO_MODE_64 = 64,
};

/* Segment registers in x86 encoding order (the order of the VMCB too). */
enum mmio_seg {
	MMIO_SEG_ES, MMIO_SEG_CS, MMIO_SEG_SS, MMIO_SEG_DS, MMIO_SEG_FS, MMIO_SEG_GS,
};

enum mmio_decode_error {
	MMIO_DECODE_OK = 0,
	MMIO_DECODE_TRUNCATED,        /* fewer bytes available than the instruction needs */
	MMIO_DECODE_TOO_LONG,         /* more than 15 bytes */
	MMIO_DECODE_UNSUPPORTED,      /* not one of the forms above (or C6/C7 with reg != 0) */
	MMIO_DECODE_REGISTER_OPERAND, /* ModRM mod=3: no memory operand, cannot have faulted */
	MMIO_DECODE_LOCK_REP,         /* F0, F2 or F3 prefix */
	MMIO_DECODE_SEGMENT_CONFLICT, /* two different segment-override prefixes */
	MMIO_DECODE_BAD_MODE,         /* mode is not an enum mmio_cpu_mode */
};

/* The memory operand. Its offset is base + index * scale + disp (or abs, or
 * next RIP + disp), taken modulo the address size; the segment's base is added
 * to that (in 64-bit mode only for FS and GS). */
struct mmio_mem_operand {
	uint8_t base;          /* enum gpr, or MMIO_NO_REG */
	uint8_t index;         /* enum gpr, or MMIO_NO_REG */
	uint8_t scale;         /* 1, 2, 4 or 8; meaningful only with an index */
	bool rip_relative;     /* [rip + disp32] (64-bit mode); base and index are MMIO_NO_REG */
	int32_t disp;          /* sign-extended displacement, 0 when none */
	bool absolute;         /* A0-A3 (moffs): the offset is abs, no base or index */
	uint64_t abs;
	uint8_t addr_size;     /* bytes: 2, 4 or 8 */
	uint8_t seg;           /* enum mmio_seg: the override, or DS (SS for an rBP/rSP base) */
};

/* One decoded MMIO instruction. */
struct mmio_insn {
	enum mmio_cpu_mode mode;
	uint8_t length;        /* bytes, 1..15: add to RIP to skip the instruction */
	uint8_t size;          /* bytes accessed in memory: 1, 2, 4 or 8 */
	enum mmio_direction dir;
	/* MMIO_WRITE with has_imm: the value stored, truncated to size. */
	bool has_imm;
	uint64_t imm;
	/* The register operand: the source of a register write, the destination of
	 * a read (enum gpr). With high_byte it names AH/CH/DH/BH, i.e. bits 8..15
	 * of register reg - 4; that happens only for an 8-bit register operand
	 * encoded as 4..7 without any REX prefix. */
	uint8_t reg;
	bool high_byte;
	/* MMIO_READ: width in bytes of the register write (size, or wider for MOVZX). */
	uint8_t reg_size;
	struct mmio_mem_operand mem;
};

/* Decodes the instruction at bytes[0..avail) as the CPU in mode would; fills
 * *out only on MMIO_DECODE_OK. */
enum mmio_decode_error mmio_decode(const uint8_t *bytes, size_t avail, enum mmio_cpu_mode mode,
                                   struct mmio_insn *out);

/* The linear address the decoded instruction accesses, given the registers,
 * the RIP it was decoded at and the base of the segment in->mem.seg (ignored
 * in 64-bit mode unless that is FS or GS). Outside 64-bit mode it wraps at
 * 4 GiB; the offset always wraps at the address size. */
uint64_t mmio_insn_linear_address(const struct mmio_insn *in, const uint64_t gpr[16],
                                  uint64_t rip, uint64_t seg_base);

/* The value a decoded write stores, zero-extended from its size. */
uint64_t mmio_insn_write_value(const struct mmio_insn *in, const uint64_t gpr[16]);

/* For a decoded read: writes the result (its low in->size bytes) to the register
 * the way the CPU would: 32-bit writes clear bits 32..63, 8/16-bit writes keep them. */
void mmio_insn_apply_read(const struct mmio_insn *in, uint64_t gpr[16], uint64_t value);

/* Fills *info (direction, size, addr = gpa, value of a write, dst_reg of a read).
 * dst_reg cannot express AH..BH or a MOVZX width: apply reads with
 * mmio_insn_apply_read(), not through dst_reg. */
void mmio_insn_to_info(const struct mmio_insn *in, const uint64_t gpr[16], gpa_t gpa,
                       struct mmio_info *info);

/* A short English description of e, for the message that stops the VM. */
const char *mmio_decode_strerror(enum mmio_decode_error e);

/* "64-bit", "32-bit" or "16-bit", for messages. */
const char *mmio_cpu_mode_name(enum mmio_cpu_mode mode);

/* Writes bytes[0..n) as "0f b6 05 ..." into buf (always NUL-terminated when
 * bufsz > 0, cut at a whole byte); returns the string length. */
size_t mmio_format_bytes(const uint8_t *bytes, size_t n, char *buf, size_t bufsz);
#endif
