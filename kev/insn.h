/* Instructions kev completes itself: their length, found at RIP.
 *
 * Under QEMU TCG, SVM saves no next RIP and hands over no instruction bytes,
 * so a controller that resumes the guest after CPUID, RDMSR, WRMSR, VMMCALL,
 * HLT, RDPMC or MOV DR must know how long the instruction was. Prefixes make
 * that vary (2e 0f a2 is a CPUID, three bytes long): kev fetches the bytes at
 * RIP through the guest's page tables, skips legacy prefixes (and REX in
 * 64-bit code) up to the opcode it expects, and counts them in.
 *
 * Bytes that are not the instruction that exited mean the guest changed its
 * code (or its page tables) between the exit and the fetch: the VM stops with
 * one line saying so, rather than resuming at a guessed address.
 *
 * The code segment decides the mode: 64-bit when EFER.LMA and CS.L are set,
 * else 32- or 16-bit by CS.D. Outside 64-bit mode 40-4f are INC/DEC, not REX,
 * and RIP wraps at 32 or 16 bits when kev moves it. */
#ifndef KEV_INSN_H
#define KEV_INSN_H
#include "kev/types.h"

struct vcpu;

/* The longest instruction x86 accepts; a longer one raises #GP before it runs. */
#define INSN_MAX_LEN 15

enum insn_mode {
	INSN_MODE_16 = 16,
	INSN_MODE_32 = 32,
	INSN_MODE_64 = 64,
};

/* An instruction kev completes: its opcode bytes, after any prefixes. */
struct insn_form {
	const char *name;            /* "CPUID", for messages */
	uint8_t opcode[3];
	uint8_t opcode_len;
};

extern const struct insn_form insn_cpuid;    /* 0f a2 */
extern const struct insn_form insn_rdmsr;    /* 0f 32 */
extern const struct insn_form insn_wrmsr;    /* 0f 30 */
extern const struct insn_form insn_vmmcall;  /* 0f 01 d9 */
extern const struct insn_form insn_hlt;      /* f4 */
extern const struct insn_form insn_rdpmc;    /* 0f 33 */

/* The prefixes in front of an opcode. */
struct insn_prefixes {
	unsigned len;        /* bytes of prefixes, REX included */
	uint8_t rex;         /* the REX byte in effect (64-bit mode), 0 if none */
	bool lock;           /* f0 */
	bool opsize;         /* 66 */
};

/* The mode of v's current code segment. */
enum insn_mode insn_mode(const struct vcpu *v);
/* Scans the prefixes at the start of bytes[0..n) as mode decodes them;
 * p->len == n when there is nothing but prefixes. */
void insn_scan_prefixes(const uint8_t *bytes, size_t n, enum insn_mode mode, struct insn_prefixes *p);
/* Copies the instruction at RIP (up to INSN_MAX_LEN bytes) into buf; returns
 * how many bytes could be read (fewer at an unmapped page). */
size_t insn_fetch(struct vcpu *v, uint8_t *buf);
/* The length of the instruction at RIP, prefixes counted, if it is form;
 * otherwise stops the VM with one line and returns 0. */
unsigned insn_length(struct vcpu *v, const struct insn_form *form);
/* Moves RIP past len bytes, wrapping as the code segment's mode does, and
 * drops the interrupt shadow. */
void insn_skip(struct vcpu *v, unsigned len);
/* insn_length() then insn_skip(): resumes the guest after form; false (the
 * VM stopped) if the bytes at RIP are not form. */
bool insn_complete(struct vcpu *v, const struct insn_form *form);
/* Stops the VM with VM_ERR_DECODE: the n bytes at RIP are not the what that
 * exited (the guest changed its code or page tables under the exit). */
void insn_fail_changed(struct vcpu *v, const char *what, const uint8_t *bytes, size_t n);
#endif
