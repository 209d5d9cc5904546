/* The svirtb device as the host tests drive it: a device attached to fake
 * guest RAM, a fake pager and the real MMIO region set, and the path of a
 * guest access to it. A register write goes the way a guest's would after
 * the #NPF exit: looked up in the MMIO region set (populated by attach) and
 * handed to the handler as a decoded struct mmio_info. A guest read looks at
 * the register page directly, as the read-only mapping lets a guest do.
 * Shared by tests/host/test_simple_virtio.c (what students get) and the
 * course's own test of the reference's messages. */
#ifndef TESTS_HOST_SVIRTB_PATH_H
#define TESTS_HOST_SVIRTB_PATH_H
#include "project4/dev/simple_virtio.h"
#include "tests/host/fake_guest.h"

/* Guest-physical layout used by the tests (RAM is [0, 1 MiB) minus the hole). */
#define RING     0x10000ull
#define BUF_A    0x20000ull
#define BUF_B    0x30000ull
#define BUF_LEN  0x8000u

extern struct simple_virtio_dev *dev;
extern struct kernel_vm_pager pager;
extern struct mmio_ctl ctl;

/* The fixture: fresh fakes, a new device attached; then no fake violation,
 * the page past the registers still zero, everything freed. */
void svirtb_setup(void);
void svirtb_teardown(void);

/* One guest access, through the region set; returns handle's verdict. */
enum vm_error svirtb_access(enum mmio_direction dir, gpa_t addr, uint8_t size, uint64_t value,
                            uint64_t *read_value);
/* A guest store of size bytes at addr; the device must not stop the VM or keep its lock. */
void wr_sized(gpa_t addr, uint8_t size, uint64_t value);
/* A guest 32-bit store to the register at offset off. */
void wr(uint32_t off, uint32_t value);
/* A guest load of the register at offset off (no exit: the page is mapped). */
uint32_t rd(uint32_t off);
/* All six registers are as given. */
void expect_regs(uint32_t status, uint32_t size, uint32_t hi, uint32_t lo, uint32_t head, uint32_t tail);
/* The spec's steps 2..6 for a device in MAGIC; returns the resulting status. */
uint32_t try_init(gpa_t ring, uint32_t size);
/* try_init, which must reach READY with head = tail = 0. */
void init(gpa_t ring, uint32_t size);
/* Writes entry i of the ring at ring into guest RAM, as a driver would. */
void put_entry(gpa_t ring, uint32_t i, uint64_t addr, uint64_t size, uint64_t sector, uint32_t cmd);
/* Fills guest RAM at gpa with a pattern that depends on seed. */
void fill(gpa_t gpa, uint64_t len, uint8_t seed);
/* The device went to RESET and printed exactly one console line; then a
 * RESET and a new initialization work again. Returns that line's text in a
 * static buffer, for the course's own checks of the reference's wording. */
const char *expect_reset(void);
#endif
