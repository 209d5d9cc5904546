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
