/* Host tests for the MMIO instruction decoder (project3/vmexit/mmio_decode.c).
 *
 * Two kinds of evidence:
 *  - hand-written encodings, one per ModRM/SIB/displacement form, prefix rule
 *    and error, with the expected fields worked out from the SDM by hand;
 *  - a comparison with libzydis, an independent decoder, over an exhaustive
 *    sweep of opcode x REX x 66 x ModRM x SIB and over random encodings,
 *    mutated encodings and random garbage from a fixed-seed PRNG.
 *
 * The comparison rule (see compare()): whenever Zydis decodes a supported MOV
 * or MOVZX with a memory operand, ours must either return the same length,
 * sizes, direction, register, immediate and memory operand, or, when the
 * instruction carries a prefix we refuse by design (F0/F2/F3, 67, 64/65), that
 * refusal. Whenever ours accepts bytes, Zydis must decode them as exactly that
 * instruction. Zydis's view of the prefixes comes from its raw prefix list, so
 * a prefix-parsing mistake on our side shows up as a mismatch. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <Zydis/Zydis.h>
#include "project3/vmexit/mmio_decode.h"

/* --- hand-written cases --------------------------------------------------- */

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static struct mmio_insn decode_ok(const uint8_t *b, size_t n)
{
	struct mmio_insn in;
	enum mmio_decode_error e = mmio_decode(b, n, &in);
	ck_assert_msg(e == MMIO_DECODE_OK, "decode failed: %s", mmio_decode_strerror(e));
	/* Every proper prefix of an accepted instruction is truncated, and any
	 * trailing bytes are not part of it. */
	for (size_t k = 0; k < in.length; k++) {
		struct mmio_insn t;
		ck_assert_int_eq(mmio_decode(b, k, &t), MMIO_DECODE_TRUNCATED);
	}
	uint8_t longer[32];
	memset(longer, 0x90, sizeof(longer));
	memcpy(longer, b, n);
	struct mmio_insn again;
	ck_assert_int_eq(mmio_decode(longer, sizeof(longer), &again), MMIO_DECODE_OK);
	ck_assert_uint_eq(again.length, in.length);
	return in;
}

static void decode_err(const uint8_t *b, size_t n, enum mmio_decode_error want)
{
	struct mmio_insn in;
	enum mmio_decode_error e = mmio_decode(b, n, &in);
	ck_assert_msg(e == want, "got \"%s\", want \"%s\"", mmio_decode_strerror(e),
	              mmio_decode_strerror(want));
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
	struct mmio_insn in = decode_ok(BYTES(0x2e, 0x36, 0x3e, 0x26, 0x89, 0x08));
	ck_assert_uint_eq(in.length, 6);
	decode_err(BYTES(0x64, 0x89, 0x08), MMIO_DECODE_SEGMENT_BASE);
	decode_err(BYTES(0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), MMIO_DECODE_SEGMENT_BASE);
	decode_err(BYTES(0x65, 0x2e, 0x89, 0x08), MMIO_DECODE_SEGMENT_BASE);
}
END_TEST

START_TEST(refused_prefixes)
{
	decode_err(BYTES(0x67, 0x89, 0x08), MMIO_DECODE_ADDRESS_SIZE);
	decode_err(BYTES(0x67, 0x48, 0x89, 0x08), MMIO_DECODE_ADDRESS_SIZE);
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
	decode_err(BYTES(0x67, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), MMIO_DECODE_ADDRESS_SIZE);
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
	ck_assert_int_eq(mmio_decode(NULL, 0, &in), MMIO_DECODE_TRUNCATED);
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
	for (int e = MMIO_DECODE_OK; e <= MMIO_DECODE_SEGMENT_BASE; e++) {
		const char *s = mmio_decode_strerror((enum mmio_decode_error)e);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_gt(strlen(s), 1);
		for (int f = MMIO_DECODE_OK; f < e; f++)
			ck_assert_str_ne(s, mmio_decode_strerror((enum mmio_decode_error)f));
	}
	ck_assert_str_eq(mmio_decode_strerror(MMIO_DECODE_SEGMENT_BASE),
	                 "segment base not supported (FS/GS override)");

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

/* --- comparison with Zydis ------------------------------------------------ */

struct expectation {
	bool supported;                /* Zydis sees one of our MOV/MOVZX with memory */
	enum mmio_decode_error err;    /* what ours must return when supported */
	struct mmio_insn insn;         /* the fields, when err is OK */
};

struct tally {
	unsigned long cases;           /* buffers decoded by both */
	unsigned long matched_ok;      /* both decoded the same instruction */
	unsigned long matched_refusal; /* supported MOV with a prefix we refuse */
	unsigned long both_rejected;   /* neither sees a supported instruction */
	unsigned long mismatches;
};

static ZydisDecoder zdec;

static void zydis_init(void)
{
	ck_assert(ZYAN_SUCCESS(ZydisDecoderInit(&zdec, ZYDIS_MACHINE_MODE_LONG_64,
	                                        ZYDIS_STACK_WIDTH_64)));
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

static uint8_t zydis_addr_reg(ZydisRegister r)
{
	uint8_t num, width;
	bool high;
	if (r == ZYDIS_REGISTER_NONE || r == ZYDIS_REGISTER_RIP)
		return MMIO_NO_REG;
	if (!zydis_gpr(r, &num, &high, &width) || width != 8)
		return 0xee;    /* never equal to ours: reported as a mismatch */
	return num;
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

static struct expectation zydis_expect(const uint8_t *b, size_t n)
{
	struct expectation x;
	memset(&x, 0, sizeof(x));
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zdec, b, n, &zi, ops)) || !supported_opcode(&zi))
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

	bool lock_rep = false, addr32 = false, fsgs = false;
	for (unsigned k = 0; k < zi.raw.prefix_count; k++) {
		uint8_t p = zi.raw.prefixes[k].value;
		lock_rep |= p == 0xf0 || p == 0xf2 || p == 0xf3;
		addr32 |= p == 0x67;
		fsgs |= p == 0x64 || p == 0x65;
	}
	x.err = lock_rep ? MMIO_DECODE_LOCK_REP : addr32 ? MMIO_DECODE_ADDRESS_SIZE :
	        fsgs ? MMIO_DECODE_SEGMENT_BASE : MMIO_DECODE_OK;

	struct mmio_insn *in = &x.insn;
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
		in->imm = imm->imm.value.u & (in->size == 8 ? ~0ull : (1ull << (8 * in->size)) - 1);
	}
	in->mem.rip_relative = mem->mem.base == ZYDIS_REGISTER_RIP;
	in->mem.base = zydis_addr_reg(mem->mem.base);
	in->mem.index = zydis_addr_reg(mem->mem.index);
	in->mem.scale = mem->mem.scale;
	if (zi.opcode >= 0xa0 && zi.opcode <= 0xa3) {
		in->mem.absolute = true;
		in->mem.abs = (uint64_t)mem->mem.disp.value;
	} else {
		in->mem.disp = (int32_t)mem->mem.disp.value;
	}
	return x;
}

static bool same_insn(const struct mmio_insn *a, const struct mmio_insn *z)
{
	if (a->length != z->length || a->size != z->size || a->dir != z->dir ||
	    a->has_imm != z->has_imm || a->mem.base != z->mem.base ||
	    a->mem.index != z->mem.index || a->mem.rip_relative != z->mem.rip_relative ||
	    a->mem.disp != z->mem.disp || a->mem.absolute != z->mem.absolute ||
	    a->mem.abs != z->mem.abs)
		return false;
	if (a->mem.index != MMIO_NO_REG && a->mem.scale != z->mem.scale)
		return false;
	if (a->has_imm)
		return a->imm == z->imm;
	if (a->reg != z->reg || a->high_byte != z->high_byte)
		return false;
	return a->dir == MMIO_WRITE || a->reg_size == z->reg_size;
}

static void report_mismatch(const uint8_t *b, size_t n, const char *what)
{
	char hex[3 * 16 + 1];
	mmio_format_bytes(b, n < 16 ? n : 16, hex, sizeof(hex));
	fprintf(stderr, "mismatch (%s) on [%s] avail=%zu\n", what, hex, n);
}

/* Decodes b[0..n) with both decoders and records whether they agree. */
static void compare(const uint8_t *b, size_t n, struct tally *t)
{
	struct expectation x = zydis_expect(b, n);
	struct mmio_insn ours;
	memset(&ours, 0, sizeof(ours));
	enum mmio_decode_error e = mmio_decode(b, n, &ours);
	t->cases++;
	if (x.supported) {
		if (e != x.err) {
			report_mismatch(b, n, mmio_decode_strerror(e));
			t->mismatches++;
		} else if (e == MMIO_DECODE_OK && !same_insn(&ours, &x.insn)) {
			report_mismatch(b, n, "fields differ");
			t->mismatches++;
		} else if (e == MMIO_DECODE_OK) {
			t->matched_ok++;
		} else {
			t->matched_refusal++;
		}
	} else if (e == MMIO_DECODE_OK) {
		report_mismatch(b, n, "accepted what Zydis does not see as a supported MOV");
		t->mismatches++;
	} else {
		t->both_rejected++;
	}
}

static void print_tally(const char *name, const struct tally *t)
{
	printf("%s: %lu cases: %lu identical decodes, %lu identical refusals, "
	       "%lu rejected by both, %lu mismatches\n",
	       name, t->cases, t->matched_ok, t->matched_refusal, t->both_rejected, t->mismatches);
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

static const uint8_t supported_ops[][2] = {
	{ 0x88 }, { 0x89 }, { 0x8a }, { 0x8b }, { 0xc6 }, { 0xc7 }, { 0x0f, 0xb6 }, { 0x0f, 0xb7 },
};
#define NUM_OPS (sizeof(supported_ops) / sizeof(supported_ops[0]))

static size_t put_opcode(uint8_t *b, size_t i, unsigned k)
{
	b[i++] = supported_ops[k][0];
	if (supported_ops[k][0] == 0x0f)
		b[i++] = supported_ops[k][1];
	return i;
}

/* Every opcode x {no REX, each REX} x {no 66, 66} x ModRM x (SIB when one is
 * read), with fixed displacement/immediate bytes whose sign bits are set. */
START_TEST(zydis_exhaustive_modrm_sib)
{
	zydis_init();
	struct tally t = { 0 };
	for (unsigned k = 0; k < NUM_OPS; k++)
	for (int rex = -1; rex < 16; rex++)
	for (unsigned o16 = 0; o16 < 2; o16++)
	for (unsigned modrm = 0; modrm < 256; modrm++) {
		bool has_sib = (modrm >> 6) != 3 && (modrm & 7) == 4;
		for (unsigned sib = 0; sib < (has_sib ? 256u : 1u); sib++) {
			uint8_t b[MMIO_INSN_MAX_LEN];
			size_t i = 0;
			if (o16)
				b[i++] = 0x66;
			if (rex >= 0)
				b[i++] = (uint8_t)(0x40 + rex);
			i = put_opcode(b, i, k);
			b[i++] = (uint8_t)modrm;
			if (has_sib)
				b[i++] = (uint8_t)sib;
			for (uint8_t fill = 0xf1; i < sizeof(b); fill--)
				b[i++] = fill;
			compare(b, sizeof(b), &t);
		}
	}
	print_tally("zydis exhaustive ModRM/SIB", &t);
	ck_assert_uint_eq(t.mismatches, 0);
	ck_assert_uint_gt(t.matched_ok, 100000);
}
END_TEST

static const uint8_t prefix_pool[] = {
	0x66, 0x66, 0x66, 0x66, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x67, 0xf0, 0xf2, 0xf3,
};

/* A random encoding that is usually one of ours: prefixes, REX (sometimes
 * misplaced or doubled), opcode, ModRM biased to memory forms, then random
 * bytes for SIB/disp/imm and beyond. Returns the avail to decode with. */
static size_t random_encoding(uint8_t *b, size_t cap)
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
	if (rng_below(10) < 6) {
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
	zydis_init();
	rng_state = 0x2545f4914f6cdd1dull;
	struct tally t = { 0 };
	for (unsigned k = 0; k < 200000; k++) {
		uint8_t b[32];
		size_t n = random_encoding(b, sizeof(b));
		compare(b, n, &t);
		/* The same bytes with one random bit flipped in the first 8. */
		b[rng_below(8)] ^= (uint8_t)(1u << rng_below(8));
		compare(b, n, &t);
	}
	print_tally("zydis random encodings", &t);
	ck_assert_uint_eq(t.mismatches, 0);
	ck_assert_uint_ge(t.matched_ok, 5000);
	ck_assert_uint_ge(t.matched_refusal, 1000);
}
END_TEST

START_TEST(zydis_random_garbage)
{
	zydis_init();
	rng_state = 0x9e3779b97f4a7c15ull;
	struct tally t = { 0 };
	for (unsigned k = 0; k < 200000; k++) {
		uint8_t b[MMIO_INSN_MAX_LEN];
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rng();
		compare(b, sizeof(b), &t);
	}
	print_tally("zydis random garbage", &t);
	ck_assert_uint_eq(t.mismatches, 0);
}
END_TEST

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
	suite_add_tcase(s, hand);

	TCase *zydis = tcase_create("zydis");
	/* Millions of decodes under AddressSanitizer: well past check's 4 s default. */
	tcase_set_timeout(zydis, 300);
	tcase_add_test(zydis, zydis_exhaustive_modrm_sib);
	tcase_add_test(zydis, zydis_random_encodings);
	tcase_add_test(zydis, zydis_random_garbage);
	suite_add_tcase(s, zydis);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
