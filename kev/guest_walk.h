/* Guest-virtual to guest-physical translation through the guest's own page
 * tables, as the guest's MMU would do it, and the MMU's access checks.
 *
 * Supported modes: paging off (gva == gpa) and 4-level long-mode paging
 * (CR0.PG, CR4.PAE, EFER.LMA) with 4 KiB, 2 MiB and 1 GiB pages. 32-bit
 * paging, PAE without long mode and 5-level paging are refused.
 *
 * The walk reads guest page-table entries through a callback, so the same
 * code runs in the kernel (over the probe) and in host tests (over fake
 * memory). It does not set accessed/dirty bits: it is an inspection, not an
 * access.
 *
 * guest_walk() reports the rights the entries grant; guest_walk_permits()
 * then decides whether one access (read, write or fetch at a privilege level)
 * is allowed, with the rules of the AMD APM vol. 2, 5.6: CPL 3 needs U on
 * every level; a write needs W when at CPL 3 or CR0.WP; a fetch needs no NX
 * anywhere; with CR4.SMEP a supervisor fetch from a user page faults, with
 * CR4.SMAP a supervisor data access to a user page faults unless RFLAGS.AC.
 * Whoever translates an address on the guest's behalf must use both: a
 * hypervisor that skips the checks lets a guest's user code reach memory
 * its own kernel protects. */
#ifndef KEV_GUEST_WALK_H
#define KEV_GUEST_WALK_H
#include "kev/types.h"

#define GUEST_CR0_PE  (1ull << 0)
#define GUEST_CR0_WP  (1ull << 16)
#define GUEST_CR0_PG  (1ull << 31)
#define GUEST_CR4_PAE (1ull << 5)
#define GUEST_CR4_LA57 (1ull << 12)
#define GUEST_CR4_SMEP (1ull << 20)
#define GUEST_CR4_SMAP (1ull << 21)
#define GUEST_EFER_LMA (1ull << 10)
#define GUEST_EFER_NXE (1ull << 11)
#define GUEST_RFLAGS_AC (1ull << 18)

/* Guest page-table entry bits. */
#define GPTE_P   (1ull << 0)
#define GPTE_W   (1ull << 1)
#define GPTE_U   (1ull << 2)
#define GPTE_PS  (1ull << 7)
#define GPTE_NX  (1ull << 63)
#define GPTE_ADDR 0x000ffffffffff000ull

enum guest_walk_error {
	GWALK_OK = 0,
	GWALK_NOT_PRESENT,     /* an entry on the way has P=0 (fault_level says which) */
	GWALK_RESERVED,        /* a large-page entry with a misaligned address, or NX without EFER.NXE */
	GWALK_NON_CANONICAL,   /* bits 63..47 of the gva are not a sign extension */
	GWALK_BAD_TABLE,       /* a page-table page is not guest RAM (read callback failed) */
	GWALK_UNSUPPORTED,     /* a paging mode the walk does not implement */
	/* guest_walk_permits(): the access is not allowed (the guest would take #PF). */
	GWALK_USER_TO_SUPERVISOR, /* CPL 3 access to a page without U */
	GWALK_SUPERVISOR_TO_USER, /* CPL 0-2 fetch (SMEP) or data access (SMAP) on a U page */
	GWALK_READ_ONLY,       /* write to a page without W */
	GWALK_NO_EXECUTE,      /* fetch from a page with NX */
};

/* What an access does, for guest_walk_permits(). */
enum guest_access {
	GUEST_ACCESS_READ,
	GUEST_ACCESS_WRITE,
	GUEST_ACCESS_FETCH,
};

/* Reads the 8-byte entry at gpa; false if that is not guest RAM. */
typedef bool (*guest_read64_fn)(void *ctx, gpa_t gpa, uint64_t *value);

/* The translation of one gva. */
struct guest_walk {
	gpa_t gpa;              /* of the very byte */
	uint64_t page_size;     /* 4 KiB, 2 MiB or 1 GiB (0 with paging off) */
	bool paging;            /* false: paging off, gpa == gva and every access is allowed */
	bool writable, user, executable;   /* combined over every level */
	int fault_level;        /* on GWALK_NOT_PRESENT/RESERVED: 4 = PML4 ... 1 = PT */
};

/* Translates gva for a guest with control registers cr0, cr3, cr4 and efer. */
enum guest_walk_error guest_walk(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
                                 gva_t gva, guest_read64_fn read, void *ctx,
                                 struct guest_walk *out);
/* GWALK_OK if the MMU allows access at privilege cpl (0-3) on the page w
 * describes, given the guest's CR0 (WP), CR4 (SMEP, SMAP) and RFLAGS (AC);
 * else the rule that refuses it. */
enum guest_walk_error guest_walk_permits(const struct guest_walk *w, enum guest_access access,
                                         unsigned cpl, uint64_t cr0, uint64_t cr4,
                                         uint64_t rflags);
/* "read", "write" or "fetch", for messages. */
const char *guest_access_name(enum guest_access access);
/* "not present", "non-canonical address", ... for messages. */
const char *guest_walk_strerror(enum guest_walk_error e);
#endif
