/* Guest-virtual to guest-physical translation through the guest's own page
 * tables, as the guest's MMU would do it.
 *
 * Supported modes: paging off (gva == gpa) and 4-level long-mode paging
 * (CR0.PG, CR4.PAE, EFER.LMA) with 4 KiB, 2 MiB and 1 GiB pages. 32-bit
 * paging, PAE without long mode and 5-level paging are refused.
 *
 * The walk reads guest page-table entries through a callback, so the same
 * code runs in the kernel (over the probe) and in host tests (over fake
 * memory). It does not set accessed/dirty bits: it is an inspection, not an
 * access. */
#ifndef KEV_GUEST_WALK_H
#define KEV_GUEST_WALK_H
#include "kev/types.h"

#define GUEST_CR0_PE  (1ull << 0)
#define GUEST_CR0_PG  (1ull << 31)
#define GUEST_CR4_PAE (1ull << 5)
#define GUEST_CR4_LA57 (1ull << 12)
#define GUEST_EFER_LMA (1ull << 10)

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
	GWALK_RESERVED,        /* a large-page entry with a misaligned address */
	GWALK_NON_CANONICAL,   /* bits 63..47 of the gva are not a sign extension */
	GWALK_BAD_TABLE,       /* a page-table page is not guest RAM (read callback failed) */
	GWALK_UNSUPPORTED,     /* a paging mode the walk does not implement */
};

/* Reads the 8-byte entry at gpa; false if that is not guest RAM. */
typedef bool (*guest_read64_fn)(void *ctx, gpa_t gpa, uint64_t *value);

/* The translation of one gva. */
struct guest_walk {
	gpa_t gpa;              /* of the very byte */
	uint64_t page_size;     /* 4 KiB, 2 MiB or 1 GiB (0 with paging off) */
	bool writable, user, executable;   /* combined over every level */
	int fault_level;        /* on GWALK_NOT_PRESENT/RESERVED: 4 = PML4 ... 1 = PT */
};

/* Translates gva for a guest with control registers cr0, cr3, cr4 and efer. */
enum guest_walk_error guest_walk(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
                                 gva_t gva, guest_read64_fn read, void *ctx,
                                 struct guest_walk *out);
/* "not present", "non-canonical address", ... for messages. */
const char *guest_walk_strerror(enum guest_walk_error e);
#endif
