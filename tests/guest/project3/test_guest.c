/* project3's guest tests: they run inside gKeOS, booted by kev from the file
 * gKeOS through the lazy pager. They check that keos came up as a guest
 * (multiboot handoff, memory map, vCPUs), that the MMIO printer works, and,
 * as KeV's guests do, the page-table operations (here the nested table code
 * of project3/ept.c, the same 4-level format the guest itself uses). The
 * selftest_guest_* tests fail on purpose; the host checks each is reported. */
#include "keos/test/ktest.h"
#include "tests/kernel/smp_check.h"
#include "keos/arch/cpu.h"
#include "keos/arch/guest.h"
#include "keos/arch/x86.h"
#include "keos/boot/boot.h"
#include "keos/dev/pci.h"
#include "keos/lib/printk.h"
#include "keos/mm/palloc.h"
#include "keos/mm/vm.h"
#include "keos/thread/thread.h"
#include "project3/ept.h"
#include "project3/mmio.h"
#include <string.h>

KTEST(guest_boots_under_kev)
{
	KASSERT(keos_is_guest());
	KASSERT_EQ(ncpus, guest_vcpu_count());
	KASSERT(strstr(boot_cmdline(), "test=guest_boots_under_kev") != NULL);
	/* 32 MiB of RAM minus the kernel: at least 6000 free pages. */
	KASSERT(page_free_count() > 6000);
	KASSERT(guest_tsc_per_tick() > 0);
}

KTEST(guest_memory_is_zero_filled_and_private)
{
	/* Every page the guest touches first is loaded lazily; fresh pages read zero. */
	enum { N = 512 };
	uint8_t *run = page_alloc_run(N);
	KASSERT(run != NULL);
	for (size_t i = 0; i < N * PAGE_SIZE; i += 512)
		KASSERT_EQ(run[i], 0);
	for (size_t i = 0; i < N; i++)
		run[i * PAGE_SIZE] = (uint8_t)i;
	for (size_t i = 0; i < N; i++)
		KASSERT_EQ(run[i * PAGE_SIZE], (uint8_t)i);
	page_free_run(run, N);
}

static void mmio_print(const char *s)
{
	volatile uint64_t *regs = phys_to_virt(MMIO_PRINTER_BASE);
	regs[0] = virt_to_phys(s);
	regs[1] = strlen(s);
	regs[2] = 1;
}

KTEST(guest_mmio_printer)
{
	mmio_print("mmio printer: hello from the guest\n");
	volatile uint64_t *regs = phys_to_virt(MMIO_PRINTER_BASE);
	KASSERT_EQ(regs[1], strlen("mmio printer: hello from the guest\n"));
	/* Two 32-bit halves of the address register, then a read back. */
	volatile uint32_t *half = phys_to_virt(MMIO_PRINTER_BASE);
	half[0] = 0x12345678;
	half[1] = 0x9abcdef0;
	KASSERT_EQ(regs[0], 0x9abcdef012345678ull);
}

static void map_one(struct ept *t, gpa_t gpa, unsigned perm)
{
	void *page = page_alloc();
	KASSERT(page != NULL);
	hpa_t pa = virt_to_phys(page), got;
	unsigned got_perm;
	KASSERT_EQ(ept_map(t, gpa, pa, perm), EPT_OK);
	KASSERT_EQ(ept_walk(t, gpa, &got, &got_perm), EPT_OK);
	KASSERT_EQ(got, pa);
	KASSERT_EQ(got_perm, perm);
}

static void unmap_one(struct ept *t, gpa_t gpa)
{
	hpa_t pa;
	KASSERT_EQ(ept_unmap(t, gpa, &pa), EPT_OK);
	page_free(phys_to_virt(pa));
	KASSERT_EQ(ept_walk(t, gpa, &pa, NULL), EPT_ERR_NOT_EXIST);
}

KTEST(page_table_simple)
{
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	void *a = page_alloc(), *b = page_alloc();
	KASSERT_EQ(ept_map(&t, 0x1234000, virt_to_phys(a), EPT_PERM_READ), EPT_OK);
	KASSERT_EQ(ept_map(&t, 0x1234000, virt_to_phys(b), EPT_PERM_READ), EPT_ERR_DUPLICATED);
	KASSERT_EQ(ept_map(&t, 0x1234123, virt_to_phys(b), EPT_PERM_READ), EPT_ERR_UNALIGNED);
	hpa_t pa;
	KASSERT_EQ(ept_unmap(&t, 0x1235000, &pa), EPT_ERR_NOT_EXIST);
	KASSERT_EQ(ept_unmap(&t, 0x1234000, &pa), EPT_OK);
	KASSERT_EQ(pa, virt_to_phys(a));
	ept_destroy(&t);
	page_free(a);
	page_free(b);
}

KTEST(page_table_complicate)
{
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	/* Every permission combination that includes read. */
	for (unsigned perm = 1; perm <= EPT_PERM_RWX; perm++) {
		if (!(perm & EPT_PERM_READ))
			continue;
		map_one(&t, 0x1234000, perm);
		unmap_one(&t, 0x1234000);
	}
	/* Addresses that differ in one table index at each level: a new mapping
	 * must not lose an old one, nor an unmap a neighbour. */
	gpa_t base = (1ull << 47) - 0x1000, addrs[5];
	for (int i = 0; i < 5; i++)
		addrs[i] = i == 0 ? base : base ^ (1ull << (12 + 9 * (i - 1)));
	hpa_t pa;
	for (int i = 0; i < 5; i++) {
		map_one(&t, addrs[i], EPT_PERM_READ | EPT_PERM_EXEC);
		if (i)
			KASSERT_EQ(ept_walk(&t, addrs[i - 1], &pa, NULL), EPT_OK);
	}
	for (int i = 1; i < 5; i++) {
		unmap_one(&t, addrs[i]);
		KASSERT_EQ(ept_walk(&t, addrs[0], &pa, NULL), EPT_OK);
	}
	unmap_one(&t, addrs[0]);
	ept_destroy(&t);
}


/* The raw entries on a walk, as the comment above ept_map states them. */
#define ENTRY_P    (1ull << 0)
#define ENTRY_W    (1ull << 1)
#define ENTRY_U    (1ull << 2)
#define ENTRY_PS   (1ull << 7)
#define ENTRY_NX   (1ull << 63)
#define ENTRY_ADDR 0x000ffffffffff000ull

static unsigned table_index(gpa_t gpa, int level)
{
	return (unsigned)(gpa >> (12 + 9 * level)) & 511;
}

/* Intermediate entries are present, writable and user; the leaf is present
 * and user, writable iff EPT_PERM_WRITE, NX iff no EPT_PERM_EXEC. */
KTEST(page_table_entry_bits)
{
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	void *page = page_alloc();
	KASSERT(page != NULL);
	hpa_t pa = virt_to_phys(page);
	/* Non-zero indices at every level. */
	gpa_t gpa = (3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12);
	static const unsigned perms[] = {
		EPT_PERM_READ, EPT_PERM_READ | EPT_PERM_WRITE, EPT_PERM_READ | EPT_PERM_EXEC, EPT_PERM_RWX,
	};
	for (size_t p = 0; p < sizeof(perms) / sizeof(perms[0]); p++) {
		KASSERT_EQ(ept_map(&t, gpa, pa, perms[p]), EPT_OK);
		const uint64_t *table = t.pml4;
		for (int level = 3; level > 0; level--) {
			uint64_t e = table[table_index(gpa, level)];
			if ((e & (ENTRY_P | ENTRY_W | ENTRY_U)) != (ENTRY_P | ENTRY_W | ENTRY_U) || (e & ENTRY_PS))
				ktest_fail(__FILE__, __LINE__, "the level-%d entry for gpa %#lx is %#lx: an intermediate "
				           "entry must be present, writable and user, without PS", level, gpa, e);
			table = phys_to_virt(e & ENTRY_ADDR);
		}
		uint64_t leaf = table[table_index(gpa, 0)];
		KASSERT_EQ(leaf & ENTRY_ADDR, pa);
		KASSERT_EQ(leaf & (ENTRY_P | ENTRY_U), ENTRY_P | ENTRY_U);
		KASSERT_EQ(!!(leaf & ENTRY_W), !!(perms[p] & EPT_PERM_WRITE));
		KASSERT_EQ(!!(leaf & ENTRY_NX), !(perms[p] & EPT_PERM_EXEC));
		hpa_t out;
		KASSERT_EQ(ept_unmap(&t, gpa, &out), EPT_OK);
	}
	ept_destroy(&t);
	page_free(page);
}

/* Each error of ept_map, ept_unmap and ept_walk, in the order ept_map checks
 * them; a refused call changes nothing. */
KTEST(page_table_errors)
{
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	void *a = page_alloc(), *b = page_alloc();
	KASSERT(a != NULL && b != NULL);
	hpa_t pa = virt_to_phys(a), out;
	unsigned perm;
	const gpa_t g = 0x5000000;
	size_t before = page_free_count();
	KASSERT_EQ(ept_map(&t, g, pa, 0), EPT_ERR_BAD_PERM);                        /* no read */
	KASSERT_EQ(ept_map(&t, g, pa, EPT_PERM_WRITE | EPT_PERM_EXEC), EPT_ERR_BAD_PERM);
	KASSERT_EQ(ept_map(&t, g, pa, EPT_PERM_READ | 8), EPT_ERR_BAD_PERM);        /* unknown bit */
	KASSERT_EQ(ept_map(&t, g + 1, pa, EPT_PERM_WRITE), EPT_ERR_BAD_PERM);       /* perm first */
	KASSERT_EQ(ept_map(&t, g + 1, pa, EPT_PERM_READ), EPT_ERR_UNALIGNED);
	KASSERT_EQ(ept_map(&t, g, pa + 8, EPT_PERM_READ), EPT_ERR_UNALIGNED);
	KASSERT_EQ(ept_map(&t, (1ull << 48) + 1, pa, EPT_PERM_READ), EPT_ERR_UNALIGNED); /* alignment first */
	KASSERT_EQ(ept_map(&t, 1ull << 48, pa, EPT_PERM_READ), EPT_ERR_OUT_OF_RANGE);
	KASSERT_EQ(ept_map(&t, g, 1ull << 52, EPT_PERM_READ), EPT_ERR_OUT_OF_RANGE);
	KASSERT_EQ(page_free_count(), before);                                      /* no table built */
	KASSERT_EQ(ept_walk(&t, g, NULL, NULL), EPT_ERR_NOT_EXIST);

	/* A duplicate leaves the mapping and the tables as they were. */
	KASSERT_EQ(ept_map(&t, g, pa, EPT_PERM_READ), EPT_OK);
	size_t mapped = page_free_count();
	KASSERT_EQ(ept_map(&t, g, virt_to_phys(b), EPT_PERM_RWX), EPT_ERR_DUPLICATED);
	KASSERT_EQ(page_free_count(), mapped);
	KASSERT_EQ(ept_walk(&t, g, &out, &perm), EPT_OK);
	KASSERT_EQ(out, pa);
	KASSERT_EQ(perm, EPT_PERM_READ);

	/* Refused unmaps leave the mapping. */
	KASSERT_EQ(ept_unmap(&t, g + 0x10, &out), EPT_ERR_UNALIGNED);
	KASSERT_EQ(ept_unmap(&t, (1ull << 48) | g, &out), EPT_ERR_OUT_OF_RANGE);
	KASSERT_EQ(ept_unmap(&t, g + 0x1000, &out), EPT_ERR_NOT_EXIST);
	KASSERT_EQ(ept_walk(&t, g, &out, NULL), EPT_OK);
	KASSERT_EQ(out, pa);

	/* ept_walk takes any gpa: the address of that very byte. */
	KASSERT_EQ(ept_walk(&t, g + 0x123, &out, NULL), EPT_OK);
	KASSERT_EQ(out, pa + 0x123);
	KASSERT_EQ(ept_walk(&t, g + 0xfff, NULL, &perm), EPT_OK);
	KASSERT_EQ(perm, EPT_PERM_READ);
	KASSERT_EQ(ept_walk(&t, (1ull << 48) | g, &out, NULL), EPT_ERR_OUT_OF_RANGE);
	KASSERT_EQ(ept_walk(&t, g + 0x1000, &out, NULL), EPT_ERR_NOT_EXIST);

	KASSERT_EQ(ept_unmap(&t, g, &out), EPT_OK);
	KASSERT_EQ(out, pa);
	KASSERT_EQ(ept_walk(&t, g, NULL, NULL), EPT_ERR_NOT_EXIST);
	ept_destroy(&t);
	page_free(a);
	page_free(b);
}

/* ept_unmap frees each table the removal leaves empty, up to (not
 * including) the root; a table that still maps something stays. Counted in
 * free pages: a first mapping builds a PDPT, a PD and a PT. */
KTEST(page_table_unmap_frees_tables)
{
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	void *a = page_alloc(), *b = page_alloc();
	KASSERT(a != NULL && b != NULL);
	hpa_t out;
	const gpa_t g = 0x7fc00000;           /* g + 2 MiB is in the same PD */
	size_t base = page_free_count();
	KASSERT_EQ(ept_map(&t, g, virt_to_phys(a), EPT_PERM_READ), EPT_OK);
	KASSERT_EQ(page_free_count(), base - 3);
	KASSERT_EQ(ept_map(&t, g + 0x1000, virt_to_phys(b), EPT_PERM_READ), EPT_OK);  /* same PT */
	KASSERT_EQ(page_free_count(), base - 3);
	KASSERT_EQ(ept_unmap(&t, g, &out), EPT_OK);
	KASSERT_EQ(page_free_count(), base - 3);                   /* the PT still maps g + 4 KiB */
	KASSERT_EQ(ept_walk(&t, g + 0x1000, &out, NULL), EPT_OK);
	KASSERT_EQ(ept_unmap(&t, g + 0x1000, &out), EPT_OK);
	if (page_free_count() != base)
		ktest_fail(__FILE__, __LINE__, "%ld table page(s) still allocated after the last unmap: "
		           "ept_unmap must free the tables it leaves empty", (long)(base - page_free_count()));

	KASSERT_EQ(ept_map(&t, g, virt_to_phys(a), EPT_PERM_READ), EPT_OK);
	KASSERT_EQ(ept_map(&t, g + (1ull << 21), virt_to_phys(b), EPT_PERM_READ), EPT_OK);  /* another PT */
	KASSERT_EQ(page_free_count(), base - 4);
	KASSERT_EQ(ept_unmap(&t, g, &out), EPT_OK);
	KASSERT_EQ(page_free_count(), base - 3);                   /* g's PT only */
	KASSERT_EQ(ept_walk(&t, g + (1ull << 21), &out, NULL), EPT_OK);
	KASSERT_EQ(ept_unmap(&t, g + (1ull << 21), &out), EPT_OK);
	KASSERT_EQ(page_free_count(), base);

	/* The root stays: the table works as before. */
	KASSERT_EQ(ept_map(&t, g, virt_to_phys(a), EPT_PERM_READ), EPT_OK);
	KASSERT_EQ(ept_unmap(&t, g, &out), EPT_OK);
	KASSERT_EQ(page_free_count(), base);
	ept_destroy(&t);
	KASSERT_EQ(page_free_count(), base + 1);
	page_free(a);
	page_free(b);
}

/* ept_destroy frees every table page, the root included, and none of the
 * pages the leaves map; the ept is empty afterwards. */
KTEST(page_table_destroy_frees_tables)
{
	enum { N = 5 };
	void *pages[N];
	for (int i = 0; i < N; i++) {
		pages[i] = page_alloc();
		KASSERT(pages[i] != NULL);
	}
	size_t base = page_free_count();
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	for (int i = 0; i < N; i++)   /* a PML4 entry each: 3 tables each */
		KASSERT_EQ(ept_map(&t, ((gpa_t)i << 39) | 0x1000, virt_to_phys(pages[i]), EPT_PERM_RWX), EPT_OK);
	KASSERT_EQ(page_free_count(), base - 1 - 3 * N);
	ept_destroy(&t);
	KASSERT(t.pml4 == NULL);
	if (page_free_count() != base)
		ktest_fail(__FILE__, __LINE__, "after ept_destroy %ld page(s) differ from before ept_init "
		           "(tables kept, or mapped pages freed)", (long)page_free_count() - (long)base);
	for (int i = 0; i < N; i++)
		page_free(pages[i]);
}

/* With no page left for a table, ept_map says EPT_ERR_NO_MEMORY; once pages
 * are free again the same mapping works. */
KTEST(page_table_out_of_memory)
{
	struct ept t;
	KASSERT_EQ(ept_init(&t), EPT_OK);
	void *a = page_alloc();
	KASSERT(a != NULL);
	void *held = NULL, *p;
	while ((p = page_alloc()) != NULL) {   /* every free page, chained through its first word */
		*(void **)p = held;
		held = p;
	}
	enum ept_mapping_error err = ept_map(&t, 0x1000000, virt_to_phys(a), EPT_PERM_READ);
	while (held) {
		p = *(void **)held;
		page_free(held);
		held = p;
	}
	KASSERT_EQ(err, EPT_ERR_NO_MEMORY);
	KASSERT_EQ(ept_map(&t, 0x1000000, virt_to_phys(a), EPT_PERM_READ), EPT_OK);
	KASSERT_EQ(ept_walk(&t, 0x1000000, NULL, NULL), EPT_OK);
	ept_destroy(&t);
	page_free(a);
}

KTEST(guest_vcpus_run_in_parallel)
{
	KASSERT(ncpus >= 2);
	ktest_expect_parallel(0, 1);
}

KTEST(selftest_guest_assert)
{
	KASSERT_EQ(1 + 1, 3);
}

KTEST(selftest_guest_panic)
{
	panic("guest panics on purpose");
}

KTEST(selftest_guest_hang)
{
	for (;;)
		pause();
}

KTEST(selftest_guest_triple_fault)
{
	/* An empty IDT: the next exception cannot be delivered at all. */
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) none = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" :: "m"(none));
}

KTEST(selftest_guest_silent_exit)
{
	/* Ends the VM with success before the runner prints a verdict. */
	outl(0xf4, 0);
}

KTEST(guest_platform_ports)
{
	/* kev answers PCI configuration with "no device" and keeps the address. */
	struct pci_device d[4];
	KASSERT_EQ(pci_enumerate(d, 4), 0);
	outl(0xcf8, 0x80001234);
	KASSERT_EQ(inl(0xcf8), 0x80001234);
	outb(0x70, 0x0a);
	KASSERT_EQ(inb(0x70), 0x0a);
	KASSERT_EQ(inb(0x71), 0);
}

/* Both vCPUs read the same untouched pages at the same moment: the pager
 * must load each once (the host test runner fails the test on any leaked
 * page, and a page mapped twice would leak one). The top MiB of the 32 MiB
 * is beyond what the allocator has handed out in a test boot. */
struct same_pages { volatile int arrived; volatile uint64_t sum[2]; };

static void touch_top_pages(void *arg)
{
	struct same_pages *s = arg;
	int me = cpu_current()->id;
	__atomic_add_fetch(&s->arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&s->arrived, __ATOMIC_SEQ_CST) < 2)
		pause();
	uint64_t sum = 0;
	for (uint64_t pa = (31ull << 20); pa < (32ull << 20); pa += PAGE_SIZE)
		sum += *(volatile uint64_t *)phys_to_virt(pa);
	s->sum[me] = sum + 1;
}

KTEST(guest_two_vcpus_fault_on_same_pages)
{
	KASSERT(ncpus >= 2);
	struct same_pages s = { 0, { 0, 0 } };
	struct thread *a = thread_create_on("touch0", 0, touch_top_pages, &s);
	struct thread *b = thread_create_on("touch1", 1, touch_top_pages, &s);
	thread_join(a);
	thread_join(b);
	KASSERT_EQ(s.sum[0], 1);      /* fresh pages read zero */
	KASSERT_EQ(s.sum[1], 1);
}

static void nap(void *arg)
{
	(void)arg;
	thread_sleep(3);
}

/* Without a timer interrupt, sleepers wake because the TSC clock is read as
 * CPUs pass through the scheduler (keos/thread/thread.c, guest_clock_update). */
KTEST(guest_sleep_wakes_up)
{
	uint64_t start = timer_ticks();
	thread_sleep(5);
	KASSERT(timer_ticks() - start >= 5);
	struct thread *t = thread_create("nap", nap, NULL);
	KASSERT(t != NULL);
	thread_join(t);
	KASSERT(timer_ticks() - start >= 8);
}
