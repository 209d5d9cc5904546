/* The MMIO decoder (project3/vmexit/mmio_decode.h) judged against Zydis, an
 * independent x86 decoder, for the host test and the libFuzzer target.
 *
 * The rule: whenever Zydis decodes one of the supported MOV/MOVZX forms with
 * a memory operand, ours must return the same length, direction, access and
 * register sizes, register, immediate and memory operand (base, index, scale,
 * displacement or absolute offset, address size, segment), or, when the
 * instruction carries a prefix refused by design (F0/F2/F3, two different
 * segment overrides), that refusal. Whenever ours accepts bytes, Zydis must
 * decode them as exactly that instruction. Zydis's view of the prefixes
 * comes from its raw prefix list, so a prefix-parsing mistake on our side
 * shows up as a mismatch. In 64-bit mode a segment other than FS and GS has
 * no base, so only FS/GS (or neither) must agree there. */
#ifndef TESTS_HOST_MMIO_ZYDIS_H
#define TESTS_HOST_MMIO_ZYDIS_H
#include <Zydis/Zydis.h>
#include "project3/vmexit/mmio_decode.h"

struct mmio_zydis {
	ZydisDecoder dec;
	enum mmio_cpu_mode mode;
};

enum mmio_zydis_verdict {
	MMIO_ZYDIS_SAME_DECODE,    /* both decoded the same instruction */
	MMIO_ZYDIS_SAME_REFUSAL,   /* a supported MOV with a prefix we refuse, refused */
	MMIO_ZYDIS_BOTH_REJECT,    /* neither sees a supported instruction */
	MMIO_ZYDIS_MISMATCH,
};

/* Sets z up to decode like a CPU running mode code; false if Zydis refuses. */
bool mmio_zydis_init(struct mmio_zydis *z, enum mmio_cpu_mode mode);
/* Decodes b[0..n) with both decoders; on MISMATCH, why says what differs. */
enum mmio_zydis_verdict mmio_zydis_compare(const struct mmio_zydis *z, const uint8_t *b, size_t n,
                                           char *why, size_t why_size);
#endif
