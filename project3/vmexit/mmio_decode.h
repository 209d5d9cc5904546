/* Decoding the guest instruction behind an MMIO nested page fault.
 *
 * The #NPF exit gives the faulting guest-physical address (EXITINFO2) but not
 * the access: its size, whether it read or wrote, and the value written. Those
 * come from the instruction at the guest's RIP, which the MMIO controller
 * copies out of guest memory and hands to mmio_decode(). The decoder knows only
 * the register/memory MOV forms a compiler emits for volatile device accesses:
 *
 *   88 /r          MOV r/m8, r8                 write, 1 byte
 *   89 /r          MOV r/m16/32/64, r           write, 2/4/8 bytes
 *   C6 /0 ib       MOV r/m8, imm8               write, 1 byte
 *   C7 /0 iw/id    MOV r/m16/32/64, imm         write (imm32 sign-extended with REX.W)
 *   8A /r          MOV r8, r/m8                 read, 1 byte
 *   8B /r          MOV r, r/m16/32/64           read, 2/4/8 bytes
 *   0F B6 /r       MOVZX r16/32/64, r/m8        read, 1 byte, zero-extended
 *   0F B7 /r       MOVZX r16/32/64, r/m16       read, 2 bytes, zero-extended
 *
 * MOVZX is accepted because GCC and Clang load narrow volatile fields with it
 * (movzbl/movzwl) far more often than with a plain 8/16-bit MOV. The moffs forms
 * (A0-A3), string moves and read-modify-write instructions are refused.
 *
 * The decoder does not compute the effective address (the exit already has
 * it) but it parses the whole ModRM/SIB/displacement/immediate so that the
 * instruction length, used to advance RIP, is exact, and it reports the
 * memory operand so a caller can print or cross-check it.
 *
 * Everything here is freestanding: no allocation, no I/O. */
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

enum mmio_decode_error {
	MMIO_DECODE_OK = 0,
	MMIO_DECODE_TRUNCATED,        /* fewer bytes available than the instruction needs */
	MMIO_DECODE_TOO_LONG,         /* more than 15 bytes */
	MMIO_DECODE_UNSUPPORTED,      /* not one of the opcodes above (or C6/C7 with reg != 0) */
	MMIO_DECODE_REGISTER_OPERAND, /* ModRM mod=3: no memory operand, cannot have faulted */
	MMIO_DECODE_LOCK_REP,         /* F0, F2 or F3 prefix */
	MMIO_DECODE_ADDRESS_SIZE,     /* 67 prefix: 32-bit addressing is not supported */
	MMIO_DECODE_SEGMENT_BASE,     /* 64/65 prefix: FS/GS base is not supported */
};

/* The memory operand as encoded (informational: the GPA comes from the exit). */
struct mmio_mem_operand {
	uint8_t base;          /* enum gpr, or MMIO_NO_REG */
	uint8_t index;         /* enum gpr, or MMIO_NO_REG */
	uint8_t scale;         /* 1, 2, 4 or 8; meaningful only with an index */
	bool rip_relative;     /* [rip + disp32]; base and index are MMIO_NO_REG */
	int32_t disp;          /* sign-extended displacement, 0 when none */
	bool absolute;         /* A0-A3 (moffs): the address is abs, no base or index */
	uint64_t abs;
};

/* One decoded MMIO instruction. */
struct mmio_insn {
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

/* Decodes the instruction at bytes[0..avail); fills *out only on MMIO_DECODE_OK. */
enum mmio_decode_error mmio_decode(const uint8_t *bytes, size_t avail, struct mmio_insn *out);

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

/* Writes bytes[0..n) as "0f b6 05 ..." into buf (always NUL-terminated when
 * bufsz > 0, cut at a whole byte); returns the string length. */
size_t mmio_format_bytes(const uint8_t *bytes, size_t n, char *buf, size_t bufsz);
#endif
