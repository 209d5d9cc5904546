/* kev: guests that try to fool the MMIO controller (project3/vmexit/mmio.c).
 *
 * Each test runs a flat guest (tests/guests/hostile_mmio_*.S) in a VM with a
 * small recording device at DEV: a page not mapped in the nested table (every
 * access exits) and a read-only page (writes exit), behind the real #NPF
 * controller. An attack must stop the VM with the error and the reason the
 * controller gives for it, while the device sees nothing (or only what the
 * CPU really did); then a VM running legitimate accesses from 64-, 32- and
 * 16-bit code must run cleanly on the same host and the device must receive
 * exactly those accesses. */
#include "keos/test/ktest.h"
#include "tests/kernel/kev_guests.h"
#include "project3/vmexit/mmio_exit.h"
#include "keos/lib/format.h"
#include "keos/mm/palloc.h"
#include "kev/probe.h"
#include "kev/vmcb.h"
#include <string.h>

/* The guests, assembled by mk/project3_mmio.mk and embedded here. */
#define EMBED_GUEST(n)                                                          \
	__asm__(".pushsection .rodata\n.balign 16\n"                            \
	        ".global kev_guest_" #n "_start, kev_guest_" #n "_end\n"        \
	        "kev_guest_" #n "_start:\n.incbin \"" #n ".bin\"\n"             \
	        "kev_guest_" #n "_end:\n.popsection")
EMBED_GUEST(hostile_mmio_attacks);
EMBED_GUEST(hostile_mmio_modes);

#define DEV    0x40000000ull
#define DEV_RO (DEV + GUEST_PAGE_SIZE)
#define DEV_END (DEV_RO + GUEST_PAGE_SIZE / 2)
#define LOG_MAX 16
/* What the device answers to every read (cut to the read's size). */
#define ANSWER 0x1122334455667788ull

struct recording_device {
	struct mmio_handler handler;
	unsigned count;                  /* accesses, including those past the log */
	struct mmio_info log[LOG_MAX];
};

static enum vm_error record(struct mmio_handler *h, struct probe *p, const struct mmio_info *info,
                            uint64_t *read_value, struct vcpu_state *vcpu)
{
	(void)p;
	(void)vcpu;
	struct recording_device *d = h->priv;
	if (d->count < LOG_MAX)
		d->log[d->count] = *info;
	d->count++;
	*read_value = ANSWER;
	return VM_ERR_NONE;
}

/* One test VM and what it leaves behind once destroyed. */
struct mmio_vm {
	struct vm *vm;
	struct mmio_ctl mmio;
	struct npf_controller npf;
	struct recording_device dev;
	uint8_t *ro_page;                /* the device's read-only page */
	/* The outcome, copied before the VM is destroyed. */
	int status;
	enum vm_error err;
	char report[KEV_REPORT_SIZE];
};

/* A VM running img with RDI = rdi and the device; ro_bytes go at the start of
 * the read-only page. */
static void mmio_vm_run(struct mmio_vm *m, struct guest_image img, uint64_t rdi,
                        const void *ro_bytes, size_t ro_len)
{
	memset(m, 0, sizeof(*m));
	m->vm = kev_test_vm(img, 1);
	m->dev.handler = (struct mmio_handler){ { DEV, DEV_END }, record, &m->dev };
	mmio_ctl_init(&m->mmio);
	m->ro_page = page_alloc();
	bool ok = m->ro_page && mmio_ctl_register(&m->mmio, &m->dev.handler) == MMIO_CTL_OK;
	if (ok) {
		memset(m->ro_page, 0, GUEST_PAGE_SIZE);
		if (ro_len)
			memcpy(m->ro_page, ro_bytes, ro_len);
		ok = vm_npt_map(m->vm, DEV_RO, m->ro_page, EPT_PERM_READ) == EPT_OK;
	}
	npf_controller_init(&m->npf, NULL, &m->mmio);
	m->vm->mmio_ctl = &m->mmio;
	ok = ok && vm_add_controller(m->vm, &m->npf.ctl);
	if (ok) {
		m->vm->vcpus[0]->state.gpr[GPR_RDI] = rdi;
		m->status = kev_test_run(m->vm);
		m->err = vm_error(m->vm);
		ksnprintf(m->report, sizeof(m->report), "%s", vm_report(m->vm));
	}
	if (m->ro_page && vm_npt_unmap(m->vm, DEV_RO, NULL) != EPT_OK)
		ok = false;
	vm_destroy(m->vm);
	if (m->ro_page)
		page_free(m->ro_page);
	if (!ok)
		ktest_fail(__FILE__, __LINE__, "cannot set up the device for the test VM");
}

static struct mmio_vm run;          /* one VM at a time; too big for a test's stack */

static void expect_access(unsigned i, enum mmio_direction dir, unsigned size, gpa_t addr,
                          uint64_t value)
{
	const struct mmio_info *a = &run.dev.log[i];
	if (a->dir != dir || a->size != size || a->addr != addr || (dir == MMIO_WRITE && a->value != value))
		ktest_fail(__FILE__, __LINE__, "access %u: the device saw a %u-byte %s at 0x%lx (value 0x%lx), "
		           "expected a %u-byte %s at 0x%lx (value 0x%lx)", i, a->size,
		           a->dir == MMIO_WRITE ? "write" : "read", a->addr, a->value, size,
		           dir == MMIO_WRITE ? "write" : "read", addr, value);
}

/* Legitimate accesses from 64-, 32- and 16-bit code reach the device exactly
 * (the list is in hostile_mmio_modes.S); also the "next VM runs cleanly"
 * check after each attack. */
static void modes_reach_device(void)
{
	mmio_vm_run(&run, GUEST_IMAGE(hostile_mmio_modes), 0, NULL, 0);
	if (run.err != VM_ERR_NONE || run.status != 0)
		ktest_fail(__FILE__, __LINE__, "the 64/32/16-bit MMIO guest ended with status %d, error %s: %s",
		           run.status, vm_error_name(run.err), run.report);
	KASSERT_EQ(run.dev.count, 8);
	expect_access(0, MMIO_WRITE, 4, DEV + 0x30, 0x64646464);
	expect_access(1, MMIO_WRITE, 4, DEV + 0x10, 0xcafe);
	expect_access(2, MMIO_READ, 4, DEV + 0x14, 0);
	expect_access(3, MMIO_WRITE, 4, DEV + 0x40, 0x16161616);
	expect_access(4, MMIO_WRITE, 2, DEV + 0x10, 0xbeef);
	expect_access(5, MMIO_WRITE, 4, DEV + 0x20, 0x32323232);
	expect_access(6, MMIO_READ, 2, DEV + 0x24, 0);
	expect_access(7, MMIO_WRITE, 2, DEV + 0x50, 0x5050);
}

/* The last attack run must have stopped the VM with err and a report that
 * contains reason, the device must have seen no access at all (or, with
 * only_other_than_dev, none at DEV itself), and the next VM must run cleanly. */
static void check_refused(unsigned which, enum vm_error err, const char *reason,
                          bool only_other_than_dev)
{
	if (run.err != err)
		ktest_fail(__FILE__, __LINE__, "attack %u: the VM ended with status %d, error %s, "
		           "expected error %s; report: %s", which, run.status, vm_error_name(run.err),
		           vm_error_name(err), run.report);
	if (!kev_contains(run.report, reason))
		ktest_fail(__FILE__, __LINE__, "attack %u: the report does not say \"%s\": %s", which,
		           reason, run.report);
	for (unsigned i = 0; i < run.dev.count && i < LOG_MAX; i++)
		if (!only_other_than_dev || run.dev.log[i].addr == DEV)
			ktest_fail(__FILE__, __LINE__, "attack %u: the device saw a %u-byte %s at 0x%lx "
			           "(value 0x%lx)", which, run.dev.log[i].size,
			           run.dev.log[i].dir == MMIO_WRITE ? "write" : "read", run.dev.log[i].addr,
			           run.dev.log[i].value);
	modes_reach_device();
}

/* Runs attack `which` of hostile_mmio_attacks.S (ro_bytes at the start of the
 * read-only page) and checks it was refused (check_refused). */
static void expect_refused(unsigned which, const void *ro_bytes, size_t ro_len, enum vm_error err,
                           const char *reason, bool only_other_than_dev)
{
	mmio_vm_run(&run, GUEST_IMAGE(hostile_mmio_attacks), which, ro_bytes, ro_len);
	check_refused(which, err, reason, only_other_than_dev);
}

KTEST(kev_hostile_mmio_modes_reach_device)
{
	modes_reach_device();
}

/* Item: a guest page table inside a device page; the walk's own access is
 * not an instruction's. */
KTEST(kev_hostile_mmio_page_table_in_device)
{
	/* A present PTE with A=0 in the read-only page: the walk must write A. */
	static const uint64_t pte = 0x81000 | 3;
	expect_refused(1, &pte, sizeof(pte), VM_ERR_BAD_GUEST_ACCESS,
	               "page-table walk reached device memory", false);
	expect_refused(2, NULL, 0, VM_ERR_BAD_GUEST_ACCESS,
	               "page-table walk reached device memory", false);
}

/* An instruction whose last bytes lie in the device's page: a fetch fault,
 * although the bytes decode as a store. */
KTEST(kev_hostile_mmio_fetch_from_device)
{
	static const uint8_t tail[] = { 0xbe, 0xad, 0xde };
	expect_refused(3, tail, sizeof(tail), VM_ERR_BAD_GUEST_ACCESS,
	               "instruction fetch from device memory", false);
}

/* Two bytes in RAM, two in a register: not delivered as a 4-byte register write. */
KTEST(kev_hostile_mmio_split_store)
{
	expect_refused(4, NULL, 0, VM_ERR_BAD_GUEST_ACCESS, "crosses a page boundary", false);
}

/* The CPU runs one instruction from a stale TLB entry, kev reads another.
 * Accesses to DEV + 8 are the CPU really running the second one (a VM exit
 * flushed the TLB first) and are allowed; nothing may reach DEV itself. */
KTEST(kev_hostile_mmio_stale_instruction)
{
	expect_refused(5, NULL, 0, VM_ERR_BAD_GUEST_ACCESS, "not the faulting gpa", true);
	expect_refused(6, NULL, 0, VM_ERR_BAD_GUEST_ACCESS,
	               "the exit is a write but the instruction reads", true);
}

/* Runs a stale-TLB attack whose second instruction the CPU cannot run: if a
 * VM exit flushed the TLB before the attack, the CPU runs it itself and the
 * guest takes #PF (an intercepted exception); then the attack runs again. */
static void run_stale_attack(unsigned which)
{
	for (int tries = 0; tries < 5; tries++) {
		mmio_vm_run(&run, GUEST_IMAGE(hostile_mmio_attacks), which, NULL, 0);
		if (run.err != VM_ERR_UNHANDLED_EXIT || !kev_contains(run.report, "(EXCP_PF)"))
			return;
	}
}

/* kev reads a store to the faulting address through a mapping the guest
 * made read-only: the translation with write rights refuses it. */
KTEST(kev_hostile_mmio_stale_instruction_without_rights)
{
	run_stale_attack(9);
	check_refused(9, VM_ERR_BAD_GUEST_ACCESS,
	              "does not translate for a write at CPL 0: write to a read-only page", true);
}

/* kev cannot read the instruction the CPU ran from its stale TLB entry: the
 * stop message says why. */
KTEST(kev_hostile_mmio_stale_instruction_unreadable)
{
	run_stale_attack(10);
	check_refused(10, VM_ERR_DECODE, "(bytes: none readable; address 0x600010: not present in "
	              "the guest's page tables)", false);
}

/* A store that starts in the region and ends past it. */
KTEST(kev_hostile_mmio_past_region_end)
{
	expect_refused(8, NULL, 0, VM_ERR_BAD_GUEST_ACCESS, "runs past the end of the device region",
	               false);
}

/* Translations on the guest's behalf check its rights (the MMU's rules are
 * tested on the host, tests/host/test_guest_walk.c; this checks that kev
 * applies them with the vCPU's CPL and control registers). The flat boot maps
 * everything supervisor-only, writable and executable; here virtual 2-4 MiB
 * is remapped to guest RAM at 0, read-only and no-execute. */
KTEST(kev_hostile_mmio_translation_checks_rights)
{
	struct vm *vm = kev_test_vm(GUEST_IMAGE(hostile_mmio_modes), 1);
	struct vcpu *v = vm->vcpus[0];
	uint64_t pde = 0 | 1 | 0x80 | (1ull << 63);     /* gpa 0; P, PS, NX: no W, no U */
	bool wrote = probe_write(&vm->probe, KEV_FLAT_PD_GPA + 8, &pde, sizeof(pde));
	gpa_t gpa = 0;
	uint8_t insn[4];
	v->vmcb->save.cpl = 3;
	enum guest_walk_error user_read = vcpu_translate(v, 0x12345, GUEST_ACCESS_READ, &gpa);
	size_t user_fetched = vcpu_fetch_insn(v, insn, sizeof(insn));
	v->vmcb->save.cpl = 0;
	enum guest_walk_error kernel_read = vcpu_translate(v, 0x12345, GUEST_ACCESS_READ, &gpa);
	gpa_t kernel_gpa = gpa;
	size_t kernel_fetched = vcpu_fetch_insn(v, insn, sizeof(insn));
	enum guest_walk_error kernel_write = vcpu_translate(v, 0x201000, GUEST_ACCESS_WRITE, &gpa);
	enum guest_walk_error ro_read = vcpu_translate(v, 0x201000, GUEST_ACCESS_READ, &gpa);
	gpa_t ro_gpa = gpa;
	uint8_t data[4];
	bool ro_readable = vcpu_read_gva(v, 0x201000, data, sizeof(data));
	enum guest_walk_error kernel_fetch = vcpu_translate(v, 0x201000, GUEST_ACCESS_FETCH, &gpa);
	v->state.rip = 0x201000;
	size_t nx_fetched = vcpu_fetch_insn(v, insn, sizeof(insn));
	v->state.cr0 &= ~GUEST_CR0_WP;
	enum guest_walk_error kernel_write_wp0 = vcpu_translate(v, 0x201000, GUEST_ACCESS_WRITE, &gpa);
	/* The code width: CS.L counts only in long mode, virtual-8086 code is 16-bit. */
	unsigned bits_long = vcpu_code_bits(v);
	v->state.efer &= ~GUEST_EFER_LMA;
	unsigned bits_legacy_l = vcpu_code_bits(v);
	v->vmcb->save.cs.attrib |= SEG_ATTR_DB;
	unsigned bits_legacy_d = vcpu_code_bits(v);
	v->state.rflags |= 1u << 17;
	unsigned bits_v86 = vcpu_code_bits(v);
	vm_destroy(vm);
	KASSERT(wrote);
	KASSERT_EQ(user_read, GWALK_USER_TO_SUPERVISOR);
	KASSERT_EQ(user_fetched, 0);
	KASSERT_EQ(kernel_read, GWALK_OK);
	KASSERT_EQ(kernel_gpa, 0x12345);
	KASSERT_EQ(kernel_fetched, sizeof(insn));
	KASSERT_EQ(kernel_write, GWALK_READ_ONLY);
	KASSERT_EQ(ro_read, GWALK_OK);
	KASSERT_EQ(ro_gpa, 0x1000);
	KASSERT(ro_readable);
	KASSERT_EQ(kernel_fetch, GWALK_NO_EXECUTE);
	KASSERT_EQ(kernel_write_wp0, GWALK_OK);
	KASSERT_EQ(nx_fetched, 0);
	KASSERT_EQ(bits_long, 64);
	KASSERT_EQ(bits_legacy_l, 16);
	KASSERT_EQ(bits_legacy_d, 32);
	KASSERT_EQ(bits_v86, 16);
}

/* An interrupt pushes its frame onto a stack in the device's page. */
KTEST(kev_hostile_mmio_event_delivery)
{
	expect_refused(7, NULL, 0, VM_ERR_BAD_GUEST_ACCESS, "delivering an interrupt or exception",
	               false);
}
