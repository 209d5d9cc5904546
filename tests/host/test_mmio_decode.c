/* Host tests for the MMIO instruction decoder (project3/vmexit/mmio_decode.c).
 *
 * Two kinds of evidence, in 64-, 32- and 16-bit code:
 *  - hand-written encodings, one per ModRM/SIB/displacement form, prefix rule,
 *    mode rule and error, with the expected fields worked out from the SDM by
 *    hand, and the linear addresses mmio_insn_linear_address() computes;
 *  - a comparison with libzydis, an independent decoder (the rule is in
 *    tests/host/mmio_zydis.h), over an exhaustive sweep of opcode x prefixes
 *    (REX, 66, 67, segment) x ModRM x SIB in each mode and over random
 *    encodings, mutated encodings and random garbage from a fixed-seed PRNG.
 * The last line printed is the number of encodings compared per mode. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "project3/vmexit/mmio_decode.h"
#include "tests/host/mmio_zydis.h"

/* --- hand-written cases --------------------------------------------------- */

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static struct mmio_insn decode_ok_in(enum mmio_cpu_mode mode, const uint8_t *b, size_t n)
{
	struct mmio_insn in;
	enum mmio_decode_error e = mmio_decode(b, n, mode, &in);
	ck_assert_msg(e == MMIO_DECODE_OK, "decode failed in %s mode: %s", mmio_cpu_mode_name(mode),
	              mmio_decode_strerror(e));
	ck_assert_int_eq(in.mode, mode);
	/* Every proper prefix of an accepted instruction is truncated, and any
	 * trailing bytes are not part of it. */
	for (size_t k = 0; k < in.length; k++) {
		struct mmio_insn t;
		ck_assert_int_eq(mmio_decode(b, k, mode, &t), MMIO_DECODE_TRUNCATED);
	}
	uint8_t longer[32];
	memset(longer, 0x90, sizeof(longer));
	memcpy(longer, b, n);
	struct mmio_insn again;
	ck_assert_int_eq(mmio_decode(longer, sizeof(longer), mode, &again), MMIO_DECODE_OK);
	ck_assert_uint_eq(again.length, in.length);
	return in;
}

static struct mmio_insn decode_ok(const uint8_t *b, size_t n)
{
	return decode_ok_in(MMIO_MODE_64, b, n);
}

static void decode_err_in(enum mmio_cpu_mode mode, const uint8_t *b, size_t n,
                          enum mmio_decode_error want)
{
	struct mmio_insn in;
	enum mmio_decode_error e = mmio_decode(b, n, mode, &in);
	ck_assert_msg(e == want, "%s mode: got \"%s\", want \"%s\"", mmio_cpu_mode_name(mode),
	              mmio_decode_strerror(e), mmio_decode_strerror(want));
}

static void decode_err(const uint8_t *b, size_t n, enum mmio_decode_error want)
{
	decode_err_in(MMIO_MODE_64, b, n, want);
}

static void check_mem(const struct mmio_insn *in, uint8_t base, uint8_t index, uint8_t scale,
                      bool rip, int32_t disp)
{
	ck_assert_uint_eq(in->mem.base, base);
	ck_assert_uint_eq(in->mem.index, index);
	if (index != MMIO_NO_REG)
		ck_assert_uint_eq(in->mem.scale, scale);
	ck_assert_int_eq(in->mem.rip_relative, rip);
	ck_assert_int_eq(in->mem.disp, disp);
}

#define NONE MMIO_NO_REG

START_TEST(store_register_sizes)
{
	struct mmio_insn in = decode_ok(BYTES(0x89, 0x08));          /* mov [rax], ecx */
	ck_assert_uint_eq(in.length, 2);
	ck_assert_uint_eq(in.size, 4);
	ck_assert_int_eq(in.dir, MMIO_WRITE);
	ck_assert_uint_eq(in.reg, GPR_RCX);
	ck_assert(!in.has_imm && !in.high_byte);

	in = decode_ok(BYTES(0x48, 0x89, 0x08));                     /* mov [rax], rcx */
	ck_assert_uint_eq(in.length, 3);
	ck_assert_uint_eq(in.size, 8);
	in = decode_ok(BYTES(0x66, 0x89, 0x08));                     /* mov [rax], cx */
	ck_assert_uint_eq(in.size, 2);
	in = decode_ok(BYTES(0x66, 0x48, 0x89, 0x08));               /* REX.W beats 66 */
	ck_assert_uint_eq(in.size, 8);
	ck_assert_uint_eq(in.length, 4);
	in = decode_ok(BYTES(0x4c, 0x89, 0x38));                     /* mov [rax], r15 */
	ck_assert_uint_eq(in.reg, GPR_R15);
	ck_assert_uint_eq(in.size, 8);

	in = decode_ok(BYTES(0x88, 0x08));                           /* mov [rax], cl */
	ck_assert_uint_eq(in.size, 1);
	ck_assert_uint_eq(in.reg, GPR_RCX);
	ck_assert(!in.high_byte);
	in = decode_ok(BYTES(0x66, 0x88, 0x08));                     /* 66 ignored for 8-bit */
	ck_assert_uint_eq(in.size, 1);
	in = decode_ok(BYTES(0x48, 0x88, 0x08));                     /* so is REX.W */
	ck_assert_uint_eq(in.size, 1);
}
END_TEST

START_TEST(high_byte_registers)
{
	struct mmio_insn in = decode_ok(BYTES(0x88, 0x20));          /* mov [rax], ah */
	ck_assert(in.high_byte);
	ck_assert_uint_eq(in.reg, 4);
	in = decode_ok(BYTES(0x88, 0x38));                           /* mov [rax], bh */
	ck_assert(in.high_byte);
	ck_assert_uint_eq(in.reg, 7);
	in = decode_ok(BYTES(0x40, 0x88, 0x20));                     /* any REX: spl */
	ck_assert(!in.high_byte);
	ck_assert_uint_eq(in.reg, GPR_RSP);
	in = decode_ok(BYTES(0x44, 0x88, 0x20));                     /* r12b */
	ck_assert(!in.high_byte);
	ck_assert_uint_eq(in.reg, GPR_R12);
	in = decode_ok(BYTES(0x8a, 0x30));                           /* mov dh, [rax] */
	ck_assert(in.high_byte);
	ck_assert_uint_eq(in.reg, 6);
	ck_assert_int_eq(in.dir, MMIO_READ);
	/* An ignored REX (a legacy prefix follows it) does not count as a REX. */
	in = decode_ok(BYTES(0x40, 0x2e, 0x88, 0x20));
	ck_assert(in.high_byte);
	/* 16/32-bit operands never name high bytes. */
	in = decode_ok(BYTES(0x89, 0x20));
	ck_assert(!in.high_byte);
	in = decode_ok(BYTES(0x0f, 0xb6, 0x20));                     /* movzx esp, byte [rax] */
	ck_assert(!in.high_byte);
	ck_assert_uint_eq(in.reg, GPR_RSP);
}
END_TEST

START_TEST(rex_placement)
{
	/* REX then 66: the REX is ignored, the 66 applies. */
	struct mmio_insn in = decode_ok(BYTES(0x48, 0x66, 0x89, 0x08));
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.length, 4);
	in = decode_ok(BYTES(0x41, 0x3e, 0x89, 0x08));               /* REX.B ignored: [rax] */
	ck_assert_uint_eq(in.mem.base, GPR_RAX);
	/* Two REX bytes: only the last one is the REX prefix. */
	in = decode_ok(BYTES(0x4f, 0x41, 0x89, 0x08));
	ck_assert_uint_eq(in.size, 4);
	ck_assert_uint_eq(in.reg, GPR_RCX);
	ck_assert_uint_eq(in.mem.base, GPR_R8);
	ck_assert_uint_eq(in.length, 4);
}
END_TEST

START_TEST(modrm_forms)
{
	struct mmio_insn in;
	in = decode_ok(BYTES(0x89, 0x0e));                            /* [rsi] */
	check_mem(&in, GPR_RSI, NONE, 1, false, 0);
	in = decode_ok(BYTES(0x89, 0x4e, 0xf0));                      /* [rsi-16] */
	ck_assert_uint_eq(in.length, 3);
	check_mem(&in, GPR_RSI, NONE, 1, false, -16);
	in = decode_ok(BYTES(0x89, 0x8e, 0x00, 0x10, 0x00, 0x00));    /* [rsi+0x1000] */
	ck_assert_uint_eq(in.length, 6);
	check_mem(&in, GPR_RSI, NONE, 1, false, 0x1000);
	in = decode_ok(BYTES(0x89, 0x8e, 0x00, 0x00, 0x00, 0x80));    /* disp32 is signed */
	check_mem(&in, GPR_RSI, NONE, 1, false, INT32_MIN);
	in = decode_ok(BYTES(0x89, 0x45, 0x00));                      /* [rbp+0] needs mod 1 */
	ck_assert_uint_eq(in.length, 3);
	check_mem(&in, GPR_RBP, NONE, 1, false, 0);
	in = decode_ok(BYTES(0x41, 0x89, 0x45, 0x00));                /* [r13+0] */
	check_mem(&in, GPR_R13, NONE, 1, false, 0);
	in = decode_ok(BYTES(0x41, 0x89, 0x07));                      /* [r15] */
	check_mem(&in, GPR_R15, NONE, 1, false, 0);
}
END_TEST

START_TEST(rip_relative)
{
	struct mmio_insn in = decode_ok(BYTES(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12));
	ck_assert_uint_eq(in.length, 6);
	check_mem(&in, NONE, NONE, 1, true, 0x12345678);
	/* REX.B does not turn it into [r13]. */
	in = decode_ok(BYTES(0x41, 0x8b, 0x05, 0xfc, 0xff, 0xff, 0xff));
	ck_assert_uint_eq(in.length, 7);
	check_mem(&in, NONE, NONE, 1, true, -4);
	/* The immediate follows the displacement: RIP advances past both. */
	in = decode_ok(BYTES(0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04));
	ck_assert_uint_eq(in.length, 10);
	ck_assert_uint_eq(in.imm, 0x04030201);
	check_mem(&in, NONE, NONE, 1, true, 0x10);
}
END_TEST

START_TEST(sib_forms)
{
	struct mmio_insn in;
	in = decode_ok(BYTES(0x89, 0x04, 0x24));                      /* [rsp] */
	ck_assert_uint_eq(in.length, 3);
	check_mem(&in, GPR_RSP, NONE, 1, false, 0);
	in = decode_ok(BYTES(0x89, 0x44, 0x24, 0x08));                /* [rsp+8] */
	ck_assert_uint_eq(in.length, 4);
	check_mem(&in, GPR_RSP, NONE, 1, false, 8);
	in = decode_ok(BYTES(0x41, 0x89, 0x04, 0x24));                /* [r12] */
	check_mem(&in, GPR_R12, NONE, 1, false, 0);
	in = decode_ok(BYTES(0x89, 0x04, 0x88));                      /* [rax+rcx*4] */
	check_mem(&in, GPR_RAX, GPR_RCX, 4, false, 0);
	in = decode_ok(BYTES(0x89, 0x84, 0xc8, 0x00, 0x01, 0x00, 0x00)); /* [rax+rcx*8+0x100] */
	ck_assert_uint_eq(in.length, 7);
	check_mem(&in, GPR_RAX, GPR_RCX, 8, false, 0x100);
	in = decode_ok(BYTES(0x89, 0x04, 0xe0));                      /* index 100: none */
	check_mem(&in, GPR_RAX, NONE, 1, false, 0);
	in = decode_ok(BYTES(0x42, 0x89, 0x04, 0x20));                /* REX.X: index r12 */
	check_mem(&in, GPR_RAX, GPR_R12, 1, false, 0);
	in = decode_ok(BYTES(0x43, 0x89, 0x44, 0xe5, 0x10));          /* [r13+r12*8+16] */
	check_mem(&in, GPR_R13, GPR_R12, 8, false, 16);
	/* base 101, mod 0: disp32 and no base, with or without REX.B. */
	in = decode_ok(BYTES(0x89, 0x04, 0x25, 0x00, 0x00, 0xe0, 0xfe)); /* [0xfffffffffee00000] */
	ck_assert_uint_eq(in.length, 7);
	check_mem(&in, NONE, NONE, 1, false, (int32_t)0xfee00000);
	in = decode_ok(BYTES(0x41, 0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00));
	ck_assert_uint_eq(in.length, 8);
	check_mem(&in, NONE, NONE, 1, false, 0x1000);
	in = decode_ok(BYTES(0x89, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00)); /* [rcx*4+0x1000] */
	check_mem(&in, NONE, GPR_RCX, 4, false, 0x1000);
	/* base 101 with mod 1/2 is rbp/r13. */
	in = decode_ok(BYTES(0x89, 0x44, 0x25, 0x08));
	check_mem(&in, GPR_RBP, NONE, 1, false, 8);
	in = decode_ok(BYTES(0x41, 0x89, 0x84, 0x25, 0x08, 0x00, 0x00, 0x00));
	check_mem(&in, GPR_R13, NONE, 1, false, 8);
}
END_TEST

START_TEST(store_immediate)
{
	/* An 8-bit immediate is one byte and is not sign-extended into the value. */
	struct mmio_insn in = decode_ok(BYTES(0xc6, 0x00, 0xab));
	ck_assert_uint_eq(in.length, 3);
	ck_assert_uint_eq(in.size, 1);
	ck_assert(in.has_imm);
	ck_assert_uint_eq(in.imm, 0xab);
	in = decode_ok(BYTES(0x48, 0xc6, 0x00, 0xff));                /* REX.W: still imm8 */
	ck_assert_uint_eq(in.length, 4);
	ck_assert_uint_eq(in.imm, 0xff);
	in = decode_ok(BYTES(0x66, 0xc6, 0x00, 0x80));                /* 66: still imm8 */
	ck_assert_uint_eq(in.length, 4);
	in = decode_ok(BYTES(0x66, 0xc7, 0x00, 0x34, 0x92));          /* imm16 */
	ck_assert_uint_eq(in.length, 5);
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.imm, 0x9234);
	in = decode_ok(BYTES(0xc7, 0x00, 0x00, 0x00, 0x00, 0x80));    /* imm32 */
	ck_assert_uint_eq(in.length, 6);
	ck_assert_uint_eq(in.size, 4);
	ck_assert_uint_eq(in.imm, 0x80000000u);
	in = decode_ok(BYTES(0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80)); /* sign-extended */
	ck_assert_uint_eq(in.length, 7);
	ck_assert_uint_eq(in.size, 8);
	ck_assert_uint_eq(in.imm, 0xffffffff80000000ull);
	in = decode_ok(BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f));
	ck_assert_uint_eq(in.imm, 0x7fffffffull);
	/* SIB + disp32 + imm16. */
	in = decode_ok(BYTES(0x66, 0xc7, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00, 0xcd, 0xab));
	ck_assert_uint_eq(in.length, 10);
	ck_assert_uint_eq(in.imm, 0xabcd);
	check_mem(&in, GPR_RSP, NONE, 1, false, 0x100);
}
END_TEST

START_TEST(loads)
{
	struct mmio_insn in = decode_ok(BYTES(0x8b, 0x07));           /* mov eax, [rdi] */
	ck_assert_int_eq(in.dir, MMIO_READ);
	ck_assert_uint_eq(in.size, 4);
	ck_assert_uint_eq(in.reg_size, 4);
	ck_assert_uint_eq(in.reg, GPR_RAX);
	in = decode_ok(BYTES(0x4c, 0x8b, 0x07));                     /* mov r8, [rdi] */
	ck_assert_uint_eq(in.size, 8);
	ck_assert_uint_eq(in.reg, GPR_R8);
	in = decode_ok(BYTES(0x66, 0x8b, 0x07));
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.reg_size, 2);
	in = decode_ok(BYTES(0x8a, 0x07));
	ck_assert_uint_eq(in.size, 1);
	ck_assert_uint_eq(in.reg_size, 1);
	/* MOVZX: the memory access is narrow, the register write is not. */
	in = decode_ok(BYTES(0x0f, 0xb6, 0x07));                     /* movzx eax, byte [rdi] */
	ck_assert_uint_eq(in.length, 3);
	ck_assert_uint_eq(in.size, 1);
	ck_assert_uint_eq(in.reg_size, 4);
	in = decode_ok(BYTES(0x0f, 0xb7, 0x47, 0x04));               /* movzx eax, word [rdi+4] */
	ck_assert_uint_eq(in.length, 4);
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.reg_size, 4);
	in = decode_ok(BYTES(0x4c, 0x0f, 0xb7, 0x07));               /* movzx r8, word [rdi] */
	ck_assert_uint_eq(in.reg_size, 8);
	ck_assert_uint_eq(in.reg, GPR_R8);
	in = decode_ok(BYTES(0x66, 0x0f, 0xb6, 0x07));               /* movzx ax, byte [rdi] */
	ck_assert_uint_eq(in.reg_size, 2);
}
END_TEST

START_TEST(segment_prefixes)
{
	struct mmio_insn in = decode_ok(BYTES(0x2e, 0x2e, 0x89, 0x08));
	ck_assert_uint_eq(in.length, 4);
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_CS);
	in = decode_ok(BYTES(0x64, 0x89, 0x08));
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_FS);
	in = decode_ok(BYTES(0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0)); /* mov rax, gs:[0x28] */
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_GS);
	ck_assert_uint_eq(in.length, 9);
	/* Defaults: DS, or SS for an rSP/rBP base (r12/r13 are not rSP/rBP). */
	ck_assert_uint_eq(decode_ok(BYTES(0x89, 0x08)).mem.seg, MMIO_SEG_DS);
	ck_assert_uint_eq(decode_ok(BYTES(0x89, 0x04, 0x24)).mem.seg, MMIO_SEG_SS);
	ck_assert_uint_eq(decode_ok(BYTES(0x89, 0x45, 0x00)).mem.seg, MMIO_SEG_SS);
	ck_assert_uint_eq(decode_ok(BYTES(0x41, 0x89, 0x45, 0x00)).mem.seg, MMIO_SEG_DS);
	ck_assert_uint_eq(decode_ok(BYTES(0x89, 0x04, 0x25, 0, 0, 0, 0)).mem.seg, MMIO_SEG_DS);
	/* The same override twice is fine; two different ones are refused. */
	ck_assert_uint_eq(decode_ok(BYTES(0x65, 0x65, 0x89, 0x08)).mem.seg, MMIO_SEG_GS);
	decode_err(BYTES(0x65, 0x2e, 0x89, 0x08), MMIO_DECODE_SEGMENT_CONFLICT);
	decode_err(BYTES(0x2e, 0x36, 0x3e, 0x26, 0x89, 0x08), MMIO_DECODE_SEGMENT_CONFLICT);
	decode_err(BYTES(0x64, 0x65, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), MMIO_DECODE_SEGMENT_CONFLICT);
	decode_err_in(MMIO_MODE_32, BYTES(0x26, 0x3e, 0x89, 0x08), MMIO_DECODE_SEGMENT_CONFLICT);
	/* The instruction is judged first. */
	decode_err(BYTES(0x65, 0x2e, 0x01, 0x08), MMIO_DECODE_UNSUPPORTED);
}
END_TEST

START_TEST(refused_prefixes)
{
	decode_err(BYTES(0xf0, 0x89, 0x08), MMIO_DECODE_LOCK_REP);
	decode_err(BYTES(0xf2, 0x88, 0x08), MMIO_DECODE_LOCK_REP);
	decode_err(BYTES(0xf3, 0xc7, 0x00, 1, 2, 3, 4), MMIO_DECODE_LOCK_REP);
	decode_err(BYTES(0xf3, 0x0f, 0xb6, 0x00), MMIO_DECODE_LOCK_REP);
	/* The instruction itself is judged first. */
	decode_err(BYTES(0xf3, 0xa4), MMIO_DECODE_UNSUPPORTED);     /* rep movsb */
	decode_err(BYTES(0x67, 0x89, 0xc8), MMIO_DECODE_REGISTER_OPERAND);
}
END_TEST


START_TEST(moffs_forms)
{
	/* movabs %eax, 0xffff8000cafe0004: what gcc emits for a store to a constant address. */
	struct mmio_insn in = decode_ok(BYTES(0xa3, 0x04, 0x00, 0xfe, 0xca, 0x00, 0x80, 0xff, 0xff));
	ck_assert_uint_eq(in.length, 9);
	ck_assert_uint_eq(in.size, 4);
	ck_assert_int_eq(in.dir, MMIO_WRITE);
	ck_assert_uint_eq(in.reg, GPR_RAX);
	ck_assert(in.mem.absolute);
	ck_assert_uint_eq(in.mem.abs, 0xffff8000cafe0004ull);
	uint64_t gpr[16] = { [GPR_RAX] = 0x1122334455667788ull };
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0x55667788u);
	/* REX.W: 8 bytes; 66: 2 bytes; A2: 1 byte (AL, never AH); A0/A1 read. */
	ck_assert_uint_eq(decode_ok(BYTES(0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8)).size, 8);
	ck_assert_uint_eq(decode_ok(BYTES(0x66, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8)).size, 2);
	in = decode_ok(BYTES(0xa2, 1, 2, 3, 4, 5, 6, 7, 8));
	ck_assert_uint_eq(in.size, 1);
	ck_assert(!in.high_byte);
	in = decode_ok(BYTES(0xa1, 1, 2, 3, 4, 5, 6, 7, 8));
	ck_assert_int_eq(in.dir, MMIO_READ);
	ck_assert_uint_eq(in.reg_size, 4);
	mmio_insn_apply_read(&in, gpr, 0xdeadbeef);
	ck_assert_uint_eq(gpr[GPR_RAX], 0xdeadbeefu);
	/* 67: a 4-byte address. */
	in = decode_ok(BYTES(0x67, 0xa3, 1, 2, 3, 4));
	ck_assert_uint_eq(in.length, 6);
	ck_assert_uint_eq(in.mem.abs, 0x04030201);
	ck_assert_uint_eq(in.mem.addr_size, 4);
	decode_err(BYTES(0xa3, 1, 2, 3), MMIO_DECODE_TRUNCATED);
}
END_TEST
START_TEST(unsupported_and_register_forms)
{
	decode_err(BYTES(0x89, 0xc8), MMIO_DECODE_REGISTER_OPERAND);  /* mov eax, ecx */
	decode_err(BYTES(0x8b, 0xc1), MMIO_DECODE_REGISTER_OPERAND);
	decode_err(BYTES(0x0f, 0xb6, 0xc1), MMIO_DECODE_REGISTER_OPERAND);
	decode_err(BYTES(0xc6, 0xc0, 0x12), MMIO_DECODE_REGISTER_OPERAND);
	decode_err(BYTES(0xc6, 0xf8, 0x12), MMIO_DECODE_UNSUPPORTED);  /* xabort */
	decode_err(BYTES(0xc7, 0xf8, 0, 0, 0, 0), MMIO_DECODE_UNSUPPORTED); /* xbegin */
	decode_err(BYTES(0xc7, 0x08, 0, 0, 0, 0), MMIO_DECODE_UNSUPPORTED); /* C7 /1 */
	decode_err(BYTES(0x01, 0x08), MMIO_DECODE_UNSUPPORTED);        /* add */
	decode_err(BYTES(0x87, 0x08), MMIO_DECODE_UNSUPPORTED);        /* xchg */
	decode_err(BYTES(0xa3, 0, 0, 0, 0, 0, 0, 0), MMIO_DECODE_TRUNCATED); /* moffs needs 8 address bytes */
	decode_err(BYTES(0x8c, 0x08), MMIO_DECODE_UNSUPPORTED);        /* mov from sreg */
	decode_err(BYTES(0x0f, 0xbe, 0x00), MMIO_DECODE_UNSUPPORTED);  /* movsx */
	decode_err(BYTES(0x0f, 0x0f), MMIO_DECODE_UNSUPPORTED);
	decode_err(BYTES(0xc5, 0xf9, 0x7f, 0x00), MMIO_DECODE_UNSUPPORTED); /* VEX */
	decode_err(BYTES(0x48, 0x90), MMIO_DECODE_UNSUPPORTED);
}
END_TEST

START_TEST(truncation_and_length_limit)
{
	struct mmio_insn in;
	ck_assert_int_eq(mmio_decode(NULL, 0, MMIO_MODE_64, &in), MMIO_DECODE_TRUNCATED);
	ck_assert_int_eq(mmio_decode(NULL, 0, MMIO_MODE_16, &in), MMIO_DECODE_TRUNCATED);
	decode_err(BYTES(0x0f), MMIO_DECODE_TRUNCATED);
	decode_err(BYTES(0x66, 0x48), MMIO_DECODE_TRUNCATED);
	decode_err(BYTES(0x89), MMIO_DECODE_TRUNCATED);
	decode_err(BYTES(0x89, 0x04), MMIO_DECODE_TRUNCATED);
	decode_err(BYTES(0x89, 0x80, 0, 0, 0), MMIO_DECODE_TRUNCATED);
	decode_err(BYTES(0xc7, 0x00, 1, 2, 3), MMIO_DECODE_TRUNCATED);

	/* Exactly 15 bytes is allowed ... */
	in = decode_ok(BYTES(0x2e, 0x2e, 0x66, 0x48, 0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8));
	ck_assert_uint_eq(in.length, 15);
	ck_assert_uint_eq(in.size, 8);
	/* ... 16 is not, however many bytes the caller has. */
	uint8_t b[32];
	memset(b, 0, sizeof(b));
	static const uint8_t tail[] = { 0x2e, 0x2e, 0x2e, 0x66, 0x48, 0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8 };
	memcpy(b, tail, sizeof(tail));
	decode_err(b, sizeof(b), MMIO_DECODE_TOO_LONG);
	decode_err(b, 15, MMIO_DECODE_TOO_LONG);
	decode_err(b, 14, MMIO_DECODE_TRUNCATED);
	/* A run of prefixes with no opcode inside 15 bytes. */
	memset(b, 0x2e, sizeof(b));
	decode_err(b, sizeof(b), MMIO_DECODE_TOO_LONG);
	decode_err(b, 10, MMIO_DECODE_TRUNCATED);
}
END_TEST

START_TEST(write_values)
{
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = 0x1111111111111111ull * i + 0x0123456789abcdefull;
	gpr[GPR_RCX] = 0xfedcba9876543210ull;
	struct mmio_insn in = decode_ok(BYTES(0x48, 0x89, 0x08));
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0xfedcba9876543210ull);
	in = decode_ok(BYTES(0x89, 0x08));
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0x76543210ull);
	in = decode_ok(BYTES(0x66, 0x89, 0x08));
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0x3210ull);
	in = decode_ok(BYTES(0x88, 0x08));                            /* cl */
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0x10ull);
	in = decode_ok(BYTES(0x88, 0x28));                            /* ch */
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0x32ull);
	in = decode_ok(BYTES(0x40, 0x88, 0x28));                      /* bpl */
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), gpr[GPR_RBP] & 0xff);
	in = decode_ok(BYTES(0x4c, 0x89, 0x18));                      /* r11 */
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), gpr[GPR_R11]);
	in = decode_ok(BYTES(0xc6, 0x00, 0x80));
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0x80ull);
	in = decode_ok(BYTES(0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff));
	ck_assert_uint_eq(mmio_insn_write_value(&in, gpr), 0xfffffffffffffffeull);

	struct mmio_info info;
	in = decode_ok(BYTES(0x88, 0x28));
	mmio_insn_to_info(&in, gpr, 0xfee000b0, &info);
	ck_assert_int_eq(info.dir, MMIO_WRITE);
	ck_assert_uint_eq(info.size, 1);
	ck_assert_uint_eq(info.addr, 0xfee000b0);
	ck_assert_uint_eq(info.value, 0x32);
	in = decode_ok(BYTES(0x44, 0x8b, 0x10));                      /* mov r10d, [rax] */
	mmio_insn_to_info(&in, gpr, 0x1000, &info);
	ck_assert_int_eq(info.dir, MMIO_READ);
	ck_assert_uint_eq(info.size, 4);
	ck_assert_uint_eq(info.dst_reg, GPR_R10);
}
END_TEST

START_TEST(read_results)
{
	const uint64_t init = 0xaaaaaaaaaaaaaaaaull;
	uint64_t gpr[16];
	struct {
		const uint8_t *b; size_t n;
		unsigned reg; uint64_t value, want;
	} cases[] = {
		{ BYTES(0x48, 0x8b, 0x08), GPR_RCX, 0x1122334455667788ull, 0x1122334455667788ull },
		/* 32-bit destination: the upper half is cleared. */
		{ BYTES(0x8b, 0x08), GPR_RCX, 0x55667788ull, 0x0000000055667788ull },
		/* 16 and 8-bit destinations keep the other bits. */
		{ BYTES(0x66, 0x8b, 0x08), GPR_RCX, 0x7788ull, 0xaaaaaaaaaaaa7788ull },
		{ BYTES(0x8a, 0x08), GPR_RCX, 0x88ull, 0xaaaaaaaaaaaaaa88ull },
		{ BYTES(0x8a, 0x28), GPR_RCX, 0x88ull, 0xaaaaaaaaaaaa88aaull },     /* ch */
		{ BYTES(0x40, 0x8a, 0x28), GPR_RBP, 0x88ull, 0xaaaaaaaaaaaaaa88ull }, /* bpl */
		{ BYTES(0x45, 0x8a, 0x38), GPR_R15, 0x01ull, 0xaaaaaaaaaaaaaa01ull }, /* r15b */
		/* MOVZX zero-extends to the register width, then the width rules apply. */
		{ BYTES(0x0f, 0xb6, 0x08), GPR_RCX, 0x88ull, 0x88ull },
		{ BYTES(0x66, 0x0f, 0xb6, 0x08), GPR_RCX, 0x88ull, 0xaaaaaaaaaaaa0088ull },
		{ BYTES(0x48, 0x0f, 0xb7, 0x08), GPR_RCX, 0x8899ull, 0x8899ull },
		/* Bits above the access size in the device's answer are dropped. */
		{ BYTES(0x0f, 0xb7, 0x08), GPR_RCX, 0xffff1234ull, 0x1234ull },
		{ BYTES(0x8a, 0x08), GPR_RCX, 0x1ff, 0xaaaaaaaaaaaaaaffull },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (unsigned i = 0; i < 16; i++)
			gpr[i] = init;
		struct mmio_insn in = decode_ok(cases[k].b, cases[k].n);
		mmio_insn_apply_read(&in, gpr, cases[k].value);
		for (unsigned i = 0; i < 16; i++) {
			uint64_t want = i == cases[k].reg ? cases[k].want : init;
			ck_assert_msg(gpr[i] == want, "case %zu: gpr[%u] = %#llx, want %#llx", k, i,
			              (unsigned long long)gpr[i], (unsigned long long)want);
		}
	}
}
END_TEST

START_TEST(error_strings_and_hex)
{
	for (int e = MMIO_DECODE_OK; e <= MMIO_DECODE_BAD_MODE; e++) {
		const char *s = mmio_decode_strerror((enum mmio_decode_error)e);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_gt(strlen(s), 1);
		for (int f = MMIO_DECODE_OK; f < e; f++)
			ck_assert_str_ne(s, mmio_decode_strerror((enum mmio_decode_error)f));
	}
	ck_assert_str_eq(mmio_decode_strerror(MMIO_DECODE_SEGMENT_CONFLICT),
	                 "two different segment-override prefixes");
	ck_assert_str_eq(mmio_cpu_mode_name(MMIO_MODE_16), "16-bit");
	ck_assert_str_eq(mmio_cpu_mode_name(MMIO_MODE_32), "32-bit");
	ck_assert_str_eq(mmio_cpu_mode_name(MMIO_MODE_64), "64-bit");
	struct mmio_insn in;
	ck_assert_int_eq(mmio_decode((const uint8_t[]){ 0x89, 0x08 }, 2, (enum mmio_cpu_mode)0, &in),
	                 MMIO_DECODE_BAD_MODE);

	static const uint8_t b[] = { 0x0f, 0xb6, 0x05, 0xff };
	char buf[32];
	ck_assert_uint_eq(mmio_format_bytes(b, 4, buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "0f b6 05 ff");
	ck_assert_uint_eq(mmio_format_bytes(b, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	/* Cut at whole bytes, always terminated. */
	ck_assert_uint_eq(mmio_format_bytes(b, 4, buf, 8), 5);
	ck_assert_str_eq(buf, "0f b6");
	ck_assert_uint_eq(mmio_format_bytes(b, 4, buf, 3), 2);
	ck_assert_str_eq(buf, "0f");
	ck_assert_uint_eq(mmio_format_bytes(b, 4, buf, 2), 0);
	ck_assert_str_eq(buf, "");
	buf[0] = 'x';
	ck_assert_uint_eq(mmio_format_bytes(b, 4, buf, 0), 0);
	ck_assert_int_eq(buf[0], 'x');
}
END_TEST

/* --- 32-bit and 16-bit code ---------------------------------------------- */

#define M32 MMIO_MODE_32
#define M16 MMIO_MODE_16

static void check_mem16(const struct mmio_insn *in, uint8_t base, uint8_t index, int32_t disp,
                        uint8_t seg)
{
	ck_assert_uint_eq(in->mem.addr_size, 2);
	ck_assert_uint_eq(in->mem.base, base);
	ck_assert_uint_eq(in->mem.index, index);
	ck_assert_int_eq(in->mem.disp, disp);
	ck_assert_uint_eq(in->mem.seg, seg);
	ck_assert(!in->mem.rip_relative);
}

START_TEST(mode_32_bit)
{
	/* The moffs of a 32-bit code segment is 4 bytes: 5 bytes in all, not 9. */
	struct mmio_insn in = decode_ok_in(M32, BYTES(0xa3, 0x04, 0x00, 0xfe, 0xca));
	ck_assert_uint_eq(in.length, 5);
	ck_assert_uint_eq(in.size, 4);
	ck_assert_int_eq(in.dir, MMIO_WRITE);
	ck_assert_uint_eq(in.mem.abs, 0xcafe0004u);
	ck_assert_uint_eq(in.mem.addr_size, 4);
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_DS);
	in = decode_ok_in(M32, BYTES(0x66, 0xa3, 1, 2, 3, 4));
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.length, 6);
	in = decode_ok_in(M32, BYTES(0x67, 0xa1, 0x34, 0x12));            /* moffs16 */
	ck_assert_uint_eq(in.length, 4);
	ck_assert_uint_eq(in.mem.abs, 0x1234);
	ck_assert_int_eq(in.dir, MMIO_READ);
	ck_assert_uint_eq(decode_ok_in(M32, BYTES(0xa2, 1, 2, 3, 4)).size, 1);

	/* 40-4F are INC/DEC, not REX. */
	decode_err_in(M32, BYTES(0x48, 0x89, 0x08), MMIO_DECODE_UNSUPPORTED);
	decode_err_in(M32, BYTES(0x41, 0xa3, 1, 2, 3, 4), MMIO_DECODE_UNSUPPORTED);
	in = decode_ok_in(M32, BYTES(0x89, 0x08));                        /* mov [eax], ecx */
	ck_assert_uint_eq(in.size, 4);
	ck_assert_uint_eq(in.mem.base, GPR_RAX);
	ck_assert_uint_eq(in.mem.addr_size, 4);
	ck_assert_uint_eq(decode_ok_in(M32, BYTES(0x66, 0x89, 0x08)).size, 2);
	/* [disp32] is absolute, not RIP-relative. */
	in = decode_ok_in(M32, BYTES(0x89, 0x05, 0x78, 0x56, 0x34, 0x12));
	ck_assert_uint_eq(in.length, 6);
	check_mem(&in, NONE, NONE, 1, false, 0x12345678);
	in = decode_ok_in(M32, BYTES(0x89, 0x45, 0xfc));                  /* [ebp-4] */
	check_mem(&in, GPR_RBP, NONE, 1, false, -4);
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_SS);
	ck_assert_uint_eq(decode_ok_in(M32, BYTES(0x89, 0x04, 0x24)).mem.seg, MMIO_SEG_SS);
	in = decode_ok_in(M32, BYTES(0x89, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00));
	check_mem(&in, NONE, GPR_RCX, 4, false, 0x1000);
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_DS);
	/* 67: 16-bit addressing. */
	in = decode_ok_in(M32, BYTES(0x67, 0x89, 0x07));                  /* [bx] */
	ck_assert_uint_eq(in.length, 3);
	check_mem16(&in, GPR_RBX, NONE, 0, MMIO_SEG_DS);
	in = decode_ok_in(M32, BYTES(0x67, 0x89, 0x46, 0x02));            /* [bp+2] */
	check_mem16(&in, GPR_RBP, NONE, 2, MMIO_SEG_SS);
	/* Immediates follow the operand size. */
	in = decode_ok_in(M32, BYTES(0xc7, 0x00, 1, 2, 3, 4));
	ck_assert_uint_eq(in.length, 6);
	ck_assert_uint_eq(in.imm, 0x04030201);
	in = decode_ok_in(M32, BYTES(0x66, 0xc7, 0x00, 1, 2));
	ck_assert_uint_eq(in.length, 5);
	ck_assert_uint_eq(in.imm, 0x0201);
	/* No REX: 4..7 are always AH..BH. */
	in = decode_ok_in(M32, BYTES(0x8a, 0x20));
	ck_assert(in.high_byte);
	in = decode_ok_in(M32, BYTES(0x0f, 0xb7, 0x07));                  /* movzx eax, word [edi] */
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.reg_size, 4);
	/* A segment override is honoured (its base counts outside 64-bit mode). */
	ck_assert_uint_eq(decode_ok_in(M32, BYTES(0x2e, 0x89, 0x08)).mem.seg, MMIO_SEG_CS);
}
END_TEST

START_TEST(mode_16_bit)
{
	/* The 16-bit ModRM table: eight base/index pairs, no SIB. */
	struct mmio_insn in = decode_ok_in(M16, BYTES(0x89, 0x00));       /* [bx+si] */
	ck_assert_uint_eq(in.length, 2);
	ck_assert_uint_eq(in.size, 2);
	check_mem16(&in, GPR_RBX, GPR_RSI, 0, MMIO_SEG_DS);
	in = decode_ok_in(M16, BYTES(0x89, 0x01));                        /* [bx+di] */
	check_mem16(&in, GPR_RBX, GPR_RDI, 0, MMIO_SEG_DS);
	in = decode_ok_in(M16, BYTES(0x89, 0x02));                        /* [bp+si] */
	check_mem16(&in, GPR_RBP, GPR_RSI, 0, MMIO_SEG_SS);
	in = decode_ok_in(M16, BYTES(0x89, 0x03));                        /* [bp+di] */
	check_mem16(&in, GPR_RBP, GPR_RDI, 0, MMIO_SEG_SS);
	in = decode_ok_in(M16, BYTES(0x89, 0x04));                        /* [si] */
	check_mem16(&in, GPR_RSI, NONE, 0, MMIO_SEG_DS);
	in = decode_ok_in(M16, BYTES(0x89, 0x05));                        /* [di] */
	check_mem16(&in, GPR_RDI, NONE, 0, MMIO_SEG_DS);
	in = decode_ok_in(M16, BYTES(0x89, 0x06, 0x34, 0x12));            /* [0x1234] */
	ck_assert_uint_eq(in.length, 4);
	check_mem16(&in, NONE, NONE, 0x1234, MMIO_SEG_DS);
	in = decode_ok_in(M16, BYTES(0x89, 0x46, 0xfe));                  /* [bp-2] */
	ck_assert_uint_eq(in.length, 3);
	check_mem16(&in, GPR_RBP, NONE, -2, MMIO_SEG_SS);
	in = decode_ok_in(M16, BYTES(0x89, 0x86, 0x00, 0x80));            /* [bp+disp16] */
	ck_assert_uint_eq(in.length, 4);
	check_mem16(&in, GPR_RBP, NONE, -32768, MMIO_SEG_SS);
	in = decode_ok_in(M16, BYTES(0x89, 0x47, 0x10));                  /* [bx+16] */
	check_mem16(&in, GPR_RBX, NONE, 16, MMIO_SEG_DS);
	in = decode_ok_in(M16, BYTES(0x8b, 0x1e, 0x34, 0x12));            /* mov bx, [0x1234] */
	ck_assert_int_eq(in.dir, MMIO_READ);
	ck_assert_uint_eq(in.reg, GPR_RBX);
	ck_assert_uint_eq(in.reg_size, 2);

	/* 66 makes the operand 4 bytes. */
	ck_assert_uint_eq(decode_ok_in(M16, BYTES(0x66, 0x89, 0x07)).size, 4);
	in = decode_ok_in(M16, BYTES(0xc7, 0x06, 0x34, 0x12, 0xcd, 0xab));
	ck_assert_uint_eq(in.length, 6);
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.imm, 0xabcd);
	in = decode_ok_in(M16, BYTES(0x66, 0xc7, 0x06, 0x34, 0x12, 1, 2, 3, 4));
	ck_assert_uint_eq(in.length, 9);
	ck_assert_uint_eq(in.imm, 0x04030201);
	ck_assert_uint_eq(decode_ok_in(M16, BYTES(0xc6, 0x07, 0xff)).length, 3);
	in = decode_ok_in(M16, BYTES(0x0f, 0xb6, 0x07));                  /* movzx ax, byte [bx] */
	ck_assert_uint_eq(in.reg_size, 2);
	ck_assert_uint_eq(decode_ok_in(M16, BYTES(0x66, 0x0f, 0xb6, 0x07)).reg_size, 4);

	/* moffs16, or moffs32 with 67. */
	in = decode_ok_in(M16, BYTES(0xa3, 0x34, 0x12));
	ck_assert_uint_eq(in.length, 3);
	ck_assert_uint_eq(in.size, 2);
	ck_assert_uint_eq(in.mem.abs, 0x1234);
	in = decode_ok_in(M16, BYTES(0x66, 0xa3, 0x34, 0x12));
	ck_assert_uint_eq(in.length, 4);
	ck_assert_uint_eq(in.size, 4);
	in = decode_ok_in(M16, BYTES(0x67, 0xa3, 0x78, 0x56, 0x34, 0x12));
	ck_assert_uint_eq(in.length, 6);
	ck_assert_uint_eq(in.mem.abs, 0x12345678);

	/* 67: 32-bit addressing, with SIB. */
	in = decode_ok_in(M16, BYTES(0x67, 0x89, 0x04, 0x24));            /* [esp] */
	ck_assert_uint_eq(in.length, 4);
	ck_assert_uint_eq(in.mem.addr_size, 4);
	ck_assert_uint_eq(in.mem.seg, MMIO_SEG_SS);
	in = decode_ok_in(M16, BYTES(0x67, 0x66, 0x89, 0x05, 0x00, 0x00, 0x00, 0x40));
	ck_assert_uint_eq(in.length, 8);
	ck_assert_uint_eq(in.size, 4);
	check_mem(&in, NONE, NONE, 1, false, 0x40000000);

	decode_err_in(M16, BYTES(0x40), MMIO_DECODE_UNSUPPORTED);         /* inc ax */
	decode_err_in(M16, BYTES(0x89), MMIO_DECODE_TRUNCATED);
	decode_err_in(M16, BYTES(0x89, 0x06, 0x34), MMIO_DECODE_TRUNCATED);
	decode_err_in(M16, BYTES(0xf3, 0x89, 0x07), MMIO_DECODE_LOCK_REP);

	/* A read into AH. */
	uint64_t gpr[16] = { [GPR_RAX] = 0x1111 };
	in = decode_ok_in(M16, BYTES(0x8a, 0x27));
	mmio_insn_apply_read(&in, gpr, 0x88);
	ck_assert_uint_eq(gpr[GPR_RAX], 0x8811);
}
END_TEST

START_TEST(linear_addresses)
{
	uint64_t gpr[16] = { [GPR_RAX] = 0x1000, [GPR_RCX] = 3, [GPR_RBP] = 0x2000 };
	/* 64-bit: base + index * scale + disp; only FS/GS bases count. */
	struct mmio_insn in = decode_ok(BYTES(0x89, 0x04, 0x88));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x5000), 0x100c);
	in = decode_ok(BYTES(0x64, 0x89, 0x04, 0x88));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x70000000), 0x7000100c);
	in = decode_ok(BYTES(0x89, 0x48, 0xf0));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0), 0xff0);
	/* RIP-relative counts from the next instruction. */
	in = decode_ok(BYTES(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0x400000, 0), 0x400016);
	/* 67: the offset wraps at 4 GiB, EIP-relative too. */
	gpr[GPR_RAX] = 0x100001000ull;
	in = decode_ok(BYTES(0x67, 0x89, 0x00));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0), 0x1000);
	in = decode_ok(BYTES(0x67, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff));
	ck_assert_uint_eq(in.length, 7);
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0x100000008ull, 0), 0xffffffffull);
	/* 64-bit arithmetic wraps at 2^64. */
	gpr[GPR_RAX] = ~0ull;
	in = decode_ok(BYTES(0x89, 0x48, 0x01));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0), 0);
	in = decode_ok(BYTES(0xa3, 0x04, 0x00, 0xfe, 0xca, 0x00, 0x80, 0xff, 0xff));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0), 0xffff8000cafe0004ull);

	/* 32-bit: every segment base counts, the sum wraps at 4 GiB, the
	 * registers' upper halves do not count. */
	gpr[GPR_RAX] = 0xdead000040000000ull;
	in = decode_ok_in(M32, BYTES(0x89, 0x08));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x10), 0x40000010);
	gpr[GPR_RAX] = 0x20;
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0xfffffff0u), 0x10);
	in = decode_ok_in(M32, BYTES(0xa3, 0x00, 0x00, 0x00, 0x40));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x1000), 0x40001000);

	/* 16-bit: the offset wraps at 64 KiB before the base is added. */
	gpr[GPR_RBX] = 0xfff0;
	gpr[GPR_RSI] = 0x20;
	in = decode_ok_in(M16, BYTES(0x89, 0x00));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x40000000), 0x40000010);
	gpr[GPR_RBP] = 0;
	in = decode_ok_in(M16, BYTES(0x89, 0x46, 0xfe));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x1000), 0x10ffe);
	gpr[GPR_RAX] = 0x12345;
	in = decode_ok_in(M16, BYTES(0x67, 0x89, 0x00));
	ck_assert_uint_eq(mmio_insn_linear_address(&in, gpr, 0, 0x100), 0x12445);
}
END_TEST

/* --- comparison with Zydis (tests/host/mmio_zydis.h) ---------------------- */

struct tally {
	unsigned long cases;           /* buffers decoded by both */
	unsigned long counts[4];       /* by enum mmio_zydis_verdict */
};

static struct mmio_zydis zyd;
static unsigned long total_compared[65];   /* by mode: 16, 32, 64 */

static void zydis_init(enum mmio_cpu_mode mode)
{
	ck_assert(mmio_zydis_init(&zyd, mode));
}

static void compare(const uint8_t *b, size_t n, struct tally *t)
{
	char why[120];
	enum mmio_zydis_verdict v = mmio_zydis_compare(&zyd, b, n, why, sizeof(why));
	t->cases++;
	t->counts[v]++;
	total_compared[zyd.mode]++;
	if (v == MMIO_ZYDIS_MISMATCH && t->counts[v] <= 20) {
		char hex[3 * 16 + 1];
		mmio_format_bytes(b, n < 16 ? n : 16, hex, sizeof(hex));
		fprintf(stderr, "%s mode: mismatch on [%s] avail=%zu: %s\n",
		        mmio_cpu_mode_name(zyd.mode), hex, n, why);
	}
}

static void print_tally(const char *name, const struct tally *t)
{
	printf("%s, %s mode: %lu cases: %lu identical decodes, %lu identical refusals, "
	       "%lu rejected by both, %lu mismatches\n", name, mmio_cpu_mode_name(zyd.mode),
	       t->cases, t->counts[MMIO_ZYDIS_SAME_DECODE], t->counts[MMIO_ZYDIS_SAME_REFUSAL],
	       t->counts[MMIO_ZYDIS_BOTH_REJECT], t->counts[MMIO_ZYDIS_MISMATCH]);
	fflush(stdout);
}

/* xorshift64*: deterministic, so a failure reproduces with the same seed. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)((rng() >> 32) % n);
}

/* The opcodes, moffs included: for A0-A3 the "ModRM" and "SIB" bytes of the
 * sweep are the first bytes of the offset. */
static const uint8_t supported_ops[][2] = {
	{ 0x88 }, { 0x89 }, { 0x8a }, { 0x8b }, { 0xc6 }, { 0xc7 }, { 0x0f, 0xb6 }, { 0x0f, 0xb7 },
	{ 0xa0 }, { 0xa1 }, { 0xa2 }, { 0xa3 },
};
#define NUM_OPS (sizeof(supported_ops) / sizeof(supported_ops[0]))
#define NUM_MODRM_OPS 8

static const enum mmio_cpu_mode all_modes[] = { MMIO_MODE_64, MMIO_MODE_32, MMIO_MODE_16 };

static size_t put_opcode(uint8_t *b, size_t i, unsigned k)
{
	b[i++] = supported_ops[k][0];
	if (supported_ops[k][0] == 0x0f)
		b[i++] = supported_ops[k][1];
	return i;
}

/* True if the ModRM byte is followed by a SIB with this address size. */
static bool has_sib(unsigned modrm, bool addr16)
{
	return !addr16 && (modrm >> 6) != 3 && (modrm & 7) == 4;
}

/* Every opcode x ModRM x (SIB when one is read) x {no 66, 66} x {no 67, 67},
 * with REX (none or each of 16) in 64-bit mode and a segment prefix (none,
 * CS, SS, FS) in 32/16-bit mode, followed by fixed displacement/immediate
 * bytes whose sign bits are set. */
static void sweep(enum mmio_cpu_mode mode)
{
	zydis_init(mode);
	static const int segs[] = { -1, 0x2e, 0x36, 0x64 };
	int rex_end = mode == MMIO_MODE_64 ? 16 : 0;
	unsigned nseg = mode == MMIO_MODE_64 ? 1 : 4;
	struct tally t = { 0 };
	for (unsigned k = 0; k < NUM_OPS; k++)
	for (int rex = -1; rex < rex_end; rex++)
	for (unsigned s = 0; s < nseg; s++)
	for (unsigned o16 = 0; o16 < 2; o16++)
	for (unsigned a = 0; a < 2; a++)
	for (unsigned modrm = 0; modrm < 256; modrm++) {
		bool addr16 = mode == MMIO_MODE_16 ? !a : mode == MMIO_MODE_32 ? a : false;
		bool sib = k < NUM_MODRM_OPS && has_sib(modrm, addr16);
		for (unsigned sibv = 0; sibv < (sib ? 256u : 1u); sibv++) {
			uint8_t b[MMIO_INSN_MAX_LEN];
			size_t i = 0;
			if (segs[s] >= 0)
				b[i++] = (uint8_t)segs[s];
			if (o16)
				b[i++] = 0x66;
			if (a)
				b[i++] = 0x67;
			if (rex >= 0)
				b[i++] = (uint8_t)(0x40 + rex);
			i = put_opcode(b, i, k);
			b[i++] = (uint8_t)modrm;
			if (sib)
				b[i++] = (uint8_t)sibv;
			for (uint8_t fill = 0xf1; i < sizeof(b); fill--)
				b[i++] = fill;
			compare(b, sizeof(b), &t);
		}
	}
	print_tally("zydis exhaustive ModRM/SIB", &t);
	ck_assert_uint_eq(t.counts[MMIO_ZYDIS_MISMATCH], 0);
	ck_assert_uint_gt(t.counts[MMIO_ZYDIS_SAME_DECODE], 100000);
}

START_TEST(zydis_exhaustive_modrm_sib)
{
	sweep(all_modes[_i]);
}
END_TEST

static const uint8_t prefix_pool[] = {
	0x66, 0x66, 0x66, 0x66, 0x67, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf0, 0xf2, 0xf3,
};

/* A random encoding that is usually one of ours: prefixes, REX (sometimes
 * misplaced or doubled; outside 64-bit mode an INC/DEC), opcode, ModRM
 * biased to memory forms, then random bytes for SIB/disp/imm and beyond.
 * Returns the avail to decode with. */
static size_t random_encoding(uint8_t *b, size_t cap, bool rex_ok)
{
	size_t i = 0;
	unsigned r = rng_below(100);
	unsigned nprefix = r < 45 ? 0 : r < 70 ? 1 : r < 85 ? 2 : r < 95 ? 3 : 4 + rng_below(8);
	bool rex_early = nprefix > 0 && rng_below(5) == 0;
	for (unsigned p = 0; p < nprefix; p++) {
		if (rex_early && p == nprefix - 1)
			b[i++] = (uint8_t)(0x40 + rng_below(16));
		b[i++] = prefix_pool[rng_below(sizeof(prefix_pool))];
	}
	if (rng_below(10) < (rex_ok ? 6u : 1u)) {
		if (rng_below(10) == 0)
			b[i++] = (uint8_t)(0x40 + rng_below(16));
		b[i++] = (uint8_t)(0x40 + rng_below(16));
	}
	if (rng_below(10) == 0) {
		if (rng_below(2))
			b[i++] = 0x0f;
		b[i++] = (uint8_t)rng();
	} else {
		i = put_opcode(b, i, rng_below(NUM_OPS));
	}
	uint8_t mod = rng_below(10) == 0 ? 3 : (uint8_t)rng_below(3);
	uint8_t reg = (uint8_t)rng_below(8);
	if ((b[i - 1] == 0xc6 || b[i - 1] == 0xc7) && rng_below(8) != 0)
		reg = 0;
	if (i < cap)
		b[i++] = (uint8_t)(mod << 6 | reg << 3 | rng_below(8));
	while (i < cap)
		b[i++] = (uint8_t)rng();
	/* Mostly the full window; sometimes a short one, as at the end of a page. */
	return rng_below(8) == 0 ? rng_below((unsigned)cap + 1) : MMIO_INSN_MAX_LEN;
}

START_TEST(zydis_random_encodings)
{
	enum mmio_cpu_mode mode = all_modes[_i];
	zydis_init(mode);
	rng_state = 0x2545f4914f6cdd1dull + (uint64_t)mode;
	struct tally t = { 0 };
	for (unsigned k = 0; k < 200000; k++) {
		uint8_t b[32];
		size_t n = random_encoding(b, sizeof(b), mode == MMIO_MODE_64);
		compare(b, n, &t);
		/* The same bytes with one random bit flipped in the first 8. */
		b[rng_below(8)] ^= (uint8_t)(1u << rng_below(8));
		compare(b, n, &t);
	}
	print_tally("zydis random encodings", &t);
	ck_assert_uint_eq(t.counts[MMIO_ZYDIS_MISMATCH], 0);
	ck_assert_uint_ge(t.counts[MMIO_ZYDIS_SAME_DECODE], 5000);
	ck_assert_uint_ge(t.counts[MMIO_ZYDIS_SAME_REFUSAL], 1000);
}
END_TEST

START_TEST(zydis_random_garbage)
{
	enum mmio_cpu_mode mode = all_modes[_i];
	zydis_init(mode);
	rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)mode;
	struct tally t = { 0 };
	for (unsigned k = 0; k < 200000; k++) {
		uint8_t b[MMIO_INSN_MAX_LEN];
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rng();
		compare(b, sizeof(b), &t);
	}
	print_tally("zydis random garbage", &t);
	ck_assert_uint_eq(t.counts[MMIO_ZYDIS_MISMATCH], 0);
}
END_TEST

/* The Zydis tests run in this process (CK_NOFORK below), so the counts add up. */
static void print_totals(void)
{
	printf("zydis cross-check: %lu encodings in 64-bit mode, %lu in 32-bit mode, "
	       "%lu in 16-bit mode\n", total_compared[64], total_compared[32], total_compared[16]);
}

int main(void)
{
	Suite *s = suite_create("mmio_decode");
	TCase *hand = tcase_create("hand_written");
	tcase_add_test(hand, store_register_sizes);
	tcase_add_test(hand, high_byte_registers);
	tcase_add_test(hand, rex_placement);
	tcase_add_test(hand, modrm_forms);
	tcase_add_test(hand, rip_relative);
	tcase_add_test(hand, sib_forms);
	tcase_add_test(hand, store_immediate);
	tcase_add_test(hand, loads);
	tcase_add_test(hand, segment_prefixes);
	tcase_add_test(hand, refused_prefixes);
	tcase_add_test(hand, unsupported_and_register_forms);
	tcase_add_test(hand, moffs_forms);
	tcase_add_test(hand, truncation_and_length_limit);
	tcase_add_test(hand, write_values);
	tcase_add_test(hand, read_results);
	tcase_add_test(hand, error_strings_and_hex);
	tcase_add_test(hand, mode_32_bit);
	tcase_add_test(hand, mode_16_bit);
	tcase_add_test(hand, linear_addresses);
	suite_add_tcase(s, hand);

	TCase *zydis = tcase_create("zydis");
	/* Millions of decodes under AddressSanitizer: well past check's 4 s default. */
	tcase_set_timeout(zydis, 300);
	tcase_add_loop_test(zydis, zydis_exhaustive_modrm_sib, 0, 3);
	tcase_add_loop_test(zydis, zydis_random_encodings, 0, 3);
	tcase_add_loop_test(zydis, zydis_random_garbage, 0, 3);
	suite_add_tcase(s, zydis);

	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	print_totals();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
