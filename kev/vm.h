/* Virtual machines: the builder and the owner of everything a guest uses.
 *
 * A VM has guest RAM (host pages mapped at guest-physical 0 .. ram_bytes in
 * the nested page table), one ASID shared by its vCPUs, the exit-controller
 * chain, the serial console capture, and its outcome: the status the guest
 * exited with, or the error that stopped it with a readable report.
 *
 *     struct vm *vm = vm_create(1, 1 << 20);
 *     vm_load_flat64(vm, image, size);          // or set up the vCPUs yourself
 *     vm_run(vm);                               // starts vCPU 0
 *     int status = vm_join(vm);                 // waits until the guest exits
 *     if (vm_error(vm) != VM_ERR_NONE) printk("%s\n", vm_report(vm));
 *     if (!vm_is_stuck(vm)) vm_destroy(vm);     // see "A VM that hangs" below
 *
 * The flat 64-bit boot (vm_load_flat64) is what kev's test guests use: the
 * image is copied to KEV_FLAT_LOAD_GPA and vCPU 0 starts there in long mode,
 * CPL 0, interrupts off, RSP at the top of RAM, with page tables kev builds in
 * guest RAM: an identity map of guest-physical 0 .. 4 GiB in 2 MiB pages
 * (PML4 at 0x1000, PDPT at 0x2000, four PDs at 0x3000-0x6fff) and a GDT at
 * 0x7000 (0x08 64-bit code, 0x10 data). Addresses above RAM are mapped in the
 * guest's tables but not in the nested table, so touching them is a #NPF.
 * Guest exceptions are intercepted (the guest has no IDT), so a fault shows
 * up as an unhandled-exit report instead of a triple fault.
 *
 * Devices and the lazy pager (project3) hook in without changing kev:
 *   - a #NPF controller added with vm_add_controller() finds MMIO regions in
 *     vm->mmio_ctl or loads guest pages with vm_npt_map();
 *   - vm->npt_miss lets the probe ask the pager for a page that is not
 *     mapped yet (return true once gpa is mapped);
 *   - vm->priv is the owner's (the pager, the devices);
 *   - vm->describe_rip names a guest address for reports (project3 sets it to
 *     a lookup in gKeOS's symbol table).
 *   - devices own MSRs, add CPUID features and stop their timers before the
 *     VM is freed through kev/device_hooks.h (project4's x2APIC).
 *
 * A VM that hangs: the deadline (vm_set_timeout) is measured on the TSC and
 * checked at every exit; a halted vCPU is woken for it. A vCPU thread that
 * never comes back to its loop (an exit handler looping, with or without
 * interrupts) cannot be stopped. vm_join waits KEV_STUCK_GRACE_MS past the
 * deadline, then gives up on it: the VM's report becomes a diagnosis (the
 * vCPU, where its thread is, the guest RIP with its symbol, the stuck host
 * thread's backtrace taken with an NMI, the last host line), vm_join returns
 * -1 and vm_is_stuck() is true. Such a VM must not be freed (vm_destroy
 * refuses it): the thread still uses it. The caller reports the failure and
 * ends the machine; if the thread comes back later, vm_join can be called
 * again and the VM is then freed normally. */
#ifndef KEV_VM_H
#define KEV_VM_H
#include "kev/types.h"
#include "kev/vmexit.h"
#include "kev/console_limit.h"
#include "kev/device_hooks.h"
#include "keos/sync/spinlock.h"
#include "keos/arch/cpu.h"
#include "keos/thread/hrtimer.h"
#include "keos/thread/thread.h"
#include "project3/ept.h"

#define KEV_MAX_VCPUS       8
#define KEV_MAX_CONTROLLERS 16
#define KEV_REPORT_SIZE     2048
#define KEV_STUCK_GRACE_MS  500   /* vm_join's wait past the deadline for a vCPU thread */
/* Guest RAM is [0, ram_bytes) with ram_bytes at most KEV_MAX_RAM: addresses
 * from 3 GiB up belong to devices (their register pages), as on a PC, so a
 * range that is all guest RAM never reaches a device's page. */
#define KEV_MAX_RAM         (3ULL << 30)
#define KEV_SERIAL_CAPTURE  4096
#define KEV_SERIAL_LINE     160

/* The flat 64-bit boot's layout (see above). */
#define KEV_FLAT_PML4_GPA   0x1000
#define KEV_FLAT_PDPT_GPA   0x2000
#define KEV_FLAT_PD_GPA     0x3000   /* 4 pages */
#define KEV_FLAT_GDT_GPA    0x7000
#define KEV_FLAT_LOAD_GPA   0x10000
#define KEV_FLAT_MAP_BYTES  (4ull << 30)

struct vcpu;
struct kernel_vm_pager;
struct mmio_ctl;

/* The probe handed to devices (kev/probe.h): guest-physical memory of one VM. */
struct probe {
	struct vm *vm;
};

struct vm_serial {
	uint8_t lcr;                         /* line control (DLAB in bit 7) */
	char line[KEV_SERIAL_LINE + 1];      /* the current, unprinted line */
	size_t line_len;
	char capture[KEV_SERIAL_CAPTURE];    /* everything written, for tests */
	size_t capture_len;
	bool capture_full;
};

struct vm {
	int id;                              /* "[guest N]" on the console */
	unsigned nvcpus;
	struct vcpu *vcpus[KEV_MAX_VCPUS];
	uint32_t asid;

	struct ept npt;                      /* the nested page table */
	uint64_t npt_generation;             /* bumped by each vm_npt_unmap: older cached translations are stale */
	struct spinlock npt_lock;            /* serializes changes and walks */
	uint64_t ram_bytes;
	size_t ram_pages;
	void **ram;                          /* ram[i]: host page at gpa i * 4 KiB */
	struct probe probe;
	bool (*npt_miss)(struct vm *vm, gpa_t gpa);

	struct vmexit_controller *controllers[KEV_MAX_CONTROLLERS];
	unsigned ncontrollers;
	struct mmio_ctl *mmio_ctl;           /* project3's device regions, or NULL */
	void *priv;
	struct kernel_vm_pager *pager;      /* project3's lazy pager, or NULL */

	struct spinlock lock;                /* the fields below */
	bool running;                        /* vm_run called, vm_join not finished */
	volatile bool stopping;              /* every vCPU leaves its loop at its next exit */
	int exit_status;
	enum vm_error error;
	char report[KEV_REPORT_SIZE];
	struct vm_serial serial;
	uint32_t pci_address;                /* the guest's last write to port 0xcf8 */
	uint8_t cmos_index;                  /* the guest's last write to port 0x70 */
	char last_host_line[KEV_SERIAL_LINE + 1]; /* the last line host code printed for this VM (a device error...) */

	/* --- the deadline and hangs (kev/vm.c, kev/vm_hang.c) --- */
	uint64_t timeout_ticks;              /* vm_set_timeout's value, made a deadline by vm_run */
	uint64_t deadline_tsc;               /* TSC value at which the VM is stopped (0: none) */
	struct waitq join_wq;                /* vm_join waits here for vCPU threads to leave (vm->lock) */
	struct hrtimer join_timers[MAX_CPUS];/* wake vm_join at the deadline + grace, one per CPU */
	bool stuck;                          /* vm_join gave up on a vCPU thread */
	/* Writes the name of guest address rip ("func+0x1c") into buf; false if unknown. */
	bool (*describe_rip)(struct vm *vm, uint64_t rip, char *buf, size_t size);
	void *describe_ctx;                  /* describe_rip's own data */
	struct kev_console console;          /* console rate limits (kev/console_limit.h) */

	/* --- MSRs, CPUID features and destroy hooks of devices (kev/device_hooks.h) --- */
	struct vm_device_hooks devices;
};

/* A VM with nvcpus vCPUs (1 .. KEV_MAX_VCPUS; vCPU i is pinned to host CPU
 * i mod ncpus) and ram_bytes (1 .. KEV_MAX_RAM) of zeroed guest RAM (rounded up to pages) at
 * gpa 0. NULL when out of memory or ASIDs, or out of those ranges. Panics when the CPU has no SVM
 * with nested paging. */
struct vm *vm_create(unsigned nvcpus, uint64_t ram_bytes);
/* Like vm_create, but no RAM page exists until a pager maps it (vm->ram[i] and vm_npt_map). */
struct vm *vm_create_lazy(unsigned nvcpus, uint64_t ram_bytes);
/* Frees everything: RAM, tables, vCPUs, the ASID. The VM must not be running;
 * a stuck VM (vm_is_stuck) is left in place with a console line instead. */
void vm_destroy(struct vm *vm);

/* Copies image into guest RAM at gpa; false if it does not fit. */
bool vm_load(struct vm *vm, gpa_t gpa, const void *image, size_t size);
/* The flat 64-bit boot (see above): loads image at KEV_FLAT_LOAD_GPA and sets up vCPU 0. */
bool vm_load_flat64(struct vm *vm, const void *image, size_t size);
/* Pins vCPU id to host CPU cpu (before it starts). */
void vm_pin_vcpu(struct vm *vm, unsigned id, int cpu);
/* Appends a controller to the chain (after the built-in ones); false when full. */
bool vm_add_controller(struct vm *vm, struct vmexit_controller *ctl);
/* Stops the VM with VM_ERR_TIMEOUT if it still runs ticks timer ticks (of TIMER_HZ) after
 * vm_run, measured on the TSC (a host busy with interrupts off does not delay it). */
void vm_set_timeout(struct vm *vm, uint64_t ticks);

/* Starts the bootstrap vCPU; false when out of memory. */
bool vm_run(struct vm *vm);
/* Starts vCPU id (not yet started) at rip/rsp with the paging and segments of
 * vCPU from; false if id is invalid or already started, or the VM is stopping. */
bool vm_start_vcpu(struct vm *vm, unsigned id, const struct vcpu *from, uint64_t rip, uint64_t rsp);
/* Waits until every started vCPU has left its loop; returns the exit status
 * (meaningful when vm_error() is VM_ERR_NONE). With a deadline, gives up
 * KEV_STUCK_GRACE_MS after it on a vCPU thread that is still inside an exit
 * handler: returns -1, vm_is_stuck() is true and the report says why. */
int vm_join(struct vm *vm);
/* True after vm_join gave up on a stuck vCPU thread: the VM must not be destroyed. */
bool vm_is_stuck(const struct vm *vm);
/* Writes " (symbol+0xoff)" for guest address rip through vm->describe_rip, or "" (for reports). */
void vm_describe_rip(struct vm *vm, uint64_t rip, char *buf, size_t size);
/* Called by a vCPU's thread when it leaves its loop (kev/vcpu.c). */
void vm_vcpu_left(struct vcpu *v);
/* Writes the diagnosis of the VM's vCPU threads that have not left their
 * loops into buf (kev/vm_hang.c); returns how many there are. */
int vm_diagnose_hang(struct vm *vm, char *buf, size_t size);

/* Ends the VM at the guest's request with status (the first request wins). */
void vm_exit_with(struct vm *vm, int status);
/* Ends the VM with err and report as its report (the first stop wins). */
void vm_stop(struct vm *vm, enum vm_error err, const char *report);
/* True once the VM is ending. */
bool vm_stopping(struct vm *vm);
/* True once the VM's deadline (vm_set_timeout) has passed, on the TSC. */
bool vm_past_deadline(const struct vm *vm);

/* The outcome, after vm_join. */
enum vm_error vm_error(const struct vm *vm);
const char *vm_error_name(enum vm_error err);
const char *vm_report(const struct vm *vm);      /* "" when the guest exited normally */
/* The last console line host code printed on this VM's behalf (its vCPU
 * threads: device messages), "" if none; for reports of a VM that hung. */
const char *vm_last_host_line(const struct vm *vm);
/* Every byte the guest wrote to its console (NUL-terminated), and its length. */
const char *vm_console(const struct vm *vm, size_t *len);

/* Nested-table changes, serialized with the probe; they flush the guest TLB
 * on every vCPU's next VMRUN. page is a kernel virtual address. */
enum ept_mapping_error vm_npt_map(struct vm *vm, gpa_t gpa, void *page, unsigned perm);
enum ept_mapping_error vm_npt_unmap(struct vm *vm, gpa_t gpa, void **page);
/* The host kernel address of the byte at gpa, or NULL if it is not mapped
 * (the translation the probe does, one page at a time). */
void *vm_gpa_to_hva(struct vm *vm, gpa_t gpa);
#endif
