/* libFuzzer harness for the MMIO instruction decoder
 * (project3/vmexit/mmio_decode.c), checked against Zydis.
 *
 * An input is the bytes at a guest's RIP, as many as the guest left readable
 * (so an input shorter than 15 bytes stands for an instruction cut by an
 * unmapped page, a longer one for a run of prefixes). Every input is decoded
 * in 64-, 32- and 16-bit mode, and in each mode:
 *   - ours and Zydis must agree (tests/host/mmio_zydis.h): the same length,
 *     direction, sizes, register, immediate and memory operand, or a refusal
 *     the decoder documents (LOCK/REP, conflicting segment overrides), or
 *     both see no supported instruction;
 *   - an accepted instruction is at most min(size, 15) bytes long, every
 *     shorter prefix of it is TRUNCATED, and the helpers that use a decode
 *     (linear address, write value, read result) run on it.
 * The input is exactly as long as libFuzzer made it, so ASan reports any read
 * past the bytes the decoder was given. A disagreement prints the mode, the
 * bytes and the differing field, then aborts; replay with
 *   build/fuzz/fuzz_mmio_decode build/fuzz/decode/crash-<hash> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/host/mmio_zydis.h"

static struct mmio_zydis zydis[3];

static void fail(enum mmio_cpu_mode mode, const uint8_t *b, size_t n, const char *why)
{
	char hex[3 * 32 + 1];
	mmio_format_bytes(b, n < 32 ? n : 32, hex, sizeof(hex));
	fprintf(stderr, "fuzz_mmio_decode: %s mode, bytes [%s] (%zu): %s\n",
	        mmio_cpu_mode_name(mode), hex, n, why);
	abort();
}

static void check_accepted(enum mmio_cpu_mode mode, const uint8_t *b, size_t n)
{
	struct mmio_insn in;
	if (mmio_decode(b, n, mode, &in) != MMIO_DECODE_OK)
		return;
	if (in.length == 0 || in.length > n || in.length > MMIO_INSN_MAX_LEN)
		fail(mode, b, n, "accepted length outside 1..min(avail, 15)");
	for (size_t k = 0; k < in.length; k++) {
		struct mmio_insn t;
		if (mmio_decode(b, k, mode, &t) != MMIO_DECODE_TRUNCATED)
			fail(mode, b, k, "a shorter prefix of an accepted instruction is not TRUNCATED");
	}
	uint64_t gpr[16];
	for (unsigned r = 0; r < 16; r++)
		gpr[r] = 0x0123456789abcdefull * (r + 1);
	uint64_t linear = mmio_insn_linear_address(&in, gpr, 0xfffffffffffffff0ull, 0xfffff000ull);
	if (mode != MMIO_MODE_64 && linear > 0xffffffffull)
		fail(mode, b, n, "a linear address above 4 GiB outside 64-bit mode");
	if (in.dir == MMIO_WRITE) {
		uint64_t v = mmio_insn_write_value(&in, gpr);
		if (in.size < 8 && (v >> (8 * in.size)) != 0)
			fail(mode, b, n, "write value wider than the access");
	} else {
		mmio_insn_apply_read(&in, gpr, ~0ull);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const enum mmio_cpu_mode modes[3] = { MMIO_MODE_64, MMIO_MODE_32, MMIO_MODE_16 };
	for (int m = 0; m < 3; m++)
		if (!mmio_zydis_init(&zydis[m], modes[m])) {
			fprintf(stderr, "fuzz_mmio_decode: Zydis refuses %s mode\n",
			        mmio_cpu_mode_name(modes[m]));
			exit(1);
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int m = 0; m < 3; m++) {
		char why[120];
		if (mmio_zydis_compare(&zydis[m], data, size, why, sizeof(why)) == MMIO_ZYDIS_MISMATCH)
			fail(zydis[m].mode, data, size, why);
		check_accepted(zydis[m].mode, data, size);
	}
	return 0;
}
